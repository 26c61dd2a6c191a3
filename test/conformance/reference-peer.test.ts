/**
 * The runner against the reference peer (our SDK behind the stdio interface): every script
 * passes. Then the reference peer broken on purpose, and a peer that breaks the interface: the
 * runner fails each, at the step that shows the fault. Real server, real clients, real sockets
 * on 127.0.0.1, a real child process per script.
 */
import { describe, expect, it } from 'vitest';
import { SCRIPTS_DIR, VECTORS_DIR } from '../../conformance/runner/main.js';
import { type Report, runConformance } from '../../conformance/runner/run.js';
import { loadScripts, parseScript, type Script } from '../../conformance/runner/script.js';

const REFERENCE = 'node --conditions=source --import tsx conformance/reference-peer/main.ts';

/** Failures with their steps and the peer's stderr, so a red run says why. */
function explain(report: Report): string {
  return report.scripts
    .filter((s) => s.status === 'fail')
    .map((s) => `${s.name}: ${s.reason}\n${s.peerStderr ?? ''}`)
    .join('\n');
}

/** A short script written here: consent, one message from our client, one tampered copy. */
const TAMPER_ONE: Script = parseScript(
  JSON.stringify({
    name: 'tamper-one',
    proves: 'a peer that hides refusals is failed',
    steps: [
      { do: 'peer.connect' },
      { do: 'peer.request' },
      { do: 'client.consentRequest' },
      { do: 'client.respond', accept: true },
      { do: 'peer.consentAccepted' },
      { do: 'client.send', label: 'w', text: 'warm-up' },
      { do: 'peer.message', label: 'w' },
      { do: 'proxy.arm', dir: 'toPeer', match: 'data', action: 'flipSealed' },
      { do: 'client.send', label: 't', text: 'tampered', padTo: 2600 },
      { do: 'proxy.fired' },
      { do: 'peer.refused', codes: ['PROTO_ERR_DECRYPT_FAILED', 'PROTO_ERR_BAD_SIGNATURE'], timeoutMs: 2000 },
    ],
  }),
  'tamper-one (test)',
);

describe('conformance runner', () => {
  it('passes every script against the reference peer', { timeout: 120_000 }, async () => {
    // The vectors script runs against the reference peer in cli.test.ts (through the CLI).
    const scripts = loadScripts(SCRIPTS_DIR).filter((s) => s.name !== 'vectors');
    const report = await runConformance({ peerCommand: REFERENCE, scripts, vectorsDir: VECTORS_DIR });
    expect(report.totals.fail, explain(report)).toBe(0);
    expect(report.status).toBe('pass');
    expect(report.scripts).toHaveLength(7);
    for (const s of report.scripts) expect(s.status, s.name).toBe('pass');
    const tampered = report.scripts.find((s) => s.name === 'tampered-to-peer')!;
    expect(tampered.steps.filter((st) => st.name.startsWith('peer.refused')).map((st) => st.detail)).toEqual([
      'PROTO_ERR_DECRYPT_FAILED',
      'PROTO_ERR_SESSION_REPLAY',
      'PROTO_ERR_BAD_VERSION',
      'ignored silently (no refused within 700 ms)',
      'CLIENT_ERR_NOT_TRUSTED',
    ]);
  });

  it('fails a peer that delivers a message twice, at the exactly-once check', { timeout: 60_000 }, async () => {
    const scripts = loadScripts(SCRIPTS_DIR).filter((s) => s.name === 'consent-client-asks');
    const report = await runConformance({
      peerCommand: `${REFERENCE} --double-deliver`,
      scripts,
      vectorsDir: VECTORS_DIR,
    });
    expect(report.status).toBe('fail');
    const failed = report.scripts[0]!.steps.at(-1)!;
    expect(failed.status).toBe('fail');
    expect(failed.name).toBe('every message delivered exactly once');
    expect(failed.detail).toContain('the peer emitted "c1" 2 times');
  });

  it('fails a peer that stays silent about a tampered packet, naming the step and the timeout', {
    timeout: 60_000,
  }, async () => {
    const report = await runConformance({
      peerCommand: `${REFERENCE} --hide-refusals`,
      scripts: [TAMPER_ONE],
      vectorsDir: VECTORS_DIR,
    });
    expect(report.status).toBe('fail');
    const failed = report.scripts[0]!.steps.at(-1)!;
    expect(failed.status).toBe('fail');
    expect(failed.name).toContain('peer.refused');
    expect(failed.detail).toBe(
      'timed out after 2000 ms waiting for refused (PROTO_ERR_DECRYPT_FAILED | PROTO_ERR_BAD_SIGNATURE)',
    );
    // Every step before it passed: the runner failed the peer for hiding the refusal, nothing else.
    expect(report.scripts[0]!.steps.slice(0, -1).every((st) => st.status === 'pass')).toBe(true);
  });

  it('fails a peer that speaks another interface version or exits', { timeout: 30_000 }, async () => {
    const wrongVersion = await runConformance({
      peerCommand: `echo '{"event":"ready","interface":2}'; sleep 3`,
      scripts: [TAMPER_ONE],
      vectorsDir: VECTORS_DIR,
    });
    expect(wrongVersion.scripts[0]!.reason).toContain('the peer speaks interface 2, this runner 1');
    const exits = await runConformance({
      peerCommand: 'echo not json; exit 3',
      scripts: [TAMPER_ONE],
      vectorsDir: VECTORS_DIR,
    });
    expect(exits.status).toBe('fail');
    expect(exits.scripts[0]!.reason).toMatch(/stdout line is not JSON: not json|the peer exited \(3\)/);
  });
});
