/**
 * The Broker contract: every implementation (memory, Redis, Redis Cluster) runs these.
 * `make()` returns two brokers that share state (two instances of one deployment).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Broker, instanceOf, makeClaim } from '../src/broker/broker.js';

export interface BrokerPair {
  a: Broker;
  b: Broker;
  /** Add `member` to the set `setKey` in the backing store. */
  addToSet(setKey: string, member: string): Promise<void>;
  close(): Promise<void>;
}

const KEY1 = 'A'.repeat(43);
const KEY2 = 'B'.repeat(43);
const LIMITS = { maxMessages: 3, maxBytes: 100, ttlMs: 60_000 };

function waitFor<T>(arr: T[], n: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (arr.length >= n) resolve();
      else if (Date.now() > end) reject(new Error(`only ${arr.length}/${n} batches`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

export function brokerContract(name: string, make: () => Promise<BrokerPair>): void {
  describe(`Broker contract: ${name}`, () => {
    let pair: BrokerPair;
    const gotA: Buffer[] = [];
    const gotB: Buffer[] = [];
    beforeEach(async () => {
      gotA.length = 0;
      gotB.length = 0;
      pair = await make();
      await pair.a.start('inst-a', (b) => gotA.push(b));
      await pair.b.start('inst-b', (b) => gotB.push(b));
    });
    afterEach(async () => {
      await pair.close();
    });

    it('is ready after start', () => {
      expect(pair.a.isReady()).toBe(true);
      expect(pair.b.isReady()).toBe(true);
    });

    it('claims, looks up, hands over and releases presence', async () => {
      const c1 = makeClaim('inst-a', 1, 1);
      const c2 = makeClaim('inst-b', 2, 2);
      expect(await pair.a.lookup(KEY1)).toBeNull();
      expect(await pair.a.claim(KEY1, c1, 10_000)).toBeNull();
      expect(await pair.b.lookup(KEY1)).toBe(c1);
      expect(instanceOf((await pair.b.lookup(KEY1))!)).toBe('inst-a');
      expect(await pair.b.claim(KEY1, c2, 10_000)).toBe(c1);
      await pair.a.release(KEY1, c1); // stale claim: must not remove b's
      expect(await pair.a.lookup(KEY1)).toBe(c2);
      await pair.b.release(KEY1, c2);
      expect(await pair.a.lookup(KEY1)).toBeNull();
    });

    it('claims and takes the mailbox in one call (previous claim, unexpired envelopes, mailbox emptied)', async () => {
      const now = Date.now();
      const c1 = makeClaim('inst-a', 1, 1);
      const c2 = makeClaim('inst-b', 2, 2);
      expect(await pair.a.claimAndTake(KEY1, c1, 10_000, now)).toEqual({ prev: null, mail: [] });
      await pair.a.mailboxPush(KEY1, Buffer.from('m1'), LIMITS, now);
      await pair.a.mailboxPush(KEY1, Buffer.from('m2'), LIMITS, now);
      const r = await pair.b.claimAndTake(KEY1, c2, 10_000, now);
      expect(r.prev).toBe(c1);
      expect(r.mail.map(String)).toEqual(['m1', 'm2']);
      expect(await pair.a.lookup(KEY1)).toBe(c2);
      expect(await pair.a.mailboxTake(KEY1, now)).toEqual([]);
      // The byte counter went with the list: a full mailbox's worth fits again.
      expect(await pair.a.mailboxPush(KEY1, Buffer.alloc(90), LIMITS, now)).toBe('queued');
    });

    it('expires presence after its TTL unless refreshed', async () => {
      const c = makeClaim('inst-a', 1, 1);
      await pair.a.claim(KEY1, c, 300);
      await pair.a.claim(KEY2, makeClaim('inst-a', 1, 2), 300);
      await pair.a.refresh([[KEY1, c]], 5_000);
      await new Promise((r) => setTimeout(r, 500));
      expect(await pair.b.lookup(KEY1)).toBe(c);
      expect(await pair.b.lookup(KEY2)).toBeNull();
    });

    it('routes batches to the named instance only', async () => {
      pair.a.publish('inst-b', Buffer.from('to-b'));
      pair.b.publish('inst-a', Buffer.from('to-a'));
      pair.b.publish('inst-b', Buffer.from('self'));
      await waitFor(gotB, 2);
      await waitFor(gotA, 1);
      expect(gotB.map(String).sort()).toEqual(['self', 'to-b']);
      expect(gotA.map(String)).toEqual(['to-a']);
    });

    it('keeps a mailbox in order within its count and byte limits, shared by instances', async () => {
      const now = Date.now();
      expect(await pair.a.mailboxPush(KEY1, Buffer.from('m1'), LIMITS, now)).toBe('queued');
      expect(await pair.b.mailboxPush(KEY1, Buffer.from('m2'), LIMITS, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, Buffer.alloc(97), LIMITS, now)).toBe('full'); // bytes
      expect(await pair.a.mailboxPush(KEY1, Buffer.from('m3'), LIMITS, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, Buffer.from('m4'), LIMITS, now)).toBe('full'); // count
      const got = await pair.b.mailboxTake(KEY1, now);
      expect(got.map(String)).toEqual(['m1', 'm2', 'm3']);
      expect(await pair.a.mailboxTake(KEY1, now)).toEqual([]);
      expect(await pair.a.mailboxPush(KEY1, Buffer.from('again'), LIMITS, now)).toBe('queued');
    });

    it('drops mailboxed envelopes past their TTL', async () => {
      const now = Date.now();
      await pair.a.mailboxPush(KEY2, Buffer.from('old'), { ...LIMITS, ttlMs: 1000 }, now);
      await pair.a.mailboxPush(KEY2, Buffer.from('new'), { ...LIMITS, ttlMs: 60_000 }, now);
      expect((await pair.a.mailboxTake(KEY2, now + 2000)).map(String)).toEqual(['new']);
    });

    it('counts hits per window across instances', async () => {
      const now = 1_000_000;
      expect(await pair.a.hit('x', 60_000, now)).toBe(1);
      expect(await pair.b.hit('x', 60_000, now + 1)).toBe(2);
      expect(await pair.b.hit('x', 60_000, now + 60_000)).toBe(1);
    });

    it('answers set membership', async () => {
      await pair.addToSet('allow', KEY1);
      expect(await pair.a.isMember('allow', KEY1)).toBe(true);
      expect(await pair.b.isMember('allow', KEY2)).toBe(false);
    });
  });
}
