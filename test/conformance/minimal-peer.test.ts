/**
 * Issue 17's "done when": the minimal second implementation (conformance/minimal-peer/, written
 * from docs/ and the vectors alone) completes consent, exchanges messages both ways with acks,
 * survives the mailbox and reconnects, and is refused correctly on each tampered transcript —
 * against our real client and server, through the same runner and scripts a porter uses — and
 * answers every vector of the kit as our code does.
 */
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { SCRIPTS_DIR, VECTORS_DIR } from '../../conformance/runner/main.js';
import { type Report, runConformance } from '../../conformance/runner/run.js';
import { loadScripts } from '../../conformance/runner/script.js';

const ENTRY = 'conformance/minimal-peer/main.ts';
// No --conditions=source: the minimal peer imports none of our packages.
const MINIMAL = `node --import tsx ${ENTRY}`;
const SCRIPTS = [
  'consent-peer-asks',
  'consent-client-asks',
  'reconnect-mailbox',
  'tampered-to-peer',
  'tampered-from-peer',
  'replay-later-and-spoofing',
  'replayed-consent',
  'vectors',
] as const;

describe.runIf(existsSync(ENTRY))('the minimal peer against our real client and server', () => {
  let report: Report;
  beforeAll(async () => {
    const scripts = loadScripts(SCRIPTS_DIR).filter((s) => (SCRIPTS as readonly string[]).includes(s.name));
    report = await runConformance({ peerCommand: MINIMAL, scripts, vectorsDir: VECTORS_DIR });
  }, 120_000);

  it.each(SCRIPTS)('%s passes', (name) => {
    const r = report.scripts.find((s) => s.name === name)!;
    expect(r.status, `${r.reason}\n${r.peerStderr ?? ''}`).toBe('pass');
    // The vectors script checked the whole kit (hundreds of vectors), not none.
    if (name === 'vectors') expect(r.steps.length).toBeGreaterThan(100);
  });

  it("is refused with the spec's code on each tampered transcript", () => {
    const refusals = (name: string) =>
      report.scripts
        .find((s) => s.name === name)!
        .steps.filter((st) => /^(peer|client)\.refused/.test(st.name))
        .map((st) => st.detail);
    expect(refusals('tampered-to-peer')).toEqual([
      'PROTO_ERR_DECRYPT_FAILED',
      'PROTO_ERR_SESSION_REPLAY',
      'PROTO_ERR_BAD_VERSION',
      'PROTO_ERR_BAD_TYPE',
      'CLIENT_ERR_NOT_TRUSTED',
    ]);
    expect(refusals('tampered-from-peer')).toEqual([
      'PROTO_ERR_BAD_SIGNATURE',
      'PROTO_ERR_DECRYPT_FAILED',
      'PROTO_ERR_SESSION_REPLAY',
    ]);
  });
});
