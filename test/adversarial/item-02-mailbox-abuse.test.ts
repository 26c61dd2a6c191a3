/**
 * Issue 12, item 2 — mailbox abuse. On a9e1cb0 the server checked only an envelope's structure
 * before storing it for an offline recipient, so:
 *   - 256 tiny unsigned frames filled a victim's mailbox and every legitimate sender got
 *     RDV_ERR_MAILBOX_FULL for the 7-day TTL;
 *   - one sender could take a whole mailbox;
 *   - nothing bounded all mailboxes together (8 keys parked 237 MiB for 4,023 random keys), and
 *     with Redis under `maxmemory … noeviction` that traffic would break presence and routing.
 * What must hold now: the signature is verified before anything is stored; one sender holds at
 * most MAILBOX_MAX_MESSAGES_PER_SENDER / MAILBOX_MAX_BYTES_PER_SENDER of one mailbox; all
 * mailboxes together hold at most MAILBOX_TOTAL_MAX_BYTES (per instance in memory, per cluster
 * in Redis) and are refused with RDV_ERR_MAILBOX_BUDGET before Redis runs out of memory.
 * Real servers, real sockets on 127.0.0.1, real redis-server processes.
 */
import { randomBytes } from 'node:crypto';
import { AckStatus, EnvelopeType, type Frame, FrameType, generateIdentity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../../apps/rendezvous/src/app.js';
import type { MemoryBroker } from '../../apps/rendezvous/src/broker/memory.js';
import { startApp, TestClient } from '../../apps/rendezvous/test/helpers.js';
import { type RedisProc, startRedis } from '../../apps/rendezvous/test/redis-helpers.js';

const apps: RendezvousApp[] = [];
const clients: TestClient[] = [];
const redises: RedisProc[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(apps.splice(0).map((a) => a.close()));
  await Promise.all(redises.splice(0).map((r) => r.stop()));
});

async function client(url: string, id = generateIdentity(nodeSuite)): Promise<TestClient> {
  const c = await TestClient.connect(url, id);
  clients.push(c);
  return c;
}

function seal(from: TestClient, to: Uint8Array, plaintextBytes: number): Uint8Array {
  return sealEnvelope(nodeSuite, {
    type: EnvelopeType.DATA,
    sender: from.identity,
    recipient: to,
    plaintext: randomBytes(plaintextBytes),
  });
}

/** Answers to frames `first … first+n-1`, in frameId order. */
async function answers(c: TestClient, first: number, n: number, ms = 15_000): Promise<Frame[]> {
  const out: Frame[] = [];
  for (let i = first; i < first + n; i++) out.push(await c.answer(i, ms));
  return out;
}

const codeOf = (f: Frame) => (f.type === FrameType.ERROR ? f.code : f.type === FrameType.ACK ? 'ACK' : 'OTHER');

async function deliveries(c: TestClient, n: number, ms = 10_000): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const d = await c.next((f) => f.type === FrameType.DELIVER, ms);
    if (d.type === FrameType.DELIVER) out.push(d.envelope);
  }
  return out;
}

async function usedMemory(url: string): Promise<number> {
  const r = new Redis(url);
  try {
    const info = await r.info('memory');
    return Number(/used_memory:(\d+)/.exec(info)![1]);
  } finally {
    r.disconnect();
  }
}

describe('item 2: mailbox abuse', () => {
  it('unsigned junk is never stored: 256 tiny forged frames leave the mailbox open to real senders', async () => {
    const s = await startApp();
    apps.push(s.app);
    const mallory = await client(s.url);
    const alice = await client(s.url);
    const victim = generateIdentity(nodeSuite);
    for (let i = 1; i <= 256; i++) {
      const env = seal(mallory, victim.publicKey, 1);
      env[env.length - 1]! ^= 0x01; // the signature no longer verifies; the structure is intact
      mallory.relay(i, victim.publicKey, env);
    }
    const junk = await answers(mallory, 1, 256);
    expect(new Set(junk.map(codeOf))).toEqual(new Set(['RDV_ERR_BAD_SIGNATURE']));
    expect(s.app.stats.drops.bad_signature).toBe(256);

    const real = seal(alice, victim.publicKey, 100);
    alice.relay(1, victim.publicKey, real);
    expect(await alice.answer(1)).toEqual({ type: FrameType.ACK, frameId: 1, status: AckStatus.QUEUED });
    const v = await client(s.url, victim);
    const [got] = await deliveries(v, 1);
    expect(Buffer.from(got!).equals(Buffer.from(real))).toBe(true);
    expect(v.frames.filter((f) => f.type === FrameType.DELIVER)).toHaveLength(0);
  });

  it("one signed sender takes only its share of a victim's mailbox; another sender still gets in", async () => {
    const s = await startApp();
    apps.push(s.app);
    const mallory = await client(s.url);
    const alice = await client(s.url);
    const victim = generateIdentity(nodeSuite);
    const n = s.app.config.mailboxMaxMessages; // enough to fill the whole mailbox alone on a9e1cb0
    for (let i = 1; i <= n; i++) mallory.relay(i, victim.publicKey, seal(mallory, victim.publicKey, 1));
    const got = (await answers(mallory, 1, n)).map(codeOf);

    const real = seal(alice, victim.publicKey, 100);
    alice.relay(1, victim.publicKey, real);
    expect(await alice.answer(1)).toEqual({ type: FrameType.ACK, frameId: 1, status: AckStatus.QUEUED });
    const perSender = s.app.config.mailboxMaxMessagesPerSender;
    expect(perSender).toBeLessThan(n);
    expect(got.filter((c) => c === 'ACK')).toHaveLength(perSender);
    expect(got.filter((c) => c === 'RDV_ERR_MAILBOX_SENDER_FULL')).toHaveLength(n - perSender);
    const v = await client(s.url, victim);
    const all = await deliveries(v, perSender + 1);
    expect(Buffer.from(all[perSender]!).equals(Buffer.from(real))).toBe(true);
  });

  it('all mailboxes of an instance together stop at MAILBOX_TOTAL_MAX_BYTES (memory broker)', async () => {
    const budget = 2 * 1024 * 1024;
    const s = await startApp({ MAILBOX_TOTAL_MAX_BYTES: String(budget), MAILBOX_MAX_BYTES: String(1024 * 1024) });
    apps.push(s.app);
    // 8 keys from one IP write 30 KB envelopes to random offline keys: 5.6 MiB offered.
    const attackers = await Promise.all(Array.from({ length: 8 }, () => client(s.url)));
    const perKey = 24;
    const codes: string[] = [];
    for (const a of attackers) {
      for (let i = 1; i <= perKey; i++) {
        const to = generateIdentity(nodeSuite).publicKey;
        a.relay(i, to, seal(a, to, 30_000));
      }
      for (const f of await answers(a, 1, perKey)) codes.push(codeOf(f));
    }
    const queued = codes.filter((c) => c === 'ACK').length;
    expect(codes.filter((c) => c !== 'ACK' && c !== 'RDV_ERR_MAILBOX_BUDGET')).toEqual([]);
    expect(codes).toContain('RDV_ERR_MAILBOX_BUDGET');
    expect(queued * 30_000).toBeLessThanOrEqual(budget);
    const broker = s.app.broker as MemoryBroker;
    expect(broker.bus.mailboxBytes).toBeLessThanOrEqual(budget);
    expect(broker.bus.mailboxBytes).toBeGreaterThan(budget / 2);
  });

  describe('Redis under maxmemory with noeviction', () => {
    const MAXMEMORY = 48 * 1024 * 1024;

    async function cluster(budget: number) {
      const redis = await startRedis({
        extra: ['--maxmemory', String(MAXMEMORY), '--maxmemory-policy', 'noeviction'],
      });
      redises.push(redis);
      const env = { REDIS_URL: redis.url, MAILBOX_TOTAL_MAX_BYTES: String(budget), MAILBOX_MAX_BYTES: String(1 << 20) };
      const one = await startApp({ ...env, INSTANCE_ID: 'one' });
      apps.push(one.app);
      const two = await startApp({ ...env, INSTANCE_ID: 'two' });
      apps.push(two.app);
      return { redis, one, two };
    }

    /**
     * 8 keys write envelopes of `plaintext` bytes to random offline keys, `batch` per key per
     * round, until the first refusal (at most `rounds` rounds). Returns every refusal code and
     * the number queued.
     */
    async function fill(url: string, plaintext: number, batch: number, rounds: number) {
      const attackers = await Promise.all(Array.from({ length: 8 }, () => client(url)));
      const refused: string[] = [];
      let queued = 0;
      let frameId = 0;
      for (let r = 0; r < rounds && refused.length === 0; r++) {
        const first = frameId + 1;
        for (const a of attackers)
          for (let i = 1; i <= batch; i++) {
            const to = generateIdentity(nodeSuite).publicKey;
            a.relay(first + i - 1, to, seal(a, to, plaintext));
          }
        frameId += batch;
        for (const a of attackers)
          for (const f of await answers(a, first, batch)) {
            if (codeOf(f) === 'ACK') queued++;
            else refused.push(codeOf(f));
          }
      }
      return { refused, queued };
    }

    /** Presence claims and cross-instance routing for fresh keys, both ways. */
    async function presenceAndRoutingWork(oneUrl: string, twoUrl: string): Promise<void> {
      const x = await client(oneUrl);
      const y = await client(twoUrl);
      x.signal(1, y.key);
      expect(await x.answer(1)).toEqual({ type: FrameType.ACK, frameId: 1, status: AckStatus.DELIVERED });
      await y.next((f) => f.type === FrameType.DELIVER && f.channel === 0);
      y.relay(2, x.key);
      expect(await y.answer(2)).toEqual({ type: FrameType.ACK, frameId: 2, status: AckStatus.DELIVERED });
      await x.next((f) => f.type === FrameType.DELIVER && f.channel === 1);
    }

    it('large envelopes: filled to the cluster budget, refused with RDV_ERR_MAILBOX_BUDGET; presence and routing still work', async () => {
      const budget = 16 * 1024 * 1024;
      const { redis, one, two } = await cluster(budget);
      const before = await usedMemory(redis.url);
      // 60 KB envelopes: at most 60 rounds × 8 keys × 10 = 275 MiB offered, far past maxmemory.
      const { refused, queued } = await fill(one.url, 60_000, 10, 60);
      expect(refused.length).toBeGreaterThan(0);
      expect(new Set(refused)).toEqual(new Set(['RDV_ERR_MAILBOX_BUDGET']));
      expect(queued * 60_000).toBeLessThanOrEqual(budget);
      expect(queued * 60_000).toBeGreaterThan(budget * 0.8);
      // Both instances share the one budget: the other refuses too.
      const z = await client(two.url);
      const to = generateIdentity(nodeSuite).publicKey;
      z.relay(1, to, seal(z, to, 60_000));
      expect(codeOf(await z.answer(1))).toBe('RDV_ERR_MAILBOX_BUDGET');
      const used = await usedMemory(redis.url);
      expect(used).toBeLessThan(MAXMEMORY);
      // The budget counts what Redis really holds (envelopes plus MAILBOX_ITEM_OVERHEAD_BYTES each),
      // give or take the allocator rounding large values up to its size classes.
      expect(used - before).toBeLessThanOrEqual(budget * 1.25);
      await presenceAndRoutingWork(one.url, two.url);
    }, 60_000);

    it('tiny envelopes to many keys: the per-envelope overhead is charged, so Redis holds no more than the budget', async () => {
      const budget = 2 * 1024 * 1024;
      const { redis, one, two } = await cluster(budget);
      const before = await usedMemory(redis.url);
      // 1-byte plaintexts (223-byte envelopes), each to its own recipient: the per-key overhead
      // dominates. At most 12 rounds × 8 keys × 40 = 3,840 envelopes.
      const { refused, queued } = await fill(one.url, 1, 40, 12);
      expect(new Set(refused)).toEqual(new Set(['RDV_ERR_MAILBOX_BUDGET']));
      const used = await usedMemory(redis.url);
      console.log(
        `item 2: ${queued} tiny mailboxes took ${used - before} bytes of Redis memory (${Math.round((used - before) / queued)} B each) under a ${budget}-byte budget`,
      );
      expect(used - before).toBeLessThanOrEqual(budget);
      await presenceAndRoutingWork(one.url, two.url);
    }, 60_000);
  });
});
