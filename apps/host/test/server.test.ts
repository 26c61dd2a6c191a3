/** The entry point as a process: config errors exit 2 listing every problem; losing the extension exits 1. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const SERVER = fileURLToPath(new URL('../src/server.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const dir = mkdtempSync(join(tmpdir(), 'p2p-comm-host-server-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(config: unknown): Promise<{ code: number | null; out: string; err: string }> {
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(config));
  const proc = spawn(process.execPath, ['--conditions=source', '--import', TSX, SERVER], {
    env: { PATH: process.env.PATH ?? '', HOST_CONFIG: path, HOST_PORT: '0', HOST_AUDIT_LOG: join(dir, 'audit.jsonl') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const killer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    proc.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, out, err });
    }),
  );
}

describe('host server entry point', () => {
  it('exits 2 and names every config problem', async () => {
    const r = await run({ host: '0.0.0.0', uiToken: 'x', plugins: 'none' });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^HOST_ERR_CONFIG_INVALID: .*host: .*uiToken: .*extensionCommand: .*plugins: /);
  });

  it('listens, then exits 1 when its extension exits', async () => {
    const r = await run({
      uiToken: 'u'.repeat(24),
      extensionCommand: [process.execPath, '-e', 'setTimeout(() => {}, 1500)'],
      plugins: [],
    });
    expect(r.out).toMatch(/"event":"listening","url":"http:\/\/127\.0\.0\.1:\d+"/);
    expect(r.code).toBe(1);
    expect(r.err).toContain('HOST_ERR_EXTENSION_UNAVAILABLE');
  });
});
