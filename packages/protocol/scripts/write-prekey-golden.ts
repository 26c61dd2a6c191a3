/**
 * Regenerates test/vectors/golden-prekey.json from test/session/golden-prekey-build.ts. Run only
 * when the prekey bundle or message format changes on purpose (and bump its version):
 *   node --conditions=source --import tsx packages/protocol/scripts/write-prekey-golden.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildGoldenPrekey } from '../test/session/golden-prekey-build.js';

const file = fileURLToPath(new URL('../test/vectors/golden-prekey.json', import.meta.url));
const doc = {
  source:
    'p2p-comm golden vectors for v2 prekey bundles and messages sealed to them (docs/protocol.md "v2 prekeys"), written by packages/protocol/scripts/write-prekey-golden.ts. Every random draw is given under `random`, in draw order; hex throughout; times in ms since the Unix epoch. dh1..dh3, kemSharedSecret and messageKey are the intermediate values of the KDF.',
  ...buildGoldenPrekey(),
};
writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
console.log(`wrote ${file}`);
