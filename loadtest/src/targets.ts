/**
 * The servers under test. Every server-side process (instances and Redis) is pinned to the
 * server CPU set, so CPU per message and msgs/s compare the same core budget.
 */
import { join } from 'node:path';
import type { Endpoint } from './generator/types.js';
import type { ProtocolName } from './protocols/types.js';
import { type RedisHandle, startRedis } from './redis.js';
import { freePort, type Spawned, spawnPinned, tsEntryWith, waitForPort } from './spawn.js';

export type TargetName = 'bare' | 'bare-cork' | 'peerjs' | 'rdv-memory' | 'rdv-redis' | 'rdv-redis-2' | 'rdv-links-2';
export const TARGET_NAMES: readonly TargetName[] = [
  'bare',
  'bare-cork',
  'peerjs',
  'rdv-memory',
  'rdv-redis',
  'rdv-redis-2',
  'rdv-links-2',
];

export const TARGET_LABELS: Record<TargetName, string> = {
  bare: 'bare ws forwarder (reference)',
  'bare-cork': 'bare ws forwarder, writes coalesced per tick',
  peerjs: 'PeerJS server (reference)',
  'rdv-memory': 'rendezvous, 1 instance, memory broker',
  'rdv-redis': 'rendezvous, 1 instance, Redis',
  'rdv-redis-2': 'rendezvous, 2 instances, Redis',
  'rdv-links-2': 'rendezvous, 2 instances, Redis + instance links',
};

/**
 * What rdv-links-2 adds to each instance: a link listener on a free port (announced in Redis)
 * and the cluster secret (docs/instance-links.md). A server without instance links (an older
 * checkout under --server-root) ignores these and routes through Redis: the "before" of an A/B.
 */
const LINK_BENCH_ENV: Readonly<Record<string, string>> = Object.freeze({
  INSTANCE_LINK_LISTEN: '127.0.0.1:0',
  INSTANCE_LINK_SECRET: 'load-test-cluster-secret-0123456789abcdef',
});

export function protocolOf(target: TargetName): ProtocolName {
  return target === 'bare' || target === 'bare-cork' ? 'bare' : target === 'peerjs' ? 'peerjs' : 'rendezvous';
}

/**
 * Limits are all enforced but set above what a benchmark reaches, so the cost of checking
 * them is measured without the benchmark being throttled by them.
 */
export const RENDEZVOUS_BENCH_ENV: Readonly<Record<string, string>> = Object.freeze({
  HOST: '127.0.0.1',
  STUN_PORT: '0',
  STUN_ALT_PORT: '0',
  LOG_LEVEL: 'warn',
  RATE_MSGS_PER_S: '1000000',
  RATE_BURST_MSGS: '2000000',
  RATE_BYTES_PER_S: '1000000000',
  RATE_BURST_BYTES: '2000000000',
  RATE_IP_MSGS_PER_S: '10000000',
  RATE_IP_BYTES_PER_S: '2000000000',
  MAX_CONNS_PER_IP: '100000',
  // The generator dials from one address with up to --concurrency (200) handshakes in flight:
  // the default 128 refused some of them whenever the server fell behind.
  MAX_UNAUTHENTICATED_PER_IP: '100000',
  MAX_CONNECTIONS: '100000',
  AUTH_FAILURES_PER_IP_PER_MIN: '100000',
});

export interface RunningTarget {
  readonly name: TargetName;
  readonly endpoints: readonly Endpoint[];
  /** Server-side pids: instances, then Redis if any. */
  readonly pids: readonly number[];
  /** Instance pids only (RSS per connection is read from these). */
  readonly instancePids: readonly number[];
  readonly redisPid: number | null;
  /** PUBLISH commands Redis has run so far (cross-instance batches); null without Redis. */
  readonly publishCalls: (() => Promise<number>) | null;
  stop(): Promise<void>;
}

export interface TargetOptions {
  /** CPU list for every server-side process, or null. */
  cpus: string | null;
  /** Extra env for rendezvous instances (tests lower limits, etc.). */
  env?: Record<string, string>;
  /** Extra Node flags for server processes (e.g. --cpu-prof --cpu-prof-dir=…). */
  nodeArgs?: readonly string[];
  /** Absolute path of another checkout whose apps/rendezvous server runs instead of this one's. */
  serverRoot?: string;
}

async function startOne(
  argv: string[],
  port: number,
  label: string,
  opts: TargetOptions,
  env?: Record<string, string>,
): Promise<Spawned> {
  const proc = spawnPinned(argv, { cpus: opts.cpus, label, env: { ...env, ...opts.env } });
  try {
    await waitForPort(port, proc);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return proc;
}

/** The rendezvous server entry: this checkout's, or (absolute) another checkout's for an A/B run. */
function rendezvousEntry(serverRoot: string | undefined): string {
  return serverRoot === undefined ? 'apps/rendezvous/src/server.ts' : join(serverRoot, 'apps/rendezvous/src/server.ts');
}

export async function startTarget(name: TargetName, opts: TargetOptions): Promise<RunningTarget> {
  const procs: Spawned[] = [];
  let redis: RedisHandle | null = null;
  const endpoints: Endpoint[] = [];
  try {
    if (name === 'bare' || name === 'bare-cork' || name === 'peerjs') {
      const port = await freePort();
      const file = name === 'peerjs' ? 'loadtest/src/refs/peerjs-server.ts' : 'loadtest/src/refs/bare-forwarder.ts';
      const args = name === 'bare-cork' ? [String(port), '--cork'] : [String(port)];
      procs.push(await startOne(tsEntryWith(opts.nodeArgs ?? [], file, ...args), port, name, opts));
      endpoints.push({ host: '127.0.0.1', port });
    } else {
      const instances = name === 'rdv-redis-2' || name === 'rdv-links-2' ? 2 : 1;
      if (name !== 'rdv-memory') redis = await startRedis(opts.cpus);
      for (let i = 0; i < instances; i++) {
        const port = await freePort();
        const env: Record<string, string> = { ...RENDEZVOUS_BENCH_ENV, PORT: String(port), INSTANCE_ID: `lt-${i}` };
        if (redis) env.REDIS_URL = redis.url;
        if (name === 'rdv-links-2') Object.assign(env, LINK_BENCH_ENV);
        procs.push(
          await startOne(
            tsEntryWith(opts.nodeArgs ?? [], rendezvousEntry(opts.serverRoot)),
            port,
            `rendezvous-${i}`,
            opts,
            env,
          ),
        );
        endpoints.push({ host: '127.0.0.1', port });
      }
    }
  } catch (e) {
    for (const p of procs) await p.stop();
    await redis?.stop();
    throw e;
  }
  const instancePids = procs.map((p) => p.pid);
  return {
    name,
    endpoints,
    instancePids,
    redisPid: redis ? redis.proc.pid : null,
    publishCalls: redis ? () => redis!.publishCalls() : null,
    pids: redis ? [...instancePids, redis.proc.pid] : instancePids,
    async stop() {
      for (const p of procs) await p.stop();
      await redis?.stop();
    },
  };
}
