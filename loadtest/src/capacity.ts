/**
 * Capacity model: from what one run measured (per-peer memory and CPU, CPU per message on one
 * instance and across two over Redis), how many peers and msgs/s one instance and a cluster
 * of N instances hold on hosts of a given RAM and core count, and how many instances a peer
 * goal (e.g. 1,000,000) needs. The formulas are spelled out in docs/performance.md
 * ("Capacity"); this module is the one place that evaluates them.
 *
 * An instance is one Node process: it uses one core however many the host has, so a host runs
 * up to `cores` instances (one core per instance) sharing its RAM. Redis is one more process,
 * single-threaded, and carries every cross-instance message once.
 */

/** Share of an instance's core and of its RAM planned for steady load; the rest absorbs bursts and GC. */
export const CAPACITY_HEADROOM = 0.7;
/** Share of peers' traffic that is cross-instance with N instances and random pairs: (N−1)/N. */
export function crossShare(instances: number): number {
  return instances <= 1 ? 0 : (instances - 1) / instances;
}
/** Largest cluster the model tabulates, instances (beyond it the Redis limit is the answer). */
export const CAPACITY_MAX_INSTANCES = 4_096;

/** What the run measured (all per instance unless named otherwise). */
export interface CapacityInputs {
  /** Instance RSS before any peer connected, MB. */
  readonly baseRssMB: number;
  /** Instance RSS per idle authenticated peer, KB. */
  readonly kbPerPeer: number;
  /** Redis RSS per connected peer (its presence record), KB. */
  readonly redisKbPerPeer: number;
  /** Server CPU per authenticated connection, µs (reconnect storms). */
  readonly cpuUsPerConn: number;
  /** Server CPU per idle peer per second (timers, sweeps; heartbeats if watched that long), µs/s. */
  readonly idleUsPerPeerS: number;
  /** The idle CPU was watched over at least one heartbeat interval (pings, pongs, presence refresh included). */
  readonly idleIncludesHeartbeat: boolean;
  /** Heartbeat interval, s: each peer costs one ping and one pong per interval. */
  readonly heartbeatS: number;
  /** Instance CPU per relayed message, both ends on one instance, µs. */
  readonly localUsPerMsg: number;
  /** Instances' CPU per relayed message across two instances (sum of both), µs. */
  readonly crossUsPerMsg: number;
  /** Redis CPU per cross-instance message, µs. */
  readonly redisUsPerMsg: number;
}

export interface HostSize {
  readonly ramGiB: number;
  readonly cores: number;
}

/** The traffic to plan for: relayed messages per peer per second, averaged over all peers. */
export interface Workload {
  readonly msgsPerPeerS: number;
}

export interface ClusterRow {
  readonly instances: number;
  readonly hosts: number;
  /** Peers the instances hold at the planned traffic (memory- or CPU-bound). */
  readonly peers: number;
  readonly limitedBy: 'memory' | 'cpu';
  /** Relayed msgs/s of those peers at the planned traffic. */
  readonly msgsPerS: number;
  /** Relayed msgs/s the instances' CPU would hold with all these peers idle otherwise (random pairs). */
  readonly maxMsgsPerS: number;
  /** Relayed msgs/s one Redis holds at this size (its CPU on the cross-instance share). */
  readonly redisMsgsPerS: number;
  /** Redis RSS for every peer's presence record, MB. */
  readonly redisMB: number;
  /** Seconds for every peer to reconnect at once (all instances at their connect rate). */
  readonly reconnectAllS: number;
}

export interface CapacityReport {
  readonly inputs: CapacityInputs;
  readonly host: HostSize;
  readonly workload: Workload;
  readonly instancesPerHost: number;
  /** Peers one instance holds by memory alone and by CPU alone with no traffic. */
  readonly peersByMemory: number;
  readonly peersByIdleCpu: number;
  readonly connectsPerSPerInstance: number;
  readonly goalPeers: number;
  readonly instancesForGoal: number;
  readonly rows: readonly ClusterRow[];
}

/** Evaluate the model; `sizes` are the cluster sizes to tabulate (the goal's size is added). */
export function capacityReport(
  m: CapacityInputs,
  host: HostSize,
  workload: Workload,
  goalPeers: number,
  sizes: readonly number[] = [1, 2, 4, 8, 16, 32],
): CapacityReport {
  const instancesPerHost = Math.max(1, Math.floor(host.cores));
  const ramPerInstanceKB = (host.ramGiB * 2 ** 20 * CAPACITY_HEADROOM) / instancesPerHost - m.baseRssMB * 1024;
  const peersByMemory = Math.max(0, Math.floor(ramPerInstanceKB / m.kbPerPeer));
  // Idle cost per peer: as measured when the watch spanned a heartbeat; else its timers plus one
  // ping out and one pong in per heartbeat, each taken as one relayed message's CPU (an upper
  // bound: a ping is smaller than a relayed envelope).
  const idleUsPerPeerS = m.idleIncludesHeartbeat ? m.idleUsPerPeerS : m.idleUsPerPeerS + m.localUsPerMsg / m.heartbeatS;
  const budgetUsPerS = 1e6 * CAPACITY_HEADROOM;
  const usPerMsgAt = (n: number): number => {
    const x = crossShare(n);
    // Local share at the single-instance cost, cross share at both instances' cost.
    return (1 - x) * m.localUsPerMsg + x * m.crossUsPerMsg;
  };
  // Per instance: each peer costs its idle share plus its traffic (sent and received messages
  // are each counted once, at the cost of a relayed message).
  const peersPerInstanceAt = (n: number): { peers: number; limitedBy: 'memory' | 'cpu' } => {
    const byCpu = Math.floor(budgetUsPerS / (idleUsPerPeerS + workload.msgsPerPeerS * usPerMsgAt(n)));
    return byCpu < peersByMemory ? { peers: byCpu, limitedBy: 'cpu' } : { peers: peersByMemory, limitedBy: 'memory' };
  };
  let instancesForGoal = 1;
  while (
    instancesForGoal < CAPACITY_MAX_INSTANCES &&
    instancesForGoal * peersPerInstanceAt(instancesForGoal).peers < goalPeers
  )
    instancesForGoal++;
  const row = (n: number): ClusterRow => {
    const { peers: perInstance, limitedBy } = peersPerInstanceAt(n);
    const peers = n * perInstance;
    const x = crossShare(n);
    const msgsPerS = peers * workload.msgsPerPeerS;
    return {
      instances: n,
      hosts: Math.ceil(n / instancesPerHost),
      peers,
      limitedBy,
      msgsPerS,
      maxMsgsPerS: Math.max(0, (n * budgetUsPerS - peers * idleUsPerPeerS) / usPerMsgAt(n)),
      redisMsgsPerS: x === 0 ? Number.POSITIVE_INFINITY : budgetUsPerS / (x * m.redisUsPerMsg),
      redisMB: (peers * m.redisKbPerPeer) / 1024,
      reconnectAllS: (perInstance * m.cpuUsPerConn) / budgetUsPerS,
    };
  };
  const all = [...new Set([...sizes, instancesForGoal])].sort((a, b) => a - b);
  return {
    inputs: m,
    host,
    workload,
    instancesPerHost,
    peersByMemory,
    peersByIdleCpu: Math.floor(budgetUsPerS / idleUsPerPeerS),
    connectsPerSPerInstance: budgetUsPerS / m.cpuUsPerConn,
    goalPeers,
    instancesForGoal,
    rows: all.map(row),
  };
}

const n0 = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '∞');

/** The report as markdown: inputs, per-instance limits, then one row per cluster size. */
export function capacityMarkdown(r: CapacityReport): string {
  const i = r.inputs;
  return [
    `Capacity for hosts of ${r.host.ramGiB} GiB and ${r.host.cores} cores (${r.instancesPerHost} instance(s) per host, ${CAPACITY_HEADROOM * 100} % of CPU and RAM planned), ${r.workload.msgsPerPeerS} relayed msgs per peer per s, goal ${n0(r.goalPeers)} peers.`,
    '',
    `Inputs (measured): instance base RSS ${i.baseRssMB.toFixed(1)} MB, ${i.kbPerPeer.toFixed(2)} KB per idle peer, Redis ${i.redisKbPerPeer.toFixed(2)} KB per peer; ${i.cpuUsPerConn.toFixed(0)} µs per connection; idle ${i.idleUsPerPeerS.toFixed(3)} µs per peer per s${i.idleIncludesHeartbeat ? ` (watched over a ${i.heartbeatS} s heartbeat round)` : ` + one ping/pong per ${i.heartbeatS} s`}; ${i.localUsPerMsg.toFixed(1)} µs per message on one instance, ${i.crossUsPerMsg.toFixed(1)} µs across two (both instances), Redis ${i.redisUsPerMsg.toFixed(1)} µs per cross-instance message.`,
    '',
    `One instance: ${n0(r.peersByMemory)} peers by memory, ${n0(r.peersByIdleCpu)} by CPU with no traffic, ${n0(r.connectsPerSPerInstance)} connections/s. ${n0(r.goalPeers)} peers need ${n0(r.instancesForGoal)} instances.`,
    '',
    '| instances | hosts | peers | limited by | msgs/s (planned) | msgs/s (instances max) | msgs/s (one Redis max) | Redis MB (presence) | reconnect all, s |',
    '| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (x) =>
        `| ${n0(x.instances)} | ${n0(x.hosts)} | ${n0(x.peers)} | ${x.limitedBy} | ${n0(x.msgsPerS)} | ${n0(x.maxMsgsPerS)} | ${n0(x.redisMsgsPerS)} | ${n0(x.redisMB)} | ${x.reconnectAllS.toFixed(1)} |`,
    ),
    '',
  ].join('\n');
}
