/**
 * Small, fast versions of every scenario against real servers in their own processes
 * (the rendezvous service, the bare forwarder, PeerJS, and real Redis), driven by a real
 * generator process. They check that nothing is lost and that counting is right — never speed.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REDIS_SERVER_BIN } from '../src/redis.js';
import { type RunOptions, runScenario, type ScenarioResult } from '../src/runner.js';
import { planScenario } from '../src/scenarios.js';

const hasRedis = spawnSync(REDIS_SERVER_BIN, ['--version']).status === 0;

const OPTS: RunOptions = {
  durationS: 1,
  warmupS: 0,
  generators: 1,
  connectConcurrency: 50,
  sourceAddresses: 1,
  serverCpus: null,
  generatorCpus: null,
};

function expectClean(r: ScenarioResult): void {
  expect(r.failedConnects, JSON.stringify(r.connectFailures)).toBe(0);
  expect(r.connected).toBe(r.peers);
  expect(r.errors, JSON.stringify(r.errorCodes)).toBe(0);
  expect(r.unexpectedCloses).toBe(0);
  expect(r.lost).toBe(0);
  expect(r.misrouted).toBe(0);
  expect(r.unacked).toBe(0);
}

function expectTraffic(r: ScenarioResult): void {
  expectClean(r);
  expect(r.sent).toBeGreaterThan(0);
  // Every message sent was delivered exactly once, to the peer it was addressed to.
  expect(r.totalDelivered).toBe(r.sent);
  expect(r.delivered).toBeGreaterThan(0);
  expect(r.delivered).toBeLessThanOrEqual(r.totalDelivered);
  expect(r.msgsPerS).toBeGreaterThan(0);
  expect(r.cpuUsPerMsg).toBeGreaterThan(0);
}

describe('smoke: relay', () => {
  it.each(['bare', 'bare-cork', 'rdv-memory'] as const)('relay 1 KiB × %s', async (target) => {
    const r = await runScenario(target, planScenario('relay', { pairs: 4, size: '1k', window: 4 }), OPTS);
    expectTraffic(r);
    expect(r.mbPerS).toBeGreaterThan(0);
  });

  it.skipIf(!hasRedis)('relay 16 KiB across two instances over Redis', async () => {
    const r = await runScenario('rdv-redis-2', planScenario('relay', { pairs: 4, size: '16k', window: 2 }), OPTS);
    expectTraffic(r);
  });
});

describe('smoke: signal', () => {
  it.each(['peerjs', 'rdv-memory'] as const)('offer/answer/candidates × %s', async (target) => {
    const r = await runScenario(target, planScenario('signal', { pairs: 4, window: 2 }), OPTS);
    expectTraffic(r);
  });
});

describe('smoke: latency', () => {
  it.each([...(['bare'] as const), ...(hasRedis ? (['rdv-redis'] as const) : [])])(
    'paced round trips × %s',
    async (target) => {
      const r = await runScenario(target, planScenario('latency', { pairs: 10, rate: 200 }), OPTS);
      expectTraffic(r);
      expect(r.roundTrips).toBeGreaterThan(50);
      expect(r.rttP50Ms).toBeGreaterThan(0);
      expect(r.rttP99Ms).toBeGreaterThanOrEqual(r.rttP50Ms!);
    },
  );
});

describe('smoke: connect', () => {
  it.each(['bare', 'peerjs', 'rdv-memory'] as const)('connect storm × %s', async (target) => {
    const r = await runScenario(target, planScenario('connect', { peers: 100 }), OPTS);
    expectClean(r);
    expect(r.connsPerS).toBeGreaterThan(0);
    expect(r.msgsPerS).toBeNull();
    expect(r.rssMB).toBeGreaterThan(0);
  });
});

describe('smoke: soak', () => {
  it('idle peers with heartbeats and a trickle of messages', async () => {
    const r = await runScenario(
      'rdv-memory',
      planScenario('soak', { peers: 60, pairs: 5, rate: 50, heartbeatMs: 500 }),
      { ...OPTS, durationS: 2 },
    );
    expectTraffic(r);
    expect(r.heartbeatsSent).toBeGreaterThan(60);
  });
});
