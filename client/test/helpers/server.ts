import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type RunningServer, startServer } from '@p2p-comm/rendezvous';

/** A real rendezvous server in this process on a free port (memory broker unless redisUrl). */
export async function startRendezvous(env: Record<string, string> = {}): Promise<RunningServer & { url: string }> {
  const srv = await startServer(
    loadConfig({ HOST: '127.0.0.1', PORT: '0', STUN_PORT: '0', STUN_ALT_PORT: '0', LOG_LEVEL: 'silent', ...env }),
  );
  return Object.assign(srv, { url: `ws://127.0.0.1:${srv.port}` });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A real redis-server on a free port with a temp dir; kill() removes both. */
export async function startRedis(): Promise<{ url: string; kill: () => Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'p2p-redis-'));
  const proc: ChildProcess = spawn(
    '/usr/bin/redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('redis did not start')), 10_000);
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('Ready to accept connections')) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once('exit', (code) => reject(new Error(`redis exited ${code}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    kill: async () => {
      if (proc.exitCode === null) {
        proc.kill('SIGKILL');
        await new Promise((r) => proc.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function tempHome(prefix = 'p2p-home-'): { home: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), prefix));
  return { home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/**
 * Poll `cond` every 20 ms until true or `timeoutMs` (then throw with `what`; a function is
 * called at the timeout, so the message can show what was seen by then).
 */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
