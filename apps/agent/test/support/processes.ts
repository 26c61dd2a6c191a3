/**
 * Real processes for the end-to-end tests: the rendezvous server, the p2p-comm CLI, the host
 * gateway (which spawns its own extension) and the agent plugin, each as its own child
 * process on 127.0.0.1. Every helper returns a stop function that kills only what it started.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const TSX_LOADER = import.meta.resolve('tsx');
export const CLI_MAIN = `${REPO_ROOT}client/src/cli/main.ts`;
export const HOST_MAIN = `${REPO_ROOT}apps/host/src/server.ts`;
export const AGENT_MAIN = `${REPO_ROOT}apps/agent/src/main.ts`;
export const RENDEZVOUS_MAIN = `${REPO_ROOT}apps/rendezvous/src/server.ts`;

export function tsArgs(file: string, ...args: string[]): string[] {
  return ['--conditions=source', '--import', TSX_LOADER, file, ...args];
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface Running {
  proc: ChildProcess;
  /** Everything the process wrote, for failure messages. */
  log: () => string;
  stop: () => Promise<void>;
}

function track(proc: ChildProcess): { log: () => string; lines: (fn: (line: string) => void) => void } {
  let out = '';
  const listeners: ((line: string) => void)[] = [];
  let buf = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    buf += d.toString();
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      for (const l of listeners) l(line);
    }
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { log: () => out.slice(-8_000), lines: (fn) => listeners.push(fn) };
}

async function stopProcess(proc: ChildProcess, graceMs = 5_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts a process and waits for a stdout line that `ready` accepts (JSON lines). */
export async function startProcess(
  args: string[],
  env: Record<string, string>,
  ready: (msg: Record<string, unknown>) => boolean,
  timeoutMs = 30_000,
): Promise<Running & { ready: Record<string, unknown> }> {
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const t = track(proc);
  const readyMsg = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in ${timeoutMs} ms: ${t.log()}`)), timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready: ${t.log()}`));
    });
    t.lines((line) => {
      try {
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (ready(msg)) {
          clearTimeout(timer);
          resolve(msg);
        }
      } catch {
        // not a JSON line
      }
    });
  });
  return { proc, log: t.log, stop: () => stopProcess(proc), ready: readyMsg };
}

export async function startRendezvous(): Promise<Running & { url: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, tsArgs(RENDEZVOUS_MAIN), {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      STUN_PORT: '0',
      STUN_ALT_PORT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const t = track(proc);
  const end = Date.now() + 30_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`rendezvous exited: ${t.log()}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      // not yet listening
    }
    if (Date.now() > end) {
      proc.kill('SIGKILL');
      throw new Error(`rendezvous not healthy: ${t.log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { proc, log: t.log, stop: () => stopProcess(proc), url: `ws://127.0.0.1:${port}` };
}

/** `p2p-comm init --name … --json` in a home: creates the identity, returns key/share. */
export function initIdentity(
  home: string,
  name: string,
  server: string,
): { key: string; fingerprint: string; share: string } {
  const r = spawnSync(process.execPath, tsArgs(CLI_MAIN, 'init', '--name', name, '--json'), {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', NEXUS_HOME: home, P2P_COMM_SERVER: server },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(`p2p-comm init failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { key: string; fingerprint: string; share: string };
}
