/**
 * Issue 12, item 10 (client part): addresses someone else hands the client.
 *
 * Attack reproduced on a9e1cb0: a trusted peer's published direct addresses (the signed `addrs`
 * negotiation relayed by the rendezvous server) and mDNS answers (which anyone on the LAN can
 * send, for any key) were dialed whatever they were: 127.0.0.1, ::ffff:127.0.0.1, 0.0.0.0 or a
 * multicast group. The direct handshake fails against the wrong key, but only after the TCP
 * connect and the HTTP upgrade request reached the target: a peer could make the client knock
 * on services of its own host.
 *
 * What must hold (client/src/transports/address-policy.ts, PathUpgrader.addAddress): loopback,
 * link-local, multicast, unspecified and broadcast addresses (IPv4, IPv6, IPv4-mapped) are
 * never dialed unless configured (`paths.allowLoopbackAddresses`, `paths.allowLinkLocalAddresses`).
 *
 * Each test runs the attack against a client with the default configuration (nothing reaches
 * the trap, a TCP listener on 127.0.0.1 that counts connections) and, as a control that shows
 * the test can see a dial, against a client configured for a one-machine lab (the trap is hit).
 */
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type P2PClient } from '../../client/src/index.js';
import type { PathsInit } from '../../client/src/sdk/config.js';
import { MdnsDiscovery } from '../../client/src/transports/mdns-discovery.js';
import { startRendezvous, tempHome, waitFor } from '../../client/test/helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TIMINGS = { tickMs: 200, retryBaseMs: 300 };
/** How long a client gets to dial what it was handed; it dials within one tick (200 ms). */
const DIAL_GRACE_MS = 2_000;

async function trap(): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server: Server = createServer((socket) => {
    hits++;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port: (server.address() as { port: number }).port, hits: () => hits };
}

async function peer(server: string, name: string, paths: PathsInit): Promise<P2PClient> {
  const { home, cleanup } = tempHome();
  const c = createClient({ home, server, paths: { webrtc: false, timings: TIMINGS, ...paths } });
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

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('item 10: peer-supplied addresses are not dialed when local-only', () => {
  it("a trusted peer's published loopback/unspecified addresses are refused; dialed only when configured", {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const t = await trap();
    // Bob publishes (signed, through the rendezvous) addresses that all lead to this host.
    const hostile = ['127.0.0.1', '::ffff:127.0.0.1', '0.0.0.0', '224.0.0.1'].map((host) => ({ host, port: t.port }));
    const bob = await peer(srv.url, 'Bob', { listen: { host: '127.0.0.1', port: 0, advertise: hostile } });

    const alice = await peer(srv.url, 'Alice', {});
    await befriend(alice, bob);
    alice.send('Bob', { text: 'hello' });
    await waitFor(
      () => alice.upgrader.refusedAddresses >= hostile.length || t.hits() > 0,
      10_000,
      'addresses arrive and are refused',
    );
    await new Promise((r) => setTimeout(r, DIAL_GRACE_MS));
    expect(t.hits()).toBe(0);
    expect(alice.paths.best(bob.id().key)?.kind).toBe('relay');

    // Control: a one-machine lab allows loopback, and the same addresses are dialed.
    const lab = await peer(srv.url, 'Lab', { allowLoopbackAddresses: true });
    await befriend(lab, bob);
    lab.send('Bob', { text: 'hello' });
    await waitFor(() => t.hits() > 0, 10_000, 'the lab client dials the loopback address');
  });

  it('mDNS answers for a trusted key with loopback, link-local or multicast addresses are refused', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const t = await trap();
    const mdns = { interface: '127.0.0.1', port: await freeUdpPort() };
    const bob = await peer(srv.url, 'Bob', {});
    const alice = await peer(srv.url, 'Alice', { mdns });
    await befriend(alice, bob);

    // Anyone on the LAN can announce Bob's key at any address.
    const liar = new MdnsDiscovery({
      socket: mdns,
      announce: {
        key: bob.identity.publicKey,
        port: t.port,
        addresses: ['127.0.0.1', '169.254.7.7', '224.0.0.251', '::ffff:7f00:1'],
      },
      wants: () => false,
      onHint: () => {},
    });
    await liar.start();
    cleanups.push(() => liar.stop());
    alice.send('Bob', { text: 'hello' });
    await waitFor(
      () => alice.upgrader.refusedAddresses >= 4 || t.hits() > 0,
      10_000,
      'mDNS hints arrive and are refused',
    );
    await new Promise((r) => setTimeout(r, DIAL_GRACE_MS));
    expect(t.hits()).toBe(0);

    // Control: the same announcement, heard by a client configured for a one-machine lab.
    const lab = await peer(srv.url, 'Lab', { mdns, allowLoopbackAddresses: true });
    await befriend(lab, bob);
    lab.send('Bob', { text: 'hello' });
    liar.announce();
    await waitFor(() => t.hits() > 0, 10_000, 'the lab client dials the loopback hint');
  });
});
