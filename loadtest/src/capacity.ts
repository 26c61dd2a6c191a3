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
  /** Server CPU per idle peer per second (timers, sweeps), µs/s. */
  readonly idleUsPerPeerS: number;
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

export interface ClusterRow {
  readonly instances: number;
  readonly hosts: number;
  readonly peers: number;
  /** Relayed msgs/s the instances' CPU holds at this size (random pairs), with all peers idle otherwise. */
  readonly msgsPerS: number;
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
  readonly instancesPerHost: number;
  /** Peers one instance holds, and what limits it. */
  readonly peersPerInstance: number;
  readonly limitedBy: 'memory' | 'cpu';
  readonly connectsPerSPerInstance: number;
  /** Msgs/s one instance alone holds (all local), with its peers idle otherwise. */
  readonly msgsPerSPerInstance: number;
  readonly goalPeers: number;
  readonly instancesForGoal: number;
  readonly rows: readonly ClusterRow[];
}

/** Evaluate the model; `sizes` are the cluster sizes to tabulate (the goal's size is added). */
export function capacityReport(
  m: CapacityInputs,
  host: HostSize,
  goalPeers: number,
  sizes: readonly number[] = [1, 2, 4, 8, 16, 32],
): CapacityReport {
  const instancesPerHost = Math.max(1, Math.floor(host.cores));
  const ramPerInstanceKB = (host.ramGiB * 2 ** 20 * CAPACITY_HEADROOM) / instancesPerHost - m.baseRssMB * 1024;
  const byMemory = Math.max(0, Math.floor(ramPerInstanceKB / m.kbPerPeer));
  // Idle cost per peer: its timers plus one ping out and one pong in per heartbeat, each taken
  // as one relayed message's CPU (an upper bound: a ping is smaller than a relayed envelope).
  const idleUsPerPeerS = m.idleUsPerPeerS + m.localUsPerMsg / m.heartbeatS;
  const budgetUsPerS = 1e6 * CAPACITY_HEADROOM;
  const byCpu = Math.floor(budgetUsPerS / idleUsPerPeerS);
  const peersPerInstance = Math.min(byMemory, byCpu);
  const idleUsPerS = peersPerInstance * idleUsPerPeerS;
  const msgsPerSPerInstance = Math.max(0, (budgetUsPerS - idleUsPerS) / m.localUsPerMsg);
  const instancesForGoal = Math.max(1, Math.ceil(goalPeers / Math.max(1, peersPerInstance)));
  const row = (n: number): ClusterRow => {
    const x = crossShare(n);
    // Per message: local share at the single-instance cost, cross share at both instances' cost.
    const usPerMsg = (1 - x) * m.localUsPerMsg + x * m.crossUsPerMsg;
    const peers = n * peersPerInstance;
    return {
      instances: n,
      hosts: Math.ceil(n / instancesPerHost),
      peers,
      msgsPerS: Math.max(0, (n * (budgetUsPerS - idleUsPerS)) / usPerMsg),
      redisMsgsPerS: x === 0 ? Number.POSITIVE_INFINITY : budgetUsPerS / (x * m.redisUsPerMsg),
      redisMB: (peers * m.redisKbPerPeer) / 1024,
      reconnectAllS: (peers * m.cpuUsPerConn) / (n * budgetUsPerS),
    };
  };
  const all = [...new Set([...sizes, Math.min(instancesForGoal, CAPACITY_MAX_INSTANCES)])].sort((a, b) => a - b);
  return {
    inputs: m,
    host,
    instancesPerHost,
    peersPerInstance,
    limitedBy: byMemory <= byCpu ? 'memory' : 'cpu',
    connectsPerSPerInstance: budgetUsPerS / m.cpuUsPerConn,
    msgsPerSPerInstance,
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
    `Capacity for hosts of ${r.host.ramGiB} GiB and ${r.host.cores} cores (${r.instancesPerHost} instance(s) per host, ${CAPACITY_HEADROOM * 100} % of CPU and RAM planned), goal ${n0(r.goalPeers)} peers.`,
    '',
    `Inputs (measured): instance base RSS ${i.baseRssMB.toFixed(1)} MB, ${i.kbPerPeer.toFixed(2)} KB per idle peer, Redis ${i.redisKbPerPeer.toFixed(2)} KB per peer; ${i.cpuUsPerConn.toFixed(0)} µs per connection; idle ${i.idleUsPerPeerS.toFixed(3)} µs per peer per s + one ping/pong per ${i.heartbeatS} s; ${i.localUsPerMsg.toFixed(1)} µs per message on one instance, ${i.crossUsPerMsg.toFixed(1)} µs across two (both instances), Redis ${i.redisUsPerMsg.toFixed(1)} µs per cross-instance message.`,
    '',
    `One instance: ${n0(r.peersPerInstance)} peers (limited by ${r.limitedBy}), ${n0(r.connectsPerSPerInstance)} connections/s, ${n0(r.msgsPerSPerInstance)} msgs/s with all pairs local. ${n0(r.goalPeers)} peers need ${n0(r.instancesForGoal)} instances.`,
    '',
    '| instances | hosts | peers | msgs/s (instances) | msgs/s (one Redis) | Redis MB (presence) | reconnect all, s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (x) =>
        `| ${n0(x.instances)} | ${n0(x.hosts)} | ${n0(x.peers)} | ${n0(x.msgsPerS)} | ${n0(x.redisMsgsPerS)} | ${n0(x.redisMB)} | ${x.reconnectAllS.toFixed(1)} |`,
    ),
    '',
  ].join('\n');
}
