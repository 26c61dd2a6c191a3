/**
 * `npm run conformance` as a user runs it: a real process. Exit 0 with a JSON report when every
 * script passes, 1 when one fails (usage errors, exit 2, are unit-tested through parseArgs).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../conformance/runner/run.js';

const RUNNER = ['--conditions=source', '--import', 'tsx', 'conformance/runner/main.ts'];
const REFERENCE = 'node --conditions=source --import tsx conformance/reference-peer/main.ts';

function run(args: string[]) {
  const r = spawnSync('node', [...RUNNER, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run conformance', () => {
  it('prints a JSON report and exits 0 when every script passes, 1 when one fails', { timeout: 90_000 }, () => {
    const ok = run(['--peer', REFERENCE, '--only', 'vectors', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as Report;
    expect(report.status).toBe('pass');
    expect(report.scripts.map((s) => [s.name, s.status])).toEqual([['vectors', 'pass']]);
    // Every vector of the kit was checked (hundreds), not none.
    expect(report.scripts[0]!.steps.length).toBeGreaterThan(100);
    const bad = run(['--peer', 'exit 0', '--only', 'consent-peer-asks']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('FAIL consent-peer-asks #3 setup: peer ready');
    expect(bad.stdout).toContain('the peer exited (0)');
  });
});
