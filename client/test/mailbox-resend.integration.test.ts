/**
 * Sender behaviour with a mailbox (issue 13), through a real rendezvous server in this process
 * (memory broker) and real clients over real sockets:
 * - QUEUED means stored: messages to an offline peer are parked, not resent every retransmit
 *   round. Before, 64 messages became 256 mailbox copies in 10 s and a third sender was refused
 *   RDV_ERR_MAILBOX_FULL (reproduced here with the per-sender share as large as the mailbox).
 * - A mailbox that is lost (the server restarted; its memory broker is gone) is refilled: the
 *   sender resends parked messages when its server connection comes back. Nothing is lost.
 * - After MAILBOX_RESEND_AFTER_MS (shortened here) parked messages are resent once; the server
 *   dedupes them by (sender, message id), so the mailbox still holds one copy of each.
 * - Mailbox copies are v2 PREKEY packets (sealed to the recipient's bundle, fetched from the
 *   server): one that waited past the v1 envelopes' ±5 min window is accepted as it is.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createClient, type P2PClient } from '../src/index.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Peer {
  client: P2PClient;
  home: string;
}

async function startPeer(
  server: string,
  name: string,
  opts: { home?: string; mailboxResendAfterMs?: number; before?: (c: P2PClient) => void } = {},
): Promise<Peer> {
  const { home, mailboxResendAfterMs } = opts;
  let dir = home;
  if (dir === undefined) {
    const t = tempHome();
    cleanups.push(t.cleanup);
    dir = t.home;
  }
  const client = createClient({
    home: dir,
    server,
    paths: { webrtc: false },
    ...(mailboxResendAfterMs !== undefined ? { mailboxResendAfterMs } : {}),
  });
  opts.before?.(client); // listeners in place before the mailbox arrives on connect
  await client.start();
  cleanups.push(() => client.stop());
  client.setName(name);
  await client.waitForServer();
  return { client, home: dir };
}

async function trust(a: P2PClient, b: P2PClient): Promise<void> {
  const accept = (r: { requestId: string }) => b.respondConsent(r.requestId, true);
  b.on('consent.request', accept);
  a.connect(b.id().share);
  await waitFor(
    () => a.session.peerInfo(b.id().key).state === 'trusted' && b.session.peerInfo(a.id().key).state === 'trusted',
    10_000,
    'mutual trust',
  );
  b.off('consent.request', accept);
}

/** One sample of a metric on the server's /metrics (exact name with labels), or throw. */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} missing from /metrics`);
  return Number(line.split(' ').at(-1));
}

/** Poll an async condition every 50 ms, at most `timeoutMs`. */
async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sender behaviour with a mailbox', () => {
  it('64 messages to an offline peer over ~10 s: 64 mailbox copies (not 256), a third sender fits, each delivered once, in order', {
    timeout: 90_000,
  }, async () => {
    // The setting: one sender may fill the whole mailbox (256), as before per-sender shares.
    const srv = await startRendezvous({ MAILBOX_MAX_MESSAGES: '256', MAILBOX_MAX_MESSAGES_PER_SENDER: '256' });
    cleanups.push(() => srv.close());
    const alice = await startPeer(srv.url, 'Alice');
    const carol = await startPeer(srv.url, 'Carol');
    let bob = await startPeer(srv.url, 'Bob');
    await trust(alice.client, bob.client);
    await trust(carol.client, bob.client);
    const bobKey = bob.client.id().key;
    await bob.client.stop(); // offline: RELAY frames to Bob go to his mailbox
    await until(async () => (await metric(srv.port, 'rdv_connections')) === 2, 5_000, 'Bob gone from the server');

    const queuedAnswers: string[] = [];
    alice.client.rendezvous!.on('frame-ack', (_to, _id, queued) => queuedAnswers.push(queued ? 'queued' : 'live'));
    const sent: string[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 64; i++) {
      sent.push(alice.client.send(bobKey, { text: `a${i}` }).id);
      await sleep(150); // 64 × 150 ms ≈ 9.6 s: retransmit rounds at ~1, 3 and 7 s fall inside
    }
    await sleep(Math.max(0, 12_000 - (Date.now() - t0)));
    expect(queuedAnswers.filter((a) => a === 'queued').length).toBe(64);
    expect(await metric(srv.port, 'rdv_mailbox_depth')).toBe(64);
    expect(alice.client.status().counters.retransmits).toBe(0);

    // A third sender is not refused.
    const carolSent: string[] = [];
    for (let i = 0; i < 64; i++) carolSent.push(carol.client.send(bobKey, { text: `c${i}` }).id);
    await until(async () => (await metric(srv.port, 'rdv_mailbox_depth')) === 128, 10_000, "Carol's 64 stored");
    expect(await metric(srv.port, 'rdv_drops_total{reason="mailbox_full"}')).toBe(0);
    expect(await metric(srv.port, 'rdv_drops_total{reason="mailbox_sender_full"}')).toBe(0);

    // Bob comes back: each message exactly once, in order per sender, and both senders see them acked.
    const aliceDelivered = new Set<string>();
    const carolDelivered = new Set<string>();
    alice.client.on('message.delivered', (d) => aliceDelivered.add(d.id));
    carol.client.on('message.delivered', (d) => carolDelivered.add(d.id));
    const got: Array<{ from: string; id: string; text: string }> = [];
    bob = await startPeer(srv.url, 'Bob', {
      home: bob.home,
      before: (c) => c.on('message.received', (m) => got.push({ from: m.from, id: m.id, text: m.text! })),
    });
    await waitFor(
      () => aliceDelivered.size === 64 && carolDelivered.size === 64,
      30_000,
      'every message acked to both senders',
    );
    await sleep(500); // a straggling duplicate would show
    const fromAlice = got.filter((g) => g.from === alice.client.id().key);
    const fromCarol = got.filter((g) => g.from === carol.client.id().key);
    expect(fromAlice.map((g) => g.id)).toEqual(sent);
    expect(fromAlice.map((g) => g.text)).toEqual(sent.map((_, i) => `a${i}`));
    expect(fromCarol.map((g) => g.id)).toEqual(carolSent);
    expect(got.length).toBe(128);
    expect(await metric(srv.port, 'rdv_mailbox_depth')).toBe(0);
    expect(alice.client.status().outbox.messages).toBe(0);
  });

  it('the mailbox is lost with its server (memory broker restarted): the sender resends on reconnect, nothing lost', {
    timeout: 90_000,
  }, async () => {
    let srv = await startRendezvous();
    const port = srv.port;
    cleanups.push(() => srv.close());
    const alice = await startPeer(srv.url, 'Alice');
    let bob = await startPeer(srv.url, 'Bob');
    await trust(alice.client, bob.client);
    const bobKey = bob.client.id().key;
    await bob.client.stop();
    await until(async () => (await metric(port, 'rdv_connections')) === 1, 5_000, 'Bob gone from the server');

    const sent: string[] = [];
    for (let i = 0; i < 10; i++) sent.push(alice.client.send(bobKey, { text: `m${i}` }).id);
    await until(async () => (await metric(port, 'rdv_mailbox_depth')) === 10, 10_000, '10 stored');
    await sleep(2_500); // past the first retransmit timeout: parked, nothing resent
    expect(await metric(port, 'rdv_mailbox_queued_total')).toBe(10);
    expect(alice.client.status().counters.retransmits).toBe(0);

    // The server goes away with its memory mailbox; a fresh one takes the same port.
    await srv.close();
    srv = await startRendezvous({ PORT: String(port) });
    await alice.client.waitForServer(20_000);
    await until(async () => (await metric(port, 'rdv_mailbox_depth')) === 10, 10_000, 'resent into the new mailbox');

    const delivered = new Set<string>();
    alice.client.on('message.delivered', (d) => delivered.add(d.id));
    const got: string[] = [];
    bob = await startPeer(srv.url, 'Bob', {
      home: bob.home,
      before: (c) => c.on('message.received', (m) => got.push(m.id)),
    });
    await waitFor(() => delivered.size === 10, 20_000, 'all 10 acked');
    await sleep(500);
    expect(got).toEqual(sent);
    expect(bob.client.status().counters.duplicates).toBe(0);
  });

  it('parked messages are resent after mailboxResendAfterMs; the server dedupes them (one copy each)', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await startPeer(srv.url, 'Alice', { mailboxResendAfterMs: 3_000 });
    const bob = await startPeer(srv.url, 'Bob');
    await trust(alice.client, bob.client);
    const bobKey = bob.client.id().key;
    await bob.client.stop();
    await until(async () => (await metric(srv.port, 'rdv_connections')) === 1, 5_000, 'Bob gone from the server');

    for (let i = 0; i < 5; i++) alice.client.send(bobKey, { text: `m${i}` });
    await until(async () => (await metric(srv.port, 'rdv_mailbox_depth')) === 5, 10_000, '5 stored');
    await sleep(2_000); // the 1 s retransmit timeout has passed: nothing resent yet
    expect(await metric(srv.port, 'rdv_mailbox_duplicates_total')).toBe(0);
    expect(alice.client.status().counters.retransmits).toBe(0);
    await until(
      async () => (await metric(srv.port, 'rdv_mailbox_duplicates_total')) === 5,
      10_000,
      'the long timeout resends the 5, answered as already stored',
    );
    expect(alice.client.status().counters.retransmits).toBe(5);
    expect(await metric(srv.port, 'rdv_mailbox_depth')).toBe(5);
    expect(await metric(srv.port, 'rdv_mailbox_queued_total')).toBe(5);
  });

  it('copies that waited past the v1 ±5 min window are accepted: they are PREKEY packets, which have no clock window', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await startPeer(srv.url, 'Alice'); // default MAILBOX_RESEND_AFTER_MS: 10 min
    const bob = await startPeer(srv.url, 'Bob');
    await trust(alice.client, bob.client);
    const bobKey = bob.client.id().key;
    const bobHome = bob.home;
    await bob.client.stop();
    await until(async () => (await metric(srv.port, 'rdv_connections')) === 1, 5_000, 'Bob gone from the server');
    for (let i = 0; i < 3; i++) alice.client.send(bobKey, { text: `late ${i}` });
    await until(async () => (await metric(srv.port, 'rdv_mailbox_depth')) === 3, 10_000, '3 stored');

    // Six minutes pass (the whole process: server, Alice and Bob share the clock; timers stay real).
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + 6 * 60_000);
    const got: string[] = [];
    const codes: string[] = [];
    await startPeer(srv.url, 'Bob', {
      home: bobHome,
      before: (c) => {
        c.on('message.received', (m) => got.push(m.text!));
        c.on('rejected', (r) => codes.push(r.code));
      },
    });
    await waitFor(() => got.length === 3, 15_000, 'the stored copies, six minutes old');
    expect(got).toEqual(['late 0', 'late 1', 'late 2']);
    expect(codes).not.toContain('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW');
    expect(await metric(srv.port, 'rdv_mailbox_queued_total')).toBe(3); // no fresh copies were needed
    await waitFor(() => alice.client.status().outbox.messages === 0, 10_000, 'all acked');
  });
});
