import { describe, expect, it } from 'vitest';
import {
  CAPACITY_HEADROOM,
  type CapacityInputs,
  capacityMarkdown,
  capacityReport,
  crossShare,
} from '../src/capacity.js';
import { parseArgs } from '../src/config.js';

const inputs: CapacityInputs = {
  baseRssMB: 100,
  kbPerPeer: 8,
  redisKbPerPeer: 0.5,
  cpuUsPerConn: 700,
  idleUsPerPeerS: 0.1,
  idleIncludesHeartbeat: false,
  heartbeatS: 30,
  localUsPerMsg: 10,
  crossUsPerMsg: 20,
  redisUsPerMsg: 4,
};

describe('capacity model', () => {
  const quiet = { msgsPerPeerS: 0 };
  it('a small host is memory-bound: peers = (RAM × headroom / instances − base) / KB per peer', () => {
    const r = capacityReport(inputs, { ramGiB: 4, cores: 2 }, quiet, 1_000_000);
    const expected = Math.floor(((4 * 2 ** 20 * CAPACITY_HEADROOM) / 2 - 100 * 1024) / 8);
    expect(r.instancesPerHost).toBe(2);
    expect(r.peersByMemory).toBe(expected);
    expect(r.instancesForGoal).toBe(Math.ceil(1_000_000 / expected));
    // The goal's cluster size is one of the rows, and it holds the goal.
    const goal = r.rows.find((x) => x.instances === r.instancesForGoal)!;
    expect(goal.limitedBy).toBe('memory');
    expect(goal.peers).toBeGreaterThanOrEqual(1_000_000);
    expect(goal.hosts).toBe(Math.ceil(r.instancesForGoal / 2));
  });

  it('a large host is CPU-bound: idle cost (timers + a ping/pong per heartbeat) plus the planned traffic', () => {
    const idle = 0.1 + 10 / 30;
    const r0 = capacityReport(inputs, { ramGiB: 512, cores: 1 }, quiet, 1_000_000);
    expect(r0.peersByIdleCpu).toBe(Math.floor((1e6 * CAPACITY_HEADROOM) / idle));
    expect(r0.rows[0]).toMatchObject({ instances: 1, limitedBy: 'cpu', peers: r0.peersByIdleCpu });
    const busy = capacityReport(inputs, { ramGiB: 512, cores: 1 }, { msgsPerPeerS: 0.1 }, 1_000_000);
    const one = busy.rows[0]!;
    expect(one.peers).toBe(Math.floor((1e6 * CAPACITY_HEADROOM) / (idle + 0.1 * 10)));
    expect(one.msgsPerS).toBeCloseTo(one.peers * 0.1, 6);
    expect(one.maxMsgsPerS).toBeGreaterThanOrEqual(one.msgsPerS * 0.999);
    // Idle watched over a heartbeat round already holds the pings: nothing is added to it.
    const watched = capacityReport({ ...inputs, idleIncludesHeartbeat: true }, { ramGiB: 512, cores: 1 }, quiet, 1);
    expect(watched.peersByIdleCpu).toBe(Math.floor((1e6 * CAPACITY_HEADROOM) / 0.1));
  });

  it('cross-instance share and cost grow with N; Redis carries the cross share', () => {
    expect(crossShare(1)).toBe(0);
    expect(crossShare(2)).toBe(0.5);
    expect(crossShare(4)).toBe(0.75);
    const r = capacityReport(inputs, { ramGiB: 16, cores: 4 }, quiet, 100_000, [1, 2, 4]);
    const [one, two, four] = r.rows;
    expect(one!.redisMsgsPerS).toBe(Number.POSITIVE_INFINITY);
    expect(two!.redisMsgsPerS).toBeCloseTo((1e6 * CAPACITY_HEADROOM) / (0.5 * 4), 6);
    // Per instance, a bigger cluster relays fewer msgs/s (more of them cost both ends).
    expect(two!.maxMsgsPerS / 2).toBeLessThan(one!.maxMsgsPerS);
    expect(four!.maxMsgsPerS / 4).toBeLessThan(two!.maxMsgsPerS / 2);
    expect(four!.redisMB).toBeCloseTo((four!.peers * 0.5) / 1024, 6);
    expect(capacityMarkdown(r)).toContain('| instances | hosts | peers |');
  });

  it('the capacity run takes its host and goal from the command line', () => {
    const c = parseArgs(['capacity', '--ram-gib', '64', '--cores', '16', '--goal-peers', '1000000']);
    expect(c).toMatchObject({ scenario: 'capacity', ramGiB: 64, cores: 16, goalPeers: 1_000_000, heartbeatS: 30 });
    expect(c.msgsPerPeerS).toBe(0.05);
  });
});
