/**
 * Offline delivery that lasts days (issue 13), through a real rendezvous server in this process
 * (memory broker, its default 7-day MAILBOX_TTL_S) and real clients on 127.0.0.1. The clients'
 * clock is injected (`ClientInit.now`) and moved three days ahead; the server keeps real time.
 *
 * Bob goes offline; Alice's session packets to him are answered PEER_OFFLINE, so she closes the
 * session and sends PREKEY packets sealed to Bob's bundle (pushed to her inside the session),
 * which the server mailboxes. Alice restarts in between (a day later by her clock) and sends
 * more. Bob comes back three days later: every message arrives exactly once, in order — a
 * prekey message has no clock window, only sequence numbers and ids.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type P2PClient } from '../src/index.js';
import type { ClientInit } from '../src/sdk/config.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const DAY_MS = 24 * 60 * 60_000;
const MESSAGES = 12;

async function peer(
  url: string,
  name: string,
  init: Partial<ClientInit> & { home: string },
  before?: (c: P2PClient) => void,
): Promise<P2PClient> {
  const c = createClient({ server: url, paths: { webrtc: false }, ...init });
  before?.(c); // listeners in place before the mailbox arrives on connect
  await c.start();
  cleanups.push(() => c.stop());
  c.setName(name);
  await c.waitForServer();
  return c;
}

describe('offline for three days', () => {
  it('a recipient offline for 3 days, its sender restarted in between, gets every message once, in order', {
    timeout: 90_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    let offset = 0;
    const now = () => Date.now() + offset;
    const aliceHome = tempHome('p2p-3d-');
    const bobHome = tempHome('p2p-3d-');
    cleanups.push(aliceHome.cleanup, bobHome.cleanup);
    let alice = await peer(srv.url, 'Alice', { home: aliceHome.home, now });
    let bob = await peer(srv.url, 'Bob', { home: bobHome.home, now });
    bob.on('consent.request', (r) => bob.respondConsent(r.requestId, true));
    alice.connect(bob.id().share);
    const bobKey = bob.id().key;
    await waitFor(() => alice.session.peerInfo(bobKey).state === 'trusted', 10_000, 'trust');
    // One message live: the session is made and Bob's prekey bundle reaches Alice inside it.
    alice.send('Bob', { text: 'hello' });
    await waitFor(() => alice.session.peerInfo(bobKey).pending === 0, 10_000, 'hello acked');
    await bob.stop();

    const half = MESSAGES / 2;
    for (let i = 0; i < half; i++) alice.send('Bob', { text: `m${i}` });
    // The session packets bounce (PEER_OFFLINE): resent as PREKEY packets, stored by the server.
    await waitFor(() => alice.session.counters.sentPrekey >= half, 10_000, 'first half to the mailbox');
    expect(alice.session.sessions.has(bobKey)).toBe(false);
    await new Promise((r) => setTimeout(r, 300)); // the server's QUEUED answers
    await alice.stop();

    offset = DAY_MS; // Alice is back a day later (her clock), a new process from the same home
    alice = await peer(srv.url, 'Alice', { home: aliceHome.home, now });
    for (let i = half; i < MESSAGES; i++) alice.send('Bob', { text: `m${i}` });
    await waitFor(() => alice.session.counters.sentPrekey >= half, 10_000, 'second half to the mailbox');
    await new Promise((r) => setTimeout(r, 300));

    offset = 3 * DAY_MS; // Bob comes back three days after he left
    const got: string[] = [];
    const codes: string[] = [];
    bob = await peer(srv.url, 'Bob', { home: bobHome.home, now }, (c) => {
      c.on('message.received', (m) => got.push(m.text ?? ''));
      c.on('rejected', (r) => codes.push(r.code));
    });
    await waitFor(() => got.length >= MESSAGES, 20_000, 'every message after three days');
    await waitFor(() => alice.session.peerInfo(bobKey).pending === 0, 20_000, 'every message acked');
    await new Promise((r) => setTimeout(r, 500)); // late copies, if any, would show up now
    expect(got).toEqual(Array.from({ length: MESSAGES }, (_, i) => `m${i}`));
    expect(codes.filter((c) => c === 'PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW')).toEqual([]);
    expect(bob.session.counters.delivered).toBe(MESSAGES);
  });
});
