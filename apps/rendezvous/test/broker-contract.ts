/**
 * The Broker contract: every implementation (memory, Redis, Redis Cluster) runs these.
 * `make()` returns two brokers that share state (two instances of one deployment).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Broker, instanceOf, type MailboxLimits, makeClaim } from '../src/broker/broker.js';
import { MAILBOX_ITEM_OVERHEAD_BYTES, PRESENCE_REFRESH_BATCH_KEYS } from '../src/constants.js';

export interface BrokerPair {
  a: Broker;
  b: Broker;
  /** Add `member` to the set `setKey` in the backing store. */
  addToSet(setKey: string, member: string): Promise<void>;
  close(): Promise<void>;
}

const KEY1 = 'A'.repeat(43);
const KEY2 = 'B'.repeat(43);
const S1 = Buffer.alloc(32, 1);
const S2 = Buffer.alloc(32, 2);
/**
 * An envelope-shaped buffer: version and type bytes, the message id (random unless given;
 * brokers dedupe on sender ‖ id), the sender key (where brokers read it), then the body.
 */
function mail(body: string | number, sender = S1, id: Buffer = randomBytes(16)): Buffer {
  return Buffer.concat([
    Buffer.alloc(2),
    id,
    sender,
    typeof body === 'number' ? Buffer.alloc(body, 0x78) : Buffer.from(body),
  ]);
}
const bodies = (envs: Buffer[]) => envs.map((e) => e.subarray(e[0] === 2 ? PREKEY_BODY_AT : 50).toString());
/** Where a prekey-shaped packet's body starts: after its 2-byte prefix and 1,213-byte header. */
const PREKEY_BODY_AT = 2 + 1_213;
/**
 * A PREKEY-shaped peer packet: 0x02 0x04, the prekey message version, the sender at 3, the
 * recipient at 35, zeros up to the message id at 1,199, then the body (brokers read sender and
 * id at these offsets; peer-packet.ts).
 */
function prekeyMail(body: string, sender = S1, id: Buffer = randomBytes(16)): Buffer {
  const header = Buffer.alloc(PREKEY_BODY_AT);
  header[0] = 2;
  header[1] = 4;
  header[2] = 1;
  sender.copy(header, 3);
  id.copy(header, 1_199);
  return Buffer.concat([header, Buffer.from(body)]);
}
/** A bundle-shaped 1,333-byte buffer with `created` (u64 BE at 37) and `id` (u32 BE at 33); brokers only order and keep it. */
function bundle(created: number, id: number, fill = 0x42): Buffer {
  const b = Buffer.alloc(1_333, fill);
  b.writeUInt32BE(id, 33);
  b.writeBigUInt64BE(BigInt(created), 37);
  return b;
}
/** What one envelope costs the total budget, accounted bytes. */
const cost = (e: Buffer) => e.length + MAILBOX_ITEM_OVERHEAD_BYTES;
const LIMITS: MailboxLimits = {
  maxMessages: 3,
  maxBytes: 200,
  maxMessagesPerSender: 3,
  maxBytesPerSender: 200,
  totalMaxBytes: 1 << 24,
  ttlMs: 60_000,
};

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
      await pair.a.mailboxPush(KEY1, mail('m1'), LIMITS, now);
      await pair.a.mailboxPush(KEY1, mail('m2'), LIMITS, now);
      const r = await pair.b.claimAndTake(KEY1, c2, 10_000, now);
      expect(r.prev).toBe(c1);
      expect(bodies(r.mail)).toEqual(['m1', 'm2']);
      expect(await pair.a.lookup(KEY1)).toBe(c2);
      expect(await pair.a.mailboxTake(KEY1, now)).toEqual([]);
      // The byte counter and the sender's share went with the list: a full mailbox's worth fits again.
      expect(await pair.a.mailboxPush(KEY1, mail(140), LIMITS, now)).toBe('queued');
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

    it('refreshes many keys at once (past PRESENCE_REFRESH_BATCH_KEYS): ours extended, a lost one re-made, another claim left alone', async () => {
      const n = PRESENCE_REFRESH_BATCH_KEYS * 2 + 1;
      const keys = Array.from({ length: n }, () => randomBytes(32).toString('base64url'));
      const ours = keys.map((_, i) => makeClaim('inst-a', 1, 100 + i));
      await Promise.all(keys.map((k, i) => pair.a.claim(k, ours[i]!, 400)));
      const taken = randomBytes(32).toString('base64url');
      const theirs = makeClaim('inst-b', 2, 1);
      await pair.b.claim(taken, theirs, 400);
      const lost = randomBytes(32).toString('base64url');
      const lostClaim = makeClaim('inst-a', 1, 99);
      await pair.a.refresh(
        [...keys.map((k, i) => [k, ours[i]!] as const), [taken, makeClaim('inst-a', 1, 98)], [lost, lostClaim]],
        5_000,
      );
      await new Promise((r) => setTimeout(r, 700));
      expect(await Promise.all(keys.map((k) => pair.b.lookup(k)))).toEqual(ours);
      expect(await pair.b.lookup(taken)).toBeNull(); // not ours: left to expire
      expect(await pair.b.lookup(lost)).toBe(lostClaim);
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
      expect(await pair.a.mailboxPush(KEY1, mail('m1'), LIMITS, now)).toBe('queued');
      expect(await pair.b.mailboxPush(KEY1, mail('m2', S2), LIMITS, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, mail(97), LIMITS, now)).toBe('full'); // bytes
      expect(await pair.a.mailboxPush(KEY1, mail('m3'), LIMITS, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, mail('m4', S2), LIMITS, now)).toBe('full'); // count
      const got = await pair.b.mailboxTake(KEY1, now);
      expect(bodies(got)).toEqual(['m1', 'm2', 'm3']);
      expect(await pair.a.mailboxTake(KEY1, now)).toEqual([]);
      expect(await pair.a.mailboxPush(KEY1, mail('again'), LIMITS, now)).toBe('queued');
      // Too short to name a sender: never stored.
      expect(await pair.a.mailboxPush(KEY2, Buffer.from('tiny'), LIMITS, now)).toBe('full');
    });

    it('drops mailboxed envelopes past their TTL', async () => {
      const now = Date.now();
      await pair.a.mailboxPush(KEY2, mail('old'), { ...LIMITS, ttlMs: 1000 }, now);
      await pair.a.mailboxPush(KEY2, mail('new'), { ...LIMITS, ttlMs: 60_000 }, now);
      expect(bodies(await pair.a.mailboxTake(KEY2, now + 2000))).toEqual(['new']);
    });

    it("caps one sender's share of one recipient's mailbox, by count and bytes; others still fit", async () => {
      const now = Date.now();
      const L: MailboxLimits = {
        ...LIMITS,
        maxMessages: 10,
        maxBytes: 10_000,
        maxMessagesPerSender: 2,
        maxBytesPerSender: 200,
      };
      expect(await pair.a.mailboxPush(KEY1, mail('a1'), L, now)).toBe('queued');
      expect(await pair.b.mailboxPush(KEY1, mail('a2'), L, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, mail('a3'), L, now)).toBe('sender_full'); // count, across instances
      expect(await pair.a.mailboxPush(KEY1, mail('b1', S2), L, now)).toBe('queued'); // another sender
      expect(await pair.a.mailboxPush(KEY1, mail(160, S2), L, now)).toBe('sender_full'); // bytes: 52 + 210 > 200
      expect(await pair.a.mailboxPush(KEY2, mail('a4'), L, now)).toBe('queued'); // the share is per recipient
      expect(bodies(await pair.b.mailboxTake(KEY1, now))).toEqual(['a1', 'a2', 'b1']);
      expect(await pair.a.mailboxPush(KEY1, mail('a5'), L, now)).toBe('queued'); // taken: the share is free again
      // Expired envelopes free their sender's share too.
      const key3 = 'E'.repeat(43);
      expect(await pair.a.mailboxPush(key3, mail('e1'), { ...L, ttlMs: 500 }, now)).toBe('queued');
      expect(await pair.a.mailboxPush(key3, mail('e2'), { ...L, ttlMs: 500 }, now)).toBe('queued');
      expect(await pair.a.mailboxPush(key3, mail('e3'), L, now)).toBe('sender_full');
      expect(await pair.b.mailboxPush(key3, mail('e4'), L, now + 1000)).toBe('queued');
      expect(bodies(await pair.a.mailboxTake(key3, now + 1000))).toEqual(['e4']);
    });

    it('refuses past the total budget across mailboxes and instances, and frees it when mail is taken', async () => {
      const now = Date.now();
      const e = mail('x');
      const L: MailboxLimits = { ...LIMITS, totalMaxBytes: 3 * cost(e) };
      expect(await pair.a.mailboxPush(KEY1, e, L, now)).toBe('queued');
      expect(await pair.b.mailboxPush(KEY2, e, L, now)).toBe('queued');
      expect(await pair.a.mailboxPush('C'.repeat(43), e, L, now)).toBe('queued');
      expect(await pair.b.mailboxPush('D'.repeat(43), e, L, now)).toBe('budget');
      expect(await pair.a.mailboxPush(KEY1, mail('x'), L, now)).toBe('budget');
      expect(bodies(await pair.a.mailboxTake(KEY1, now))).toEqual(['x']);
      expect(await pair.a.mailboxPush('D'.repeat(43), e, L, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, mail('x'), L, now)).toBe('budget');
    });

    it('restores taken envelopes at the head, in order, counted again against the share and the budget', async () => {
      const now = Date.now();
      const L: MailboxLimits = { ...LIMITS, maxMessages: 10, maxBytes: 10_000, totalMaxBytes: 3 * cost(mail('mN')) };
      await pair.a.mailboxPush(KEY1, mail('m1'), L, now);
      await pair.a.mailboxPush(KEY1, mail('m2'), L, now);
      const taken = await pair.a.mailboxTake(KEY1, now);
      expect(await pair.b.mailboxPush(KEY1, mail('m3'), L, now)).toBe('queued');
      await pair.b.mailboxRestore(KEY1, taken, L, now);
      expect(await pair.a.mailboxPush(KEY2, mail('m4', S2), L, now)).toBe('budget');
      expect(await pair.a.mailboxPush(KEY1, mail('m4'), { ...L, totalMaxBytes: 1 << 24 }, now)).toBe('sender_full');
      expect(bodies(await pair.a.mailboxTake(KEY1, now))).toEqual(['m1', 'm2', 'm3']);
    });

    it('dedupes by (sender, message id) per recipient: a resend stores no copy, even past the limits', async () => {
      const now = Date.now();
      const id = randomBytes(16);
      expect(await pair.a.mailboxPush(KEY1, mail('m1', S1, id), LIMITS, now)).toBe('queued');
      // A resend is a fresh envelope (new nonce, timestamp) with the same id: on any instance.
      expect(await pair.b.mailboxPush(KEY1, mail('m1 again', S1, id), LIMITS, now + 1)).toBe('duplicate');
      // Another sender's envelope with that id is its own message (a stranger cannot suppress S1's).
      expect(await pair.a.mailboxPush(KEY1, mail('s2', S2, id), LIMITS, now)).toBe('queued');
      // The index is per recipient.
      expect(await pair.a.mailboxPush(KEY2, mail('m1 to 2', S1, id), LIMITS, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, mail('m2'), LIMITS, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, mail('m3'), LIMITS, now)).toBe('full');
      // Full (3 of 3), yet a copy already held is still answered as stored.
      expect(await pair.b.mailboxPush(KEY1, mail('m1 third', S1, id), LIMITS, now)).toBe('duplicate');
      expect(bodies(await pair.b.mailboxTake(KEY1, now))).toEqual(['m1', 's2', 'm2']);
      // The index went with the mailbox: after a take the same id is stored again.
      expect(await pair.a.mailboxPush(KEY1, mail('m1 after take', S1, id), LIMITS, now)).toBe('queued');
      expect(bodies(await pair.a.mailboxTake(KEY1, now))).toEqual(['m1 after take']);
    });

    it('dedupes only against unexpired copies, and against restored ones', async () => {
      const now = Date.now();
      const id = randomBytes(16);
      expect(await pair.a.mailboxPush(KEY1, mail('old', S1, id), { ...LIMITS, ttlMs: 1000 }, now)).toBe('queued');
      expect(await pair.b.mailboxPush(KEY1, mail('new', S1, id), LIMITS, now + 2000)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, mail('newer', S1, id), LIMITS, now + 2001)).toBe('duplicate');
      const taken = await pair.a.mailboxTake(KEY1, now + 2001);
      expect(bodies(taken)).toEqual(['new']);
      await pair.b.mailboxRestore(KEY1, taken, LIMITS, now + 2002);
      expect(await pair.a.mailboxPush(KEY1, mail('resent', S1, id), LIMITS, now + 2003)).toBe('duplicate');
      expect(bodies(await pair.b.mailboxTake(KEY1, now + 2003))).toEqual(['new']);
    });

    it('answers a resend of a held copy as duplicate when the total budget is used up', async () => {
      const now = Date.now();
      const id = randomBytes(16);
      const e = mail('x', S1, id);
      const L: MailboxLimits = { ...LIMITS, totalMaxBytes: cost(e) };
      expect(await pair.a.mailboxPush(KEY1, e, L, now)).toBe('queued');
      expect(await pair.b.mailboxPush(KEY1, mail('x', S1, id), L, now)).toBe('duplicate');
      expect(await pair.b.mailboxPush(KEY1, mail('y'), L, now)).toBe('budget');
      expect(bodies(await pair.a.mailboxTake(KEY1, now))).toEqual(['x']);
    });

    it('dedupes and shares PREKEY packets by their own sender and message id offsets', async () => {
      const now = Date.now();
      const id = randomBytes(16);
      const L: MailboxLimits = {
        ...LIMITS,
        maxMessages: 10,
        maxBytes: 1 << 20,
        maxBytesPerSender: 1 << 20,
        maxMessagesPerSender: 2,
      };
      expect(await pair.a.mailboxPush(KEY1, prekeyMail('p1', S1, id), L, now)).toBe('queued');
      expect(await pair.b.mailboxPush(KEY1, prekeyMail('p1 again', S1, id), L, now)).toBe('duplicate');
      // Same id from another sender: its own message.
      expect(await pair.b.mailboxPush(KEY1, prekeyMail('p1 of s2', S2, id), L, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, prekeyMail('p2', S1), L, now)).toBe('queued');
      // S1 holds 2 = its share (read at offset 3, not at the envelope's 18).
      expect(await pair.a.mailboxPush(KEY2, prekeyMail('other box', S1), L, now)).toBe('queued');
      expect(await pair.a.mailboxPush(KEY1, mail('envelope from s1', S1), L, now)).toBe('sender_full');
      const taken = await pair.b.mailboxTake(KEY1, now);
      expect(bodies(taken)).toEqual(['p1', 'p1 of s2', 'p2']);
      await pair.a.mailboxRestore(KEY1, taken, L, now + 1);
      expect(await pair.b.mailboxPush(KEY1, prekeyMail('p1 third', S1, id), L, now + 2)).toBe('duplicate');
      expect(await pair.b.mailboxPush(KEY1, prekeyMail('p3', S1), L, now + 2)).toBe('sender_full');
      expect(bodies(await pair.a.mailboxTake(KEY1, now + 2))).toEqual(['p1', 'p1 of s2', 'p2']);
    });

    it('keeps the newest prekey bundle per key, for every instance, until its ttl', async () => {
      const now = Date.now();
      expect(await pair.a.prekeyGet(KEY1, now)).toBeNull();
      // Created 0x00ff…ff vs 0x0100…00: ordered as numbers, byte by byte, across the byte boundary.
      const older = bundle(0xff_ffff_ffff, 9, 1);
      const newer = bundle(0x100_0000_0000, 1, 2);
      expect(await pair.a.prekeyPut(KEY1, newer, 60_000, now)).toBe('stored');
      expect(await pair.b.prekeyPut(KEY1, older, 60_000, now)).toBe('stale');
      expect(await pair.b.prekeyGet(KEY1, now)).toEqual(newer);
      // Same created: the higher bundle id is newer; the same bundle again is stored.
      const sameTimeHigherId = bundle(0x100_0000_0000, 2, 3);
      expect(await pair.b.prekeyPut(KEY1, sameTimeHigherId, 60_000, now)).toBe('stored');
      expect(await pair.a.prekeyPut(KEY1, newer, 60_000, now)).toBe('stale');
      expect(await pair.a.prekeyPut(KEY1, sameTimeHigherId, 60_000, now)).toBe('stored');
      expect(await pair.a.prekeyGet(KEY1, now)).toEqual(sameTimeHigherId);
      expect(await pair.a.prekeyGet(KEY2, now)).toBeNull();
      // Expiry: gone after its ttl, and then an older bundle may be stored again.
      expect(await pair.a.prekeyPut(KEY2, newer, 300, Date.now())).toBe('stored');
      await new Promise((r) => setTimeout(r, 400));
      expect(await pair.b.prekeyGet(KEY2, Date.now())).toBeNull();
      expect(await pair.b.prekeyPut(KEY2, older, 60_000, Date.now())).toBe('stored');
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

    it('redeems a single-use invite once, for one holder, across instances, until it expires', async () => {
      const now = Date.now();
      const id = `inv-${now}-${Math.random().toString(36).slice(2)}`;
      expect(await pair.a.redeemInvite(id, KEY1, now + 400, now)).toBe(true);
      // The same holder may come back (reconnects present the same token) on any instance.
      expect(await pair.b.redeemInvite(id, KEY1, now + 400, now + 1)).toBe(true);
      expect(await pair.b.redeemInvite(id, KEY2, now + 400, now + 2)).toBe(false);
      expect(await pair.a.redeemInvite(id, KEY2, now + 400, now + 3)).toBe(false);
      expect(await pair.a.redeemInvite(`${id}-other`, KEY2, now + 400, now)).toBe(true);
      // After the token expires nobody can present it any more; the record may go.
      await new Promise((r) => setTimeout(r, 500));
      expect(await pair.b.redeemInvite(id, KEY2, Date.now() + 400, Date.now())).toBe(true);
    });
  });
}
