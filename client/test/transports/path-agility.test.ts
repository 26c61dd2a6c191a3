/**
 * Path agility on loopback (issue 18): simultaneous direct dials settle on one link chosen once;
 * an upgrade starts as soon as consent completes, not on the upgrader's next tick; and a path
 * that stops delivering while its socket stays open (a cut cable) loses the traffic to the next
 * path on the first stalled acks, long before its heartbeat would notice, with nothing lost.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { encodeKey, generateIdentity, type Identity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type P2PClient } from '../../src/index.js';
import type { PathsInit } from '../../src/sdk/config.js';
import { DIRECT_DEAD_AFTER_MS } from '../../src/transports/direct-constants.js';
import type { DirectLink } from '../../src/transports/direct-link.js';
import { PathUpgrader } from '../../src/transports/direct-paths.js';
import { PathManager } from '../../src/transports/path-manager.js';
import { freePort, startRendezvous, tempHome, waitFor } from '../helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Long enough that no tick runs during a test: what happens, happens because of an event. */
const NO_TICK = { tickMs: 600_000 };

function lowerKey(a: Identity, b: Identity): Identity {
  return Buffer.compare(Buffer.from(a.publicKey), Buffer.from(b.publicKey)) < 0 ? a : b;
}

async function listeningUpgrader(identity: Identity, friend: () => Identity) {
  const paths = new PathManager(() => {});
  let changes = 0;
  paths.onPathChange(() => changes++);
  const up = new PathUpgrader({
    suite: nodeSuite,
    identity,
    paths,
    conn: null,
    isTrusted: (k) => k === encodeKey(friend().publicKey),
    webrtc: false,
    listen: { host: '127.0.0.1', port: 0 },
    timings: NO_TICK,
    addressPolicy: { allowLoopback: true },
  });
  await up.start();
  cleanups.push(() => up.stop());
  return { up, paths, changes: () => changes };
}

describe('simultaneous direct dials', () => {
  it('both peers dial each other at once: one link, the lower key’s dial, chosen once (10 pairs)', {
    timeout: 60_000,
  }, async () => {
    for (let round = 0; round < 10; round++) {
      const a = generateIdentity(nodeSuite);
      const b = generateIdentity(nodeSuite);
      const A = await listeningUpgrader(a, () => b);
      const B = await listeningUpgrader(b, () => a);
      const aKey = encodeKey(a.publicKey);
      const bKey = encodeKey(b.publicKey);
      // Both learn the other's listener in the same turn: both dial.
      A.up.addAddress(b.publicKey, B.up.listenAddress!);
      B.up.addAddress(a.publicKey, A.up.listenAddress!);
      await waitFor(
        () => A.paths.best(bKey)?.kind === 'direct' && B.paths.best(aKey)?.kind === 'direct',
        10_000,
        `direct both ways (round ${round})`,
      );
      // Settle: a storm replaces links many times per second; a settled pair does nothing.
      await new Promise((r) => setTimeout(r, 600));
      const changesBefore = [A.changes(), B.changes()];
      await new Promise((r) => setTimeout(r, 600));
      expect([A.changes(), B.changes()], 'path changes after settling').toEqual(changesBefore);
      const la = A.paths.best(bKey) as DirectLink;
      const lb = B.paths.best(aKey) as DirectLink;
      expect(la.isOpen && lb.isOpen).toBe(true);
      // Both sides kept the same connection: the one the lower key dialed.
      const aIsLower = lowerKey(a, b) === a;
      expect(la.dialedByUs, `round ${round}`).toBe(aIsLower);
      expect(lb.dialedByUs, `round ${round}`).toBe(!aIsLower);
      expect(A.up.directDials).toBe(1);
      expect(B.up.directDials).toBe(1);
      // Each side installed at most the accepted link and then the winner.
      expect(A.up.directLinksInstalled).toBeLessThanOrEqual(2);
      expect(B.up.directLinksInstalled).toBeLessThanOrEqual(2);
      for (const c of cleanups.splice(0).reverse()) await c();
    }
  });
});

/**
 * A TCP forwarder that can be cut without closing anything: `cut()` stops moving bytes both
 * ways while both sockets stay open, as a pulled cable or a NAT that forgot the flow would.
 */
async function cuttableProxy(targetPort: number): Promise<{ port: number; cut: () => void; heal: () => void }> {
  let cutNow = false;
  const pairs: Array<[Socket, Socket]> = [];
  const server: Server = createServer((inbound) => {
    const outbound = createConnection(targetPort, '127.0.0.1');
    pairs.push([inbound, outbound]);
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (d) => {
        if (!cutNow) to.write(d);
      });
    forward(inbound, outbound);
    forward(outbound, inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', end).on('error', end);
    outbound.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const [x, y] of pairs) {
          x.destroy();
          y.destroy();
        }
        server.close(() => r());
      }),
  );
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      cutNow = true;
    },
    heal: () => {
      cutNow = false;
    },
  };
}

async function peer(server: string, name: string, paths: PathsInit): Promise<P2PClient> {
  const { home, cleanup } = tempHome();
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

describe('upgrade and fallback through a real rendezvous server', () => {
  it('upgrades to direct as soon as consent completes, with no upgrader tick in the test', {
    timeout: 30_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice', { webrtc: false, timings: NO_TICK });
    const bob = await peer(srv.url, 'Bob', {
      webrtc: false,
      timings: NO_TICK,
      listen: { host: '127.0.0.1', port: 0 },
    });
    await befriend(alice, bob);
    // No message needed and no tick: consent itself starts the upgrade (addresses, then a dial).
    await waitFor(() => alice.paths.best(bob.id().key)?.kind === 'direct', 10_000, 'direct upgrade');
    expect(bob.paths.best(alice.id().key)?.kind).toBe('direct');
  });

  it('a direct link cut without a close: traffic moves to the relay on stalled acks, exactly once, in order', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const bobPort = await freePort();
    const proxy = await cuttableProxy(bobPort);
    // Bob publishes the proxy's address: Alice reaches his listener only through it.
    const bob = await peer(srv.url, 'Bob', {
      webrtc: false,
      timings: NO_TICK,
      listen: { host: '127.0.0.1', port: bobPort, advertise: [{ host: '127.0.0.1', port: proxy.port }] },
    });
    const alice = await peer(srv.url, 'Alice', { webrtc: false, timings: NO_TICK });
    await befriend(alice, bob);
    const bobKey = bob.id().key;
    const aliceKey = alice.id().key;
    await waitFor(() => alice.paths.best(bobKey)?.kind === 'direct', 10_000, 'direct link');
    const direct = alice.paths.best(bobKey) as DirectLink;
    expect(direct.remoteAddress).toBe(`127.0.0.1:${proxy.port}`);

    const got: string[] = [];
    const via = new Map<string, number>();
    bob.on('message.received', (m) => {
      if (m.from !== aliceKey) return;
      got.push(m.text!);
      via.set(m.via, (via.get(m.via) ?? 0) + 1);
    });
    for (let i = 0; i < 20; i++) alice.send('Bob', { text: `m${i}` });
    await waitFor(() => got.length === 20, 10_000, 'first 20');
    // (Not all 20 need to: a machine too busy to ack within PATH_STALL_MS moves some, rightly.)
    expect(via.get('direct')).toBeGreaterThan(0);

    proxy.cut();
    for (let i = 20; i < 60; i++) alice.send('Bob', { text: `m${i}` });
    // Well before the direct heartbeat could notice (DIRECT_DEAD_AFTER_MS): only stalled acks can.
    await waitFor(() => got.length === 60, DIRECT_DEAD_AFTER_MS / 2, `all 60 (got ${got.length})`);
    expect(direct.isOpen, 'the cut link is still open: its heartbeat did not decide this').toBe(true);
    expect(via.get('relay')).toBeGreaterThan(0);
    expect(alice.paths.best(bobKey)?.kind).toBe('relay');
    expect(alice.paths.status(bobKey)).toMatch(/direct: no acks for \d+ ms, probing/);

    // The cable comes back: the probe is answered and traffic returns to the direct link.
    proxy.heal();
    await waitFor(() => alice.paths.best(bobKey)?.kind === 'direct', 5_000, 'back on direct');
    for (let i = 60; i < 80; i++) alice.send('Bob', { text: `m${i}` });
    await waitFor(() => got.length >= 80, 10_000, 'last 20');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual(Array.from({ length: 80 }, (_, i) => `m${i}`));
  });
});
