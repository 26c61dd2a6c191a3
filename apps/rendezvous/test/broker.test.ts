import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { MemoryBroker, MemoryBus } from '../src/broker/memory.js';
import { RedisBroker } from '../src/broker/redis.js';
import { brokerContract } from './broker-contract.js';
import { quietLog } from './helpers.js';
import { type RedisProc, startCluster, startRedis } from './redis-helpers.js';

brokerContract('memory', async () => {
  const bus = new MemoryBus(1000);
  return {
    a: new MemoryBroker({ maxMailboxKeys: 1000, bus }),
    b: new MemoryBroker({ maxMailboxKeys: 1000, bus }),
    async addToSet(k, m) {
      const s = bus.sets.get(k) ?? new Set();
      s.add(m);
      bus.sets.set(k, s);
    },
    async close() {},
  };
});

let redis: RedisProc;
let n = 0;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

brokerContract('redis', async () => {
  const prefix = `t${++n}:`;
  const mk = () => new RedisBroker({ url: redis.url, clusterNodes: [], prefix, log: quietLog });
  const a = mk();
  const b = mk();
  return {
    a,
    b,
    async addToSet(k, m) {
      const c = new Redis(redis.url);
      await c.sadd(k, m);
      await c.quit();
    },
    async close() {
      await a.stop();
      await b.stop();
    },
  };
});

let cluster: Awaited<ReturnType<typeof startCluster>> | null = null;
beforeAll(async () => {
  cluster = await startCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

brokerContract('redis-cluster (3 masters, sharded pub/sub)', async () => {
  const prefix = `c${++n}:`;
  const seeds = cluster!.seeds;
  const mk = () => new RedisBroker({ url: null, clusterNodes: seeds, prefix, log: quietLog });
  const a = mk();
  const b = mk();
  return {
    a,
    b,
    async addToSet(k, m) {
      const c = new Cluster(seeds.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) })));
      await c.sadd(k, m);
      await c.quit();
    },
    async close() {
      await a.stop();
      await b.stop();
    },
  };
});
