/** Real redis-server processes for tests: a free port, a temp dir, killed afterwards. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './helpers.js';

const run = promisify(execFile);
// From PATH: /usr/bin here, wherever the CI's package manager put them elsewhere.
export const REDIS_SERVER = 'redis-server';
export const REDIS_CLI = 'redis-cli';

export interface RedisProc {
  port: number;
  dir: string;
  proc: ChildProcess;
  url: string;
  /** Kill (SIGKILL), keeping the dir so `restart` can reuse the port (and the AOF, if enabled). */
  kill(): Promise<void>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitPing(port: number, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const { stdout } = await run(REDIS_CLI, ['-p', String(port), 'ping']);
      if (stdout.trim() === 'PONG') return;
    } catch {}
    if (Date.now() > end) throw new Error(`redis on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function launch(port: number, dir: string, extra: string[]): ChildProcess {
  const p = spawn(
    REDIS_SERVER,
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', ...extra],
    { stdio: 'ignore' },
  );
  p.on('error', () => {});
  return p;
}

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => p.once('exit', () => r()));
}

/** Start one redis-server. `persist` turns on the AOF so data survives `restart()`. */
export async function startRedis(
  opts: { persist?: boolean; extra?: string[]; port?: number } = {},
): Promise<RedisProc> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'rdv-redis-'));
  const extra = [
    ...(opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(opts.extra ?? []),
  ];
  const r: RedisProc = {
    port,
    dir,
    proc: launch(port, dir, extra),
    url: `redis://127.0.0.1:${port}`,
    async kill() {
      r.proc.kill('SIGKILL');
      await exited(r.proc);
    },
    async restart() {
      r.proc = launch(port, dir, extra);
      await waitPing(port);
    },
    async stop() {
      r.proc.kill('SIGKILL');
      await exited(r.proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await waitPing(port);
  return r;
}

/** A 3-master Redis Cluster from redis-server processes (no replicas). */
export async function startCluster(): Promise<{ nodes: RedisProc[]; seeds: string[]; stop(): Promise<void> }> {
  const nodes: RedisProc[] = [];
  try {
    for (let i = 0; i < 3; i++)
      nodes.push(
        await startRedis({
          extra: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'],
        }),
      );
    const seeds = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(REDIS_CLI, ['--cluster', 'create', ...seeds, '--cluster-replicas', '0', '--cluster-yes']);
    // Wait until every node reports the cluster ok.
    const end = Date.now() + 20_000;
    for (const n of nodes) {
      for (;;) {
        const { stdout } = await run(REDIS_CLI, ['-p', String(n.port), 'cluster', 'info']);
        if (stdout.includes('cluster_state:ok')) break;
        if (Date.now() > end) throw new Error('cluster did not converge');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { nodes, seeds, stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))) };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}
