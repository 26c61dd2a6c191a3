/**
 * Path choice end to end, on loopback, through a real rendezvous server: relay first, upgrade
 * to WebRTC mid-conversation, fall back when WebRTC dies; direct with a wrong key fails closed.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type P2PClient } from '../../src/index.js';
import type { PathsInit } from '../../src/sdk/config.js';
import { DirectListener } from '../../src/transports/direct-listener.js';
import { startRendezvous, tempHome, waitFor } from '../helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer(server: string, name: string, paths: PathsInit): Promise<P2PClient> {
  const { home, cleanup } = tempHome();
  // One machine: peers' addresses are loopback, which only this option lets the client dial.
  const c = createClient({ home, server, paths: { allowLoopbackAddresses: true, ...paths } });
  await c.start();
  c.setName(name);
  cleanups.push(cleanup, () => c.stop());
  await c.waitForServer();
  return c;
}

async function befriend(a: P2PClient, b: P2PClient): Promise<void> {
  b.on('consent.request', (r) => b.respondConsent(r.requestId, true));
  a.connect(b.id().share);
  await waitFor(() => a.session.peerInfo(b.id().key).state === 'trusted', 10_000, 'consent');
  await waitFor(() => b.session.peerInfo(a.id().key).state === 'trusted', 10_000, 'consent back');
}

/** A port with nothing listening on it (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const TIMINGS = { tickMs: 200, retryBaseMs: 300, webrtcPingIntervalMs: 300, webrtcDeadAfterMs: 1_500 };

describe('path choice and switching (loopback)', () => {
  it('1,000 messages across relay → WebRTC upgrade → WebRTC killed → relay arrive exactly once, in order', {
    timeout: 120_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice', { webrtc: true, timings: TIMINGS });
    const bob = await peer(srv.url, 'Bob', { webrtc: false, timings: TIMINGS });
    await befriend(alice, bob);
    const bobKey = bob.id().key;
    const aliceKey = alice.id().key;
    // Bob's direct listener is unreachable: Alice only has a dead address for it.
    alice.upgrader.addAddress(bob.identity.publicKey, { host: '127.0.0.1', port: await closedPort() });

    const got: string[] = [];
    const via = new Map<string, number>();
    bob.on('message.received', (m) => {
      if (m.from === aliceKey) {
        got.push(m.text!);
        via.set(m.via, (via.get(m.via) ?? 0) + 1);
      }
    });
    let delivered = 0;
    alice.on('message.delivered', () => delivered++);
    const best = () => alice.paths.best(bobKey)?.kind;
    let sent = 0;
    const sendBatch = async (n: number) => {
      for (let i = 0; i < n && sent < 1_000; i++) alice.send('Bob', { text: `m${sent++}` });
      await new Promise((r) => setTimeout(r, 30));
    };

    // Phase 1: relay only. The first message does not wait for any attempt.
    const t0 = Date.now();
    await sendBatch(1);
    await waitFor(() => got.length === 1, 5_000, 'first message');
    expect(Date.now() - t0).toBeLessThan(2_000);
    for (let b = 0; b < 6; b++) await sendBatch(50);
    await waitFor(() => /direct: unreachable/.test(alice.paths.status(bobKey)), 10_000, 'direct failure reported');
    await waitFor(() => /webrtc: disabled by peer/.test(alice.paths.status(bobKey)), 10_000, 'webrtc refusal');
    expect(best()).toBe('relay');

    // Phase 2: Bob enables WebRTC mid-conversation; traffic moves to it while messages flow.
    bob.upgrader.setWebrtcEnabled(true);
    while (best() !== 'webrtc' && sent < 600) await sendBatch(10);
    await waitFor(() => best() === 'webrtc', 20_000, 'upgrade to webrtc');
    expect(alice.paths.status(bobKey)).toMatch(/^webrtc: connected/);
    while (sent < 700) await sendBatch(25);
    await waitFor(() => (via.get('webrtc') ?? 0) > 0, 10_000, 'messages over webrtc');

    // Phase 3: WebRTC dies (Bob turns it off and drops the channel); traffic falls back.
    bob.upgrader.setWebrtcEnabled(false);
    while (sent < 1_000) await sendBatch(25);
    await waitFor(() => best() === 'relay', 10_000, 'fallback to relay');
    await waitFor(() => got.length >= 1_000, 60_000, `all messages (got ${got.length})`);
    await waitFor(() => delivered === 1_000, 30_000, 'all acks');
    await new Promise((r) => setTimeout(r, 300));

    expect(sent).toBe(1_000);
    expect(got).toHaveLength(1_000);
    expect(bob.status().counters.delivered).toBe(1_000);
    expect(got).toEqual(Array.from({ length: 1_000 }, (_, i) => `m${i}`));
    expect(via.get('relay')).toBeGreaterThan(0);
    expect(via.get('webrtc')).toBeGreaterThan(0);
    expect(alice.paths.status(bobKey)).toMatch(/^relay: connected.*webrtc: /);
    expect(alice.peers().find((p) => p.key === bobKey)?.path).toMatch(/^relay: connected/);
  });

  it('a direct address held by the wrong key fails closed; messages keep flowing on the relay', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice', { webrtc: false });
    const bob = await peer(srv.url, 'Bob', { webrtc: false });
    await befriend(alice, bob);
    const mallory = generateIdentity(nodeSuite);
    let malloryLinks = 0;
    const trap = new DirectListener({
      suite: nodeSuite,
      identity: mallory,
      host: '127.0.0.1',
      port: 0,
      acceptKey: () => true,
      onLink: () => malloryLinks++,
    });
    const { port } = await trap.start();
    cleanups.push(() => trap.stop());
    const got: string[] = [];
    bob.on('message.received', (m) => got.push(m.text!));
    const statusLines: string[] = [];
    alice.on('peer.status', (st) => statusLines.push(st.path));
    alice.upgrader.addAddress(bob.identity.publicKey, { host: '127.0.0.1', port });
    for (let i = 0; i < 20; i++) alice.send('Bob', { text: `x${i}` });
    const bobKey = bob.id().key;
    await waitFor(() => /direct: wrong key at address/.test(alice.paths.status(bobKey)), 10_000, 'wrong key');
    await waitFor(() => got.length === 20, 10_000, 'messages on relay');
    expect(alice.paths.best(bobKey)?.kind).toBe('relay');
    expect(malloryLinks).toBe(0);
    // The host hears why through peer.status (the CLI prints these lines).
    expect(statusLines.some((l) => /^relay: connected; direct: wrong key at address/.test(l))).toBe(true);
  });

  it('upgrades to a direct link when the peer listens, preferring it over the relay', { timeout: 60_000 }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice', { webrtc: false });
    const bob = await peer(srv.url, 'Bob', { webrtc: false, listen: { host: '127.0.0.1', port: 0 } });
    await befriend(alice, bob);
    const got: string[] = [];
    bob.on('message.received', (m) => got.push(`${m.via}:${m.text}`));
    const bobKey = bob.id().key;
    alice.send('Bob', { text: 'first' });
    // Bob publishes its listener address in a signed SIGNAL envelope; Alice dials and proves keys.
    await waitFor(() => alice.paths.best(bobKey)?.kind === 'direct', 15_000, 'direct upgrade');
    alice.send('Bob', { text: 'second' });
    await waitFor(() => got.length === 2, 10_000, 'both messages');
    expect(got[1]).toBe('direct:second');
    expect(bob.upgrader.listenAddress?.port).toBeGreaterThan(0);
  });

  it('finds a LAN peer by mDNS alone (loopback multicast) and upgrades to direct', { timeout: 60_000 }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const mdns = { interface: '127.0.0.1', port: await freeUdpPort() };
    const timings = { tickMs: 200, retryBaseMs: 300 };
    const alice = await peer(srv.url, 'Alice', { webrtc: false, mdns, timings });
    // Bob publishes no address through the rendezvous: only its mDNS announcement can lead to it.
    const bob = await peer(srv.url, 'Bob', {
      webrtc: false,
      mdns,
      timings,
      listen: { host: '127.0.0.1', port: 0, advertise: [] },
    });
    await befriend(alice, bob);
    const bobKey = bob.id().key;
    alice.send('Bob', { text: 'hello' });
    await waitFor(() => alice.paths.best(bobKey)?.kind === 'direct', 15_000, 'direct via mDNS');
    const got: string[] = [];
    bob.on('message.received', (m) => got.push(`${m.via}:${m.text}`));
    alice.send('Bob', { text: 'over lan' });
    await waitFor(() => got.includes('direct:over lan'), 10_000, 'message over direct');
  });

  it('refuses to start when the listener port is taken, with a typed error, and leaves nothing running', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const first = await peer(srv.url, 'First', { webrtc: false, listen: { host: '127.0.0.1', port: 0 } });
    const port = first.upgrader.listenAddress!.port;
    const { home, cleanup } = tempHome();
    cleanups.push(cleanup);
    const second = createClient({
      home,
      server: srv.url,
      paths: { webrtc: false, listen: { host: '127.0.0.1', port } },
    });
    await expect(second.start()).rejects.toMatchObject({ code: 'CLIENT_ERR_DIRECT_LISTENER' });
    // The home lock was released: the same home starts once the port is free.
    const third = createClient({ home, server: srv.url, paths: { webrtc: false } });
    await third.start();
    cleanups.push(() => third.stop());
    await third.waitForServer();
  });
});
