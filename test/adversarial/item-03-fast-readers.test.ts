/**
 * Issue 12, item 3 — honest fast readers cut as slow readers. On a9e1cb0 a recipient reading
 * as fast as it could was closed with 4006 whenever more than SEND_QUEUE_MAX_BYTES landed in
 * its queue within one event-loop turn: its whole mailbox on connect (68 × 61,662 B), one
 * sender's 128-message burst, or a stranger streaming junk at its own rate limit.
 * What must hold now: mailbox delivery is paced by the socket's drain (and what is not sent
 * when a session dies goes back to the mailbox); a burst beyond the recipient's inbound budget
 * is refused to its sender with RDV_ERR_RECIPIENT_BUSY, never paid for by cutting the
 * recipient; a reader is cut only when it really does not read (SLOW_READER_TIMEOUT_MS).
 * Real servers and real sockets on 127.0.0.1; every loop bounded in count and time.
 */
import { randomBytes } from 'node:crypto';
import { AckStatus, EnvelopeType, type Frame, FrameType, generateIdentity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../../apps/rendezvous/src/app.js';
import { startApp, TestClient } from '../../apps/rendezvous/test/helpers.js';

const apps: RendezvousApp[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function client(url: string, id = generateIdentity(nodeSuite)): Promise<TestClient> {
  const c = await TestClient.connect(url, id);
  clients.push(c);
  return c;
}

/** A full 61,440-byte plaintext → a 61,662-byte envelope, the size the issue measured. */
const BIG_PLAINTEXT = 61_440;

function seal(from: TestClient, to: Uint8Array, plaintextBytes = BIG_PLAINTEXT): Uint8Array {
  return sealEnvelope(nodeSuite, {
    type: EnvelopeType.DATA,
    sender: from.identity,
    recipient: to,
    plaintext: randomBytes(plaintextBytes),
  });
}

/**
 * The recipient's budget without a relay-allowance grant (RECIPIENT_BUSY_BYTES): a grant lets a
 * fast reader absorb a burst this size whole; apps/rendezvous/test/relay-allowance.test.ts covers it.
 */
const NO_GRANTS = { RELAY_ALLOWANCE_TOTAL_BYTES: '0' };
const codeOf = (f: Frame) => (f.type === FrameType.ERROR ? f.code : f.type === FrameType.ACK ? 'ACK' : 'OTHER');
const delivered = (c: TestClient) => c.frames.filter((f) => f.type === FrameType.DELIVER).length;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pause = (c: TestClient) => (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();

/** Wait until `cond` holds, polling every 20 ms, at most `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

describe('item 3: honest fast readers are not cut', () => {
  /** `senders` keys each mailbox `each` big envelopes for `victim` (all QUEUED); returns them in mailbox order. */
  async function fillMailbox(url: string, victim: Uint8Array, senders: number, each: number): Promise<Uint8Array[]> {
    const all = await Promise.all(Array.from({ length: senders }, () => client(url)));
    const envs: Uint8Array[] = [];
    for (const snd of all) {
      for (let i = 1; i <= each; i++) {
        const e = seal(snd, victim);
        envs.push(e);
        snd.relay(i, victim, e);
      }
      for (let i = 1; i <= each; i++)
        expect(await snd.answer(i, 15_000)).toEqual({ type: FrameType.ACK, frameId: i, status: AckStatus.QUEUED });
    }
    return envs;
  }

  /** The next `envs.length` DELIVERs are exactly `envs`, in order. */
  async function expectDelivered(c: TestClient, envs: Uint8Array[]): Promise<void> {
    for (const [i, e] of envs.entries()) {
      const d = await c.next((f) => f.type === FrameType.DELIVER, 20_000);
      expect(d.type === FrameType.DELIVER && Buffer.from(d.envelope).equals(Buffer.from(e)), `envelope ${i}`).toBe(
        true,
      );
    }
  }

  it('a recipient connecting to a full mailbox (68 × 61,662 B) reads it all, in order, and is never cut', async () => {
    const s = await startApp();
    apps.push(s.app);
    const victim = generateIdentity(nodeSuite);
    // Four senders (each within its per-sender share) fill the mailbox to MAILBOX_MAX_BYTES.
    const envs = await fillMailbox(s.url, victim.publicKey, 4, 17);
    expect(envs[0]!.length).toBe(61_662);
    expect(envs.reduce((n, e) => n + e.length, 0)).toBeLessThanOrEqual(s.app.config.mailboxMaxBytes);
    const fast = await client(s.url, victim);
    await expectDelivered(fast, envs);
    expect(fast.closeCode).toBeNull();
    expect(s.app.stats.drops.slow_reader).toBe(0);
    expect(s.app.stats.mailboxDelivered).toBe(68);
  }, 60_000);

  it('mailbox delivery is paced by the socket: a session that stops reading gets only what its socket takes, and what was not sent goes back, in order, to the next session', async () => {
    // A mailbox (15.8 MB) well beyond what the kernel's socket buffers can absorb.
    const s = await startApp({
      MAILBOX_MAX_BYTES: String(16 * 1024 * 1024),
      MAILBOX_MAX_MESSAGES: '512',
      MAILBOX_MAX_BYTES_PER_SENDER: String(4 * 1024 * 1024),
    });
    apps.push(s.app);
    const victim = generateIdentity(nodeSuite);
    const envs = await fillMailbox(s.url, victim.publicKey, 4, 64);
    const stuck = await TestClient.open(s.url, victim);
    stuck.sendHello();
    pause(stuck); // reads nothing from here on, not even WELCOME
    await until(() => s.app.stats.mailboxDelivered > 0, 5_000, 'first mailbox frames');
    let last = -1;
    for (let i = 0; i < 50 && last !== s.app.stats.mailboxDelivered; i++) {
      last = s.app.stats.mailboxDelivered;
      await sleep(100);
    }
    const sent = s.app.stats.mailboxDelivered;
    expect(sent).toBeLessThan(envs.length); // not dumped into its queue
    expect(s.app.stats.drops.slow_reader).toBe(0);
    stuck.ws.terminate();
    await until(() => s.app.hub.all.size === 4, 5_000, 'server saw the close');
    const fast = await client(s.url, victim);
    await expectDelivered(fast, envs.slice(sent));
    expect(fast.closeCode).toBeNull();
    expect(s.app.stats.drops.slow_reader).toBe(0);
    expect(s.app.stats.mailboxDelivered).toBe(envs.length);
  }, 60_000);

  it('a session that stops reading mid-delivery is cut after SLOW_READER_TIMEOUT_MS without progress (the taken mail does not wait in memory for the heartbeat), and its mail goes back', async () => {
    const s = await startApp({
      MAILBOX_MAX_BYTES: String(16 * 1024 * 1024),
      MAILBOX_MAX_MESSAGES: '512',
      MAILBOX_MAX_BYTES_PER_SENDER: String(4 * 1024 * 1024),
      SLOW_READER_TIMEOUT_MS: '1000',
    });
    apps.push(s.app);
    const victim = generateIdentity(nodeSuite);
    const envs = await fillMailbox(s.url, victim.publicKey, 4, 64);
    const stuck = await TestClient.open(s.url, victim);
    stuck.sendHello();
    pause(stuck);
    await until(() => s.app.stats.drops.slow_reader === 1, 10_000, 'the stuck session cut');
    const sent = s.app.stats.mailboxDelivered;
    expect(sent).toBeLessThan(envs.length);
    await until(() => s.app.hub.all.size === 4 || stuck.closeCode !== null, 5_000, 'the stuck socket let go');
    stuck.ws.terminate();
    const fast = await client(s.url, victim);
    await expectDelivered(fast, envs.slice(sent));
    expect(fast.closeCode).toBeNull();
  }, 60_000);

  it("one sender's 128-message burst (7.5 MiB) is refused to that sender past the recipient's budget; the recipient is not cut, and the sender's retries get everything through", async () => {
    const s = await startApp(NO_GRANTS);
    apps.push(s.app);
    const alice = await client(s.url);
    const bob = await client(s.url);
    const envs = Array.from({ length: 128 }, () => seal(alice, bob.key));
    for (let i = 0; i < 128; i++) alice.relay(i + 1, bob.key, envs[i]);
    const codes: string[] = [];
    for (let i = 1; i <= 128; i++) codes.push(codeOf(await alice.answer(i, 20_000)));
    const acked = codes.filter((c) => c === 'ACK').length;
    const busy = codes.filter((c) => c === 'RDV_ERR_RECIPIENT_BUSY').length;
    expect(acked + busy).toBe(128); // exactly one answer each, nothing else
    expect(busy).toBeGreaterThan(0);
    await until(() => delivered(bob) >= acked, 20_000, 'bob reads the accepted ones');
    expect(bob.closeCode).toBeNull();
    expect(s.app.stats.drops.slow_reader).toBe(0);

    // The sender backs off and resends what was refused: bounded rounds, everything arrives.
    let todo = codes.flatMap((c, i) => (c === 'ACK' ? [] : [i]));
    let frameId = 1000;
    for (let round = 0; round < 60 && todo.length > 0; round++) {
      await sleep(50 * Math.min(2 ** round, 8));
      const ids = todo.map((i) => {
        alice.relay(++frameId, bob.key, envs[i]);
        return [frameId, i] as const;
      });
      const next: number[] = [];
      for (const [id, i] of ids) {
        const c = codeOf(await alice.answer(id, 20_000));
        // The burst also spent alice's own byte bucket: both answers mean "later".
        if (c === 'RDV_ERR_RECIPIENT_BUSY' || c === 'RDV_ERR_RATE_LIMITED') next.push(i);
        else expect(c).toBe('ACK');
      }
      todo = next;
    }
    expect(todo).toEqual([]);
    await until(() => delivered(bob) === 128, 20_000, 'all 128 delivered');
    expect(bob.closeCode).toBeNull();
    expect(s.app.stats.drops.slow_reader).toBe(0);
  }, 60_000);

  it('a stranger streaming junk at its own rate limit gets RDV_ERR_RECIPIENT_BUSY or RATE_LIMITED; the victim keeps reading and is never cut', async () => {
    const s = await startApp(NO_GRANTS);
    apps.push(s.app);
    const mallory = await client(s.url);
    const victim = await client(s.url);
    const alice = await client(s.url);
    // Junk: structurally valid envelopes from mallory's own key (live relays are not verified
    // by the server; the victim would drop them). One is reused: the server does not care.
    const junk = seal(mallory, victim.key, 60_000);
    let frameId = 0;
    const end = Date.now() + 3_000;
    while (Date.now() < end) {
      // As fast as the socket takes it (the first 8 MiB are mallory's burst allowance, then
      // its 4 MiB/s byte bucket): mallory streams at its own rate limit.
      for (let i = 0; i < 140 && mallory.ws.bufferedAmount < 8 * 1024 * 1024; i++)
        mallory.relay(++frameId, victim.key, junk);
      await sleep(20);
    }
    const codes: string[] = [];
    for (let i = 1; i <= frameId; i++) codes.push(codeOf(await mallory.answer(i, 20_000)));
    expect(codes.filter((c) => !['ACK', 'RDV_ERR_RECIPIENT_BUSY', 'RDV_ERR_RATE_LIMITED'].includes(c))).toEqual([]);
    expect(codes.filter((c) => c === 'RDV_ERR_RECIPIENT_BUSY').length).toBeGreaterThan(0);
    expect(victim.closeCode).toBeNull();
    expect(s.app.stats.drops.slow_reader).toBe(0);
    // The victim is still reachable by its friends.
    alice.relay(1, victim.key, seal(alice, victim.key, 100));
    expect(await alice.answer(1)).toEqual({ type: FrameType.ACK, frameId: 1, status: AckStatus.DELIVERED });
  }, 60_000);

  it('a reader that stops reading is still cut, after SLOW_READER_TIMEOUT_MS without progress (not on a spike)', async () => {
    const s = await startApp({ SLOW_READER_TIMEOUT_MS: '1000' });
    apps.push(s.app);
    const alice = await client(s.url);
    const bob = await client(s.url);
    pause(bob);
    const env = seal(alice, bob.key);
    const t0 = Date.now();
    // Fill bob's kernel buffers and then his queue past RECIPIENT_BUSY_BYTES (bounded).
    for (let i = 1; i <= 400 && s.app.stats.drops.recipient_busy === 0; i++) {
      alice.relay(i, bob.key, env);
      if (i % 8 === 0) await sleep(10);
    }
    expect(s.app.stats.drops.recipient_busy).toBeGreaterThan(0);
    await until(() => s.app.stats.drops.slow_reader === 1, 10_000, 'bob cut');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(s.app.hub.sessions.has(Buffer.from(bob.key).toString('latin1'))).toBe(false);
    bob.ws.terminate();
  }, 30_000);
});
