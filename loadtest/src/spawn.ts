/**
 * Spawning helpers: free loopback ports, CPU pinning with taskset when present, waiting
 * until a TCP port accepts, and killing what we started (only by pid).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SERVER_START_TIMEOUT_MS } from './constants.js';
import { LoadtestError } from './errors.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');

let tasksetChecked: boolean | null = null;
function hasTaskset(): boolean {
  tasksetChecked ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return tasksetChecked;
}

/** A free TCP port on 127.0.0.1 (closed again before return; small race accepted). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface SpawnOptions {
  /** CPU list for taskset (e.g. "0"), or null to leave unpinned. */
  cpus: string | null;
  env?: Record<string, string>;
  ipc?: boolean;
  /** Keep stdout/stderr tails for error messages. */
  label: string;
}

export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number;
  tail(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** Spawn `argv` (argv[0] may be 'node' for this Node binary), pinned if possible. */
export function spawnPinned(argv: readonly string[], opts: SpawnOptions): Spawned {
  const cmd = argv[0] === 'node' ? [process.execPath, ...argv.slice(1)] : [...argv];
  const full = opts.cpus !== null && hasTaskset() ? ['taskset', '-c', opts.cpus, ...cmd] : cmd;
  const child = spawn(full[0]!, full.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])],
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let done = child.exitCode !== null;
  const exitP = new Promise<void>((r) => child.once('exit', () => r()));
  child.once('exit', () => {
    done = true;
  });
  return {
    child,
    pid: child.pid ?? -1,
    tail: () => `[${opts.label}] ${out}`,
    exited: () => done,
    async stop() {
      if (done) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitP;
      clearTimeout(t);
    },
  };
}

/** argv to run a TypeScript entry of this repo with the source condition. */
export function tsEntry(relPath: string, ...args: string[]): string[] {
  return tsEntryWith([], relPath, ...args);
}

/** Like tsEntry, with extra Node flags first (e.g. --cpu-prof). */
export function tsEntryWith(nodeArgs: readonly string[], relPath: string, ...args: string[]): string[] {
  const file = fileURLToPath(new URL(relPath, `file://${REPO_ROOT}`));
  return ['node', ...nodeArgs, '--conditions=source', '--import', TSX_LOADER, file, ...args];
}

/** Resolve once 127.0.0.1:port accepts a TCP connection; reject on timeout or exit. */
export async function waitForPort(port: number, proc: Spawned): Promise<void> {
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (proc.exited()) throw new LoadtestError('LOAD_ERR_SERVER_START', `exited early: ${proc.tail()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LoadtestError(
    'LOAD_ERR_SERVER_START',
    `port ${port} not open after ${SERVER_START_TIMEOUT_MS} ms: ${proc.tail()}`,
  );
}
