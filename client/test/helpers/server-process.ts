import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, TSX_LOADER } from './extension-process.js';

const SERVER_MAIN = fileURLToPath(new URL('../../../apps/rendezvous/src/server.ts', import.meta.url));

/** The rendezvous server as a child process (so a test can SIGKILL it), on a fixed port. */
export async function spawnRendezvous(port: number, env: Record<string, string>): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--conditions=source', '--import', TSX_LOADER, SERVER_MAIN], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      STUN_PORT: '0',
      STUN_ALT_PORT: '0',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  proc.stdout!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const end = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`rendezvous exited ${proc.exitCode}: ${log}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (res.ok) return proc;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`rendezvous did not become healthy: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function killProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  await exited;
}
