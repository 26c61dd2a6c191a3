/**
 * Runs one scenario against one target: starts the server side (pinned to the server CPUs),
 * forks the generator processes (pinned to the others), connects, measures, and tears
 * everything down — also on failure. Every phase is bounded in time.
 */
import {
  CONNECT_PHASE_TIMEOUT_MS,
  DRAIN_TIMEOUT_MS,
  INIT_TIMEOUT_MS,
  MAX_DURATION_S,
  MAX_GENERATORS,
  MAX_PEERS_PER_GENERATOR,
  RSS_SETTLE_MS,
} from './constants.js';
import { LoadtestError } from './errors.js';
import type { ConnectStats, RunStats, ShardCommand, ShardInit, ShardReply } from './generator/types.js';
import { loadAverage, rssBytes, totalCpuMs } from './proc.js';
import type { ScenarioPlan } from './scenarios.js';
import { type Spawned, spawnPinned, tsEntry } from './spawn.js';
import { summarize } from './stats.js';
import { protocolOf, type RunningTarget, startTarget, TARGET_LABELS, type TargetName } from './targets.js';

export interface RunOptions {
  durationS: number;
  warmupS: number;
  /** Generator processes (raised as needed to respect the per-process open-file limit). */
  generators: number;
  connectConcurrency: number;
  sourceAddresses: number;
  /** CPU lists, or null to leave unpinned (tests). */
  serverCpus: string | null;
  generatorCpus: string | null;
  /** Extra env for rendezvous instances. */
  serverEnv?: Record<string, string>;
  /** Extra Node flags for server processes (profiling). */
  serverNodeArgs?: readonly string[];
  /** Absolute path of another checkout whose rendezvous server runs instead (A/B in one run). */
  serverRoot?: string;
  /**
   * Connect runs: seconds to watch the idle peers' server CPU after the RSS reading (0: only
   * the short settle window). Longer than the heartbeat interval, it includes one round of pings,
   * pongs and presence refreshes.
   */
  idleWatchS?: number;
}

export interface ScenarioResult {
  scenario: string;
  target: TargetName;
  targetLabel: string;
  peers: number;
  activePairs: number;
  connected: number;
  failedConnects: number;
  connectFailures: Record<string, number>;
  connsPerS: number;
  cpuUsPerConn: number;
  connectP50Ms: number;
  connectP99Ms: number;
  rssBaselineMB: number;
  rssMB: number;
  rssPerConnKB: number;
  /** Redis RSS growth per connected peer (presence record), KB; null without Redis or with traffic. */
  redisRssPerConnKB: number | null;
  /** Server CPU while the connected peers sit idle, µs per peer per second, over `idleWindowS`. */
  idleCpuUsPerPeerS: number | null;
  /** Redis's part of idleCpuUsPerPeerS (presence refresh, expiry), µs per peer per second. */
  idleRedisUsPerPeerS: number | null;
  idleWindowS: number | null;
  msgsPerS: number | null;
  /** Delivered messages per Redis PUBLISH in the measured window (cross-instance batching); null without Redis. */
  msgsPerPublish: number | null;
  mbPerS: number | null;
  cpuUsPerMsg: number | null;
  rttP50Ms: number | null;
  rttP99Ms: number | null;
  rttP999Ms: number | null;
  roundTrips: number | null;
  /** Delivered after the measurement mark. */
  delivered: number;
  /** Sent and delivered over the whole run (warm-up and drain included): equal unless lost. */
  sent: number;
  totalDelivered: number;
  lost: number;
  misrouted: number;
  unacked: number;
  errors: number;
  errorCodes: Record<string, number>;
  unexpectedCloses: number;
  skippedRoundTrips: number;
  heartbeatsSent: number;
  serverCpuMs: number;
  redisCpuMs: number | null;
  /** CPU of all generator processes in the same phase, ms. */
  generatorCpuMs: number;
  durationS: number;
  loadAvg1m: number;
}

class Generator {
  #waiters: Array<{ ev: string; resolve: (r: ShardReply) => void; reject: (e: Error) => void }> = [];
  constructor(readonly proc: Spawned) {
    proc.child.on('message', (m: ShardReply) => {
      if (m.ev === 'failed') {
        for (const w of this.#waiters.splice(0)) w.reject(new LoadtestError('LOAD_ERR_GENERATOR', m.message));
        return;
      }
      const i = this.#waiters.findIndex((w) => w.ev === m.ev);
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(m);
    });
    proc.child.once('exit', (code) => {
      for (const w of this.#waiters.splice(0))
        w.reject(new LoadtestError('LOAD_ERR_GENERATOR', `exited (${code}) ${proc.tail()}`));
    });
  }
  ask<E extends ShardReply['ev']>(
    cmd: ShardCommand,
    ev: E,
    timeoutMs: number,
  ): Promise<Extract<ShardReply, { ev: E }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LoadtestError('LOAD_ERR_TIMEOUT', `${cmd.cmd} after ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        ev,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r as Extract<ShardReply, { ev: E }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.child.send(cmd);
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Split `peers` (even) and `activePairs` over n shards, pairs never split. */
export function splitShards(
  peers: number,
  activePairs: number,
  n: number,
): Array<{ first: number; count: number; active: number }> {
  const pairs = peers / 2;
  const out: Array<{ first: number; count: number; active: number }> = [];
  let firstPair = 0;
  let activeLeft = activePairs;
  for (let i = 0; i < n; i++) {
    const myPairs = Math.floor(pairs / n) + (i < pairs % n ? 1 : 0);
    const myActive = Math.min(myPairs, Math.ceil(activeLeft / (n - i)));
    activeLeft -= myActive;
    out.push({ first: firstPair * 2, count: myPairs * 2, active: myActive });
    firstPair += myPairs;
  }
  return out.filter((s) => s.count > 0);
}

export async function runScenario(target: TargetName, plan: ScenarioPlan, opts: RunOptions): Promise<ScenarioResult> {
  if (plan.peers % 2 !== 0 || plan.peers < 2) throw new LoadtestError('LOAD_ERR_CONFIG', 'peers must be even and ≥ 2');
  if (opts.durationS > MAX_DURATION_S) throw new LoadtestError('LOAD_ERR_CONFIG', `duration > ${MAX_DURATION_S} s`);
  const shards = Math.min(MAX_GENERATORS, Math.max(opts.generators, Math.ceil(plan.peers / MAX_PEERS_PER_GENERATOR)));
  const server: RunningTarget = await startTarget(target, {
    cpus: opts.serverCpus,
    env: opts.serverEnv,
    nodeArgs: opts.serverNodeArgs,
    ...(opts.serverRoot !== undefined ? { serverRoot: opts.serverRoot } : {}),
  });
  const gens: Generator[] = [];
  try {
    const inits: Promise<unknown>[] = [];
    for (const slice of splitShards(plan.peers, plan.activePairs, shards)) {
      const proc = spawnPinned(tsEntry('loadtest/src/generator/main.ts'), {
        cpus: opts.generatorCpus,
        ipc: true,
        label: 'generator',
      });
      const gen = new Generator(proc);
      gens.push(gen);
      const init: ShardInit = {
        protocol: protocolOf(target),
        endpoints: server.endpoints,
        firstPeer: slice.first,
        peerCount: slice.count,
        activePairs: slice.active,
        channel: plan.traffic.channel,
        forward: plan.traffic.forward,
        reply: plan.traffic.reply,
        connectConcurrency: Math.max(1, Math.ceil(opts.connectConcurrency / shards)),
        sourceAddresses: opts.sourceAddresses,
      };
      // Identities and sealed envelopes are made here, before anything is measured.
      inits.push(gen.ask({ cmd: 'init', init }, 'inited', INIT_TIMEOUT_MS));
    }
    await Promise.all(inits);
    return await measure(target, plan, opts, server, gens);
  } finally {
    for (const g of gens) {
      try {
        g.proc.child.send({ cmd: 'exit' } satisfies ShardCommand);
      } catch {
        // already gone
      }
    }
    // Give them a moment to close their sockets cleanly, then make sure they are gone.
    const deadline = Date.now() + 2_000;
    while (Date.now() < deadline && gens.some((g) => !g.proc.exited())) await sleep(50);
    await Promise.all(gens.map((g) => g.proc.stop()));
    await server.stop();
  }
}

async function measure(
  target: TargetName,
  plan: ScenarioPlan,
  opts: RunOptions,
  server: RunningTarget,
  gens: Generator[],
): Promise<ScenarioResult> {
  const rssOf = () => server.instancePids.reduce((s, pid) => s + rssBytes(pid), 0);
  const rssBaseline = rssOf();
  const redisRss0 = server.redisPid !== null ? rssBytes(server.redisPid) : Number.NaN;
  const cpu0 = totalCpuMs(server.pids);
  const connects: ConnectStats[] = (
    await Promise.all(gens.map((g) => g.ask({ cmd: 'connect' }, 'connected', CONNECT_PHASE_TIMEOUT_MS + 10_000)))
  ).map((r) => r.stats);
  const cpu1 = totalCpuMs(server.pids);
  const connected = connects.reduce((s, c) => s + c.ok, 0);
  const failedConnects = connects.reduce((s, c) => s + c.failed, 0);
  const connectFailures: Record<string, number> = {};
  for (const c of connects)
    for (const [k, v] of Object.entries(c.failures)) connectFailures[k] = (connectFailures[k] ?? 0) + v;
  const connectWallMs = Math.max(...connects.map((c) => c.endedAt)) - Math.min(...connects.map((c) => c.startedAt));
  const connectLat = summarize(connects.flatMap((c) => c.connectMs));

  let rss = Number.NaN;
  let run: RunStats[] = [];
  let cpuRun = 0;
  let redisCpuRun: number | null = null;
  let idleCpuUsPerPeerS: number | null = null;
  let idleWindowS: number | null = null;
  let idleRedisUsPerPeerS: number | null = null;
  let publishes0 = Number.NaN;
  let publishes = Number.NaN;
  let redisRssPerConnKB: number | null = null;
  if (plan.mode === null) {
    // Idle cost is read after the settle window's first third: that lets the last hellos,
    // presence claims and their garbage finish, which are connection cost, not idle cost.
    await sleep(RSS_SETTLE_MS / 3);
    const idle0 = totalCpuMs(server.pids);
    const idleRedis0 = server.redisPid !== null ? totalCpuMs([server.redisPid]) : Number.NaN;
    const t0 = performance.now();
    await sleep((RSS_SETTLE_MS * 2) / 3);
    rss = rssOf();
    if (opts.idleWatchS) await sleep(opts.idleWatchS * 1000);
    idleWindowS = (performance.now() - t0) / 1000;
    idleCpuUsPerPeerS = ((totalCpuMs(server.pids) - idle0) * 1000) / Math.max(1, connected) / idleWindowS;
    if (server.redisPid !== null)
      idleRedisUsPerPeerS =
        ((totalCpuMs([server.redisPid]) - idleRedis0) * 1000) / Math.max(1, connected) / idleWindowS;
    if (server.redisPid !== null)
      redisRssPerConnKB = (rssBytes(server.redisPid) - redisRss0) / 1024 / Math.max(1, connected);
  } else {
    await Promise.all(
      gens.map((g) => g.ask({ cmd: 'run', mode: plan.mode!, heartbeatMs: plan.heartbeatMs }, 'running', 30_000)),
    );
    await sleep(opts.warmupS * 1000);
    const c0 = totalCpuMs(server.pids);
    const r0 = server.redisPid !== null ? totalCpuMs([server.redisPid]) : 0;
    publishes0 = server.publishCalls ? await server.publishCalls() : Number.NaN;
    await Promise.all(gens.map((g) => g.ask({ cmd: 'mark' }, 'marked', 10_000)));
    await sleep(opts.durationS * 1000);
    run = (await Promise.all(gens.map((g) => g.ask({ cmd: 'stop' }, 'stopped', DRAIN_TIMEOUT_MS + 30_000)))).map(
      (r) => r.stats,
    );
    cpuRun = totalCpuMs(server.pids) - c0;
    if (server.redisPid !== null) redisCpuRun = totalCpuMs([server.redisPid]) - r0;
    publishes = (server.publishCalls ? await server.publishCalls() : Number.NaN) - publishes0;
    rss = rssOf();
  }

  const sum = (f: (r: RunStats) => number) => run.reduce((s, r) => s + f(r), 0);
  const errorCodes: Record<string, number> = {};
  for (const r of run) for (const [k, v] of Object.entries(r.errorCodes)) errorCodes[k] = (errorCodes[k] ?? 0) + v;
  const measuredS = Math.max(0, ...run.map((r) => r.measuredMs)) / 1000;
  const delivered = sum((r) => r.delivered);
  const rtt = summarize(run.flatMap((r) => r.roundTripMs));
  const traffic = plan.mode !== null;
  const round = (v: number, d = 2) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : Number.NaN);
  return {
    scenario: plan.label,
    target,
    targetLabel: TARGET_LABELS[target],
    peers: plan.peers,
    activePairs: plan.activePairs,
    connected,
    failedConnects,
    connectFailures,
    connsPerS: round(connected / (connectWallMs / 1000), 0),
    cpuUsPerConn: round(((cpu1 - cpu0) * 1000) / Math.max(1, connected), 1),
    connectP50Ms: round(connectLat.p50),
    connectP99Ms: round(connectLat.p99),
    rssBaselineMB: round(rssBaseline / 2 ** 20, 1),
    rssMB: round(rss / 2 ** 20, 1),
    rssPerConnKB: round((rss - rssBaseline) / 1024 / Math.max(1, connected), 2),
    redisRssPerConnKB: redisRssPerConnKB === null ? null : round(redisRssPerConnKB, 2),
    idleCpuUsPerPeerS: idleCpuUsPerPeerS === null ? null : round(idleCpuUsPerPeerS, 3),
    idleRedisUsPerPeerS: idleRedisUsPerPeerS === null ? null : round(idleRedisUsPerPeerS, 3),
    idleWindowS: idleWindowS === null ? null : round(idleWindowS, 1),
    msgsPerS: traffic && measuredS > 0 ? round(delivered / measuredS, 0) : null,
    msgsPerPublish: traffic && publishes > 0 ? round(delivered / publishes, 2) : null,
    mbPerS: traffic && measuredS > 0 ? round(sum((r) => r.deliveredBytes) / 1e6 / measuredS, 2) : null,
    cpuUsPerMsg: traffic && delivered > 0 ? round((cpuRun * 1000) / delivered, 2) : null,
    rttP50Ms: rtt.count ? round(rtt.p50, 3) : null,
    rttP99Ms: rtt.count ? round(rtt.p99, 3) : null,
    rttP999Ms: rtt.count ? round(rtt.p999, 3) : null,
    roundTrips: traffic ? rtt.count : null,
    delivered,
    sent: sum((r) => r.totalSent),
    totalDelivered: sum((r) => r.totalDelivered),
    lost: sum((r) => r.lost),
    misrouted: sum((r) => r.misrouted),
    unacked: sum((r) => Math.max(0, r.acksExpected - r.acks)),
    errors: sum((r) => r.errors),
    errorCodes,
    unexpectedCloses: sum((r) => r.unexpectedCloses),
    skippedRoundTrips: sum((r) => r.skippedRoundTrips),
    heartbeatsSent: sum((r) => r.heartbeatsSent),
    serverCpuMs: round(traffic ? cpuRun : cpu1 - cpu0, 0),
    redisCpuMs: redisCpuRun === null ? null : round(redisCpuRun, 0),
    generatorCpuMs: round(traffic ? sum((r) => r.cpuMs) : connects.reduce((s, c) => s + c.cpuMs, 0), 0),
    durationS: round(measuredS, 2),
    loadAvg1m: loadAverage(),
  };
}
