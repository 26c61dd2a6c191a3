/**
 * The sender chooses how long the mailbox keeps its messages (ClientInit.mailboxTtlMs → RELAY_TTL,
 * clamped to the server's WELCOME mailboxTtlMs), through a real rendezvous server in this process
 * and real clients. The server has no injected clock, so the TTL is a real 2 s: a message to an
 * offline peer is gone from the mailbox after it; the peer coming back gets nothing from the
 * mailbox, and the sender's MAILBOX_RESEND_AFTER_MS resend (shortened here) delivers it live.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type P2PClient } from '../src/index.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startPeer(
  server: string,
  name: string,
  opts: { home?: string; extra?: object; before?: (c: P2PClient) => void } = {},
) {
  let dir = opts.home;
  if (dir === undefined) {
    const t = tempHome();
    cleanups.push(t.cleanup);
    dir = t.home;
  }
  const client = createClient({ home: dir, server, paths: { webrtc: false }, ...opts.extra });
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

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} missing from /metrics`);
  return Number(line.split(' ').at(-1));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sender-chosen mailbox TTL', () => {
  it('validates mailboxTtlMs', () => {
    const t = tempHome();
    cleanups.push(t.cleanup);
    for (const bad of [0, 999, 1.5, '2000', 366 * 86_400_000])
      expect(() => createClient({ home: t.home, mailboxTtlMs: bad as number })).toThrow(/mailboxTtlMs/);
  });

  it('a 2 s TTL: the offline peer comes back to an empty mailbox; the resend delivers it live', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous(); // MAILBOX_TTL_S: the default 7 days
    cleanups.push(() => srv.close());
    const RESEND_MS = 6_000;
    const alice = await startPeer(srv.url, 'Alice', {
      extra: { mailboxTtlMs: 2_000, mailboxResendAfterMs: RESEND_MS },
    });
    expect(alice.client.rendezvous?.welcome?.mailboxTtlMs).toBe(7 * 86_400_000);
    let bob = await startPeer(srv.url, 'Bob');
    await trust(alice.client, bob.client);
    const bobKey = bob.client.id().key;
    await bob.client.stop();
    const end = Date.now() + 5_000;
    while ((await metric(srv.port, 'rdv_connections')) !== 1 && Date.now() < end) await sleep(50);
    let queuedAt = 0;
    alice.client.rendezvous!.on('frame-ack', (_to, _id, queued) => {
      if (queued && queuedAt === 0) queuedAt = Date.now();
    });
    const sent = alice.client.send(bobKey, { text: 'short-lived' }).id;
    await waitFor(() => queuedAt > 0, 10_000, 'stored in the mailbox (ACK QUEUED)');

    await sleep(Math.max(0, queuedAt + 2_500 - Date.now())); // past the 2 s TTL, before the resend
    const deliveredBefore = await metric(srv.port, 'rdv_mailbox_delivered_total');
    const got: string[] = [];
    bob = await startPeer(srv.url, 'Bob', {
      home: bob.home,
      before: (c) => c.on('message.received', (m) => got.push(m.id)),
    });
    await waitFor(() => got.length === 1, 15_000, 'the resend, live');
    expect(got).toEqual([sent]);
    // Nothing came from the mailbox (the copy had expired): the message arrived live.
    expect(await metric(srv.port, 'rdv_mailbox_delivered_total')).toBe(deliveredBefore);
    await sleep(500);
    expect(got).toEqual([sent]);
  });
});
