/**
 * Regenerates test/vectors/golden-session.json from test/session/golden-session-inputs.ts. Run
 * only when the v2 session wire format changes on purpose (and bump SESSION_VERSION):
 *   node --conditions=source --import tsx packages/protocol/scripts/write-session-golden.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildGoldenSession } from '../test/session/golden-session-build.js';

const file = fileURLToPath(new URL('../test/vectors/golden-session.json', import.meta.url));
const doc = {
  source:
    'p2p-comm golden vectors for the v2 session (docs/protocol.md "v2 sessions"), written by packages/protocol/scripts/write-session-golden.ts. Every random draw is given under `random`, in draw order; hex throughout.',
  ...buildGoldenSession(),
};
writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
console.log(`wrote ${file}`);
