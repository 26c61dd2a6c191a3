/**
 * Never freeze: node:crypto key generation + JWK export deadlocked Node 20 intermittently
 * (1 child in 4–6 hung on a 30,000-seal loop at a9e1cb0; the hung process ignored SIGTERM).
 * Several children seal a large loop in parallel; each must finish within the deadline.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILDREN = 6;
const SEALS_PER_CHILD = 30_000;
/** A healthy child needs ~30–45 s here with the other five children sharing 2 cores. */
const DEADLINE_MS = 120_000;
const script = fileURLToPath(new URL('./seal-loop.ts', import.meta.url));

function runChild(): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, String(SEALS_PER_CHILD)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // A deadlocked process ignores SIGTERM: only SIGKILL ends it.
    const timer = setTimeout(() => child.kill('SIGKILL'), DEADLINE_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? 'hung' : `${out.trim()} (exit ${code})`);
    });
  });
}

describe('never freeze: sealing under steady load', () => {
  it(`${CHILDREN} processes × ${SEALS_PER_CHILD} seals all finish`, { timeout: DEADLINE_MS + 30_000 }, async () => {
    const results = await Promise.all(Array.from({ length: CHILDREN }, runChild));
    expect(results).toEqual(Array(CHILDREN).fill(`done ${SEALS_PER_CHILD} (exit 0)`));
  });
});
