/**
 * Two and three `p2p-comm extension` child processes speaking JSON-RPC through a real
 * rendezvous server: the in-memory broker, and the Redis broker with two server instances
 * (so traffic crosses instances through a real redis-server).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtensionProcess } from './helpers/extension-process.js';
import { startRedis, startRendezvous, tempHome, waitFor } from './helpers/server.js';

interface Id {
  key: string;
  fingerprint: string;
  name: string;
  share: string;
}

for (const broker of ['memory', 'redis'] as const) {
  describe(`extensions through the rendezvous server (${broker} broker)`, () => {
    const cleanups: Array<() => Promise<unknown> | unknown> = [];
    let alice: ExtensionProcess;
    let bob: ExtensionProcess;
    let carol: ExtensionProcess;
    const ids: Record<string, Id> = {};
    let urls: [string, string];

    const spawnPeer = async (name: string, url: string) => {
      const { home, cleanup } = tempHome();
      const ext = new ExtensionProcess(home, url);
      cleanups.push(cleanup, () => ext.kill());
      await ext.call('identity.setName', { name });
      await ext.waitConnected();
      ids[name] = await ext.call<Id>('identity.get');
      return ext;
    };

    beforeAll(async () => {
      if (broker === 'memory') {
        const srv = await startRendezvous();
        cleanups.push(() => srv.close());
        urls = [srv.url, srv.url];
      } else {
        const redis = await startRedis();
        cleanups.push(() => redis.kill());
        const a = await startRendezvous({ REDIS_URL: redis.url });
        const b = await startRendezvous({ REDIS_URL: redis.url });
        cleanups.push(
          () => a.close(),
          () => b.close(),
        );
        urls = [a.url, b.url];
      }
      [alice, bob, carol] = await Promise.all([
        spawnPeer('Alice', urls[0]),
        spawnPeer('Bob', urls[1]),
        spawnPeer('Carol', urls[0]),
      ]);
    }, 60_000);

    afterAll(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });

    it('nothing flows before consent, and a denied request stays denied', async () => {
      const early = await alice.request('messages.send', { peer: ids.Carol!.key, text: 'hello?' });
      expect(early.error?.data?.code).toBe('CLIENT_ERR_NOT_TRUSTED');
      const info = await alice.call<{ state: string }>('peers.connect', { share: ids.Carol!.share });
      expect(info.state).toBe('pending-out');
      const pendingSend = await alice.request('messages.send', { peer: ids.Carol!.key, text: 'still early' });
      expect(pendingSend.error?.data?.code).toBe('CLIENT_ERR_NOT_TRUSTED');
      const req = await carol.waitNotification('consent.request', (p) => p.key === ids.Alice!.key);
      expect(req.name).toBe('Alice');
      expect(req.fingerprint).toBe(ids.Alice!.fingerprint);
      await carol.call('consent.respond', { requestId: req.requestId, accept: false });
      await alice.waitNotification('peer.status', (p) => p.key === ids.Carol!.key && p.state === 'denied');
      // Carol said no herself: her side reports 'declined', never 'denied' (issue 16).
      await carol.waitNotification('peer.status', (p) => p.key === ids.Alice!.key && p.state === 'declined');
      expect(carol.notifications.some((n) => n.method === 'peer.status' && n.params?.state === 'denied')).toBe(false);
      const after = await alice.request('messages.send', { peer: ids.Carol!.key, text: 'denied?' });
      expect(after.error?.data?.code).toMatch(/CLIENT_ERR_(UNKNOWN_PEER|NOT_TRUSTED)/);
      expect(carol.received()).toHaveLength(0);
      const carolPeers = await carol.call<{ peers: unknown[] }>('peers.list');
      expect(carolPeers.peers).toHaveLength(0);
    });

    it('accept: both sides store trust, messages flow both ways in order', async () => {
      await alice.call('peers.connect', { share: ids.Bob!.share });
      const req = await bob.waitNotification('consent.request', (p) => p.key === ids.Alice!.key);
      await bob.call('consent.respond', { key: req.key, accept: true });
      await alice.waitNotification('peer.status', (p) => p.key === ids.Bob!.key && p.state === 'trusted');
      const n = 50;
      for (let i = 0; i < n; i++) {
        await alice.call('messages.send', { peer: 'Bob', text: `a→b ${i}` });
        await bob.call('messages.send', { peer: 'Alice', text: `b→a ${i}` });
      }
      await waitFor(() => bob.received().length >= n && alice.received().length >= n, 20_000, 'messages');
      expect(bob.received().map((m) => m.text)).toEqual(Array.from({ length: n }, (_, i) => `a→b ${i}`));
      expect(alice.received().map((m) => m.text)).toEqual(Array.from({ length: n }, (_, i) => `b→a ${i}`));
      await waitFor(
        () => alice.notifications.filter((x) => x.method === 'message.delivered').length >= n,
        10_000,
        'acks',
      );
      const peers = await bob.call<{ peers: Array<{ key: string; state: string; fingerprint: string }> }>('peers.list');
      expect(peers.peers).toEqual([
        expect.objectContaining({ key: ids.Alice!.key, state: 'trusted', fingerprint: ids.Alice!.fingerprint }),
      ]);
    });

    it('three peers: every pair consents and messages reach the right peer in order', async () => {
      await carol.call('peers.connect', { share: ids.Bob!.share });
      const r1 = await bob.waitNotification('consent.request', (p) => p.key === ids.Carol!.key);
      await bob.call('consent.respond', { requestId: r1.requestId, accept: true });
      // Carol denied Alice once (first test); Alice asks again and this new request is shown.
      const mark = carol.notifications.length;
      await alice.call('peers.connect', { share: ids.Carol!.share });
      const r2 = await carol.waitNotification('consent.request', (p) => p.key === ids.Alice!.key, 15_000, mark);
      await carol.call('consent.respond', { requestId: r2.requestId, accept: true });
      await alice.waitNotification('peer.status', (p) => p.key === ids.Carol!.key && p.state === 'trusted');
      await carol.waitNotification('peer.status', (p) => p.key === ids.Bob!.key && p.state === 'trusted');
      const before = { alice: alice.received().length, bob: bob.received().length, carol: carol.received().length };
      const peers = { alice, bob, carol } as const;
      const names = { alice: 'Alice', bob: 'Bob', carol: 'Carol' } as const;
      for (let i = 0; i < 10; i++)
        for (const from of ['alice', 'bob', 'carol'] as const)
          for (const to of ['alice', 'bob', 'carol'] as const)
            if (from !== to) await peers[from].call('messages.send', { peer: names[to], text: `${from}>${to}#${i}` });
      await waitFor(
        () =>
          alice.received().length - before.alice === 20 &&
          bob.received().length - before.bob === 20 &&
          carol.received().length - before.carol === 20,
        20_000,
        'three-way messages',
      );
      for (const to of ['alice', 'bob', 'carol'] as const) {
        const got = peers[to]
          .received()
          .slice(before[to])
          .map((m) => m.text as string);
        for (const from of ['alice', 'bob', 'carol'] as const) {
          if (from === to) continue;
          expect(got.filter((t) => t.startsWith(`${from}>`))).toEqual(
            Array.from({ length: 10 }, (_, i) => `${from}>${to}#${i}`),
          );
        }
      }
    });

    it('revoke: the other side is told, its messages are refused, nothing is delivered', async () => {
      const bobBefore = bob.received().length;
      await bob.call('peers.revoke', { peer: 'Alice' });
      await alice.waitNotification('peer.status', (p) => p.key === ids.Bob!.key && p.state === 'revoked-by-peer');
      const a = await alice.request('messages.send', { peer: 'Bob', text: 'after revoke' });
      expect(a.error?.data?.code).toBe('CLIENT_ERR_REVOKED');
      const b = await bob.request('messages.send', { peer: 'Alice', text: 'after revoke' });
      expect(b.error?.data?.code).toBe('CLIENT_ERR_REVOKED');
      await new Promise((r) => setTimeout(r, 300));
      expect(bob.received().length).toBe(bobBefore);
    });

    it('a known name with a different key is a hard stop until the user approves the new key', async () => {
      // "Alice" reinstalls: same display name, new key. Carol trusts the old Alice.
      const { home, cleanup } = tempHome();
      const alice2 = new ExtensionProcess(home, urls[1]);
      cleanups.push(cleanup, () => alice2.kill());
      await alice2.call('identity.setName', { name: 'Alice' });
      await alice2.waitConnected();
      const id2 = await alice2.call<Id>('identity.get');
      expect(id2.key).not.toBe(ids.Alice!.key);
      await alice2.call('peers.connect', { share: ids.Carol!.share });
      const req = await carol.waitNotification('consent.request', (p) => p.key === id2.key);
      expect(req.keyChanged).toEqual({ previousKey: ids.Alice!.key, previousFingerprint: ids.Alice!.fingerprint });
      expect(req.fingerprint).toBe(id2.fingerprint);
      const early = await alice2.request('messages.send', { peer: ids.Carol!.key, text: 'it is me' });
      expect(early.error?.data?.code).toBe('CLIENT_ERR_NOT_TRUSTED');
      // Carol's side: the name now resolves only after approval; the old key is still the one trusted.
      const carolPeers = await carol.call<{ peers: Array<{ key: string; name: string }> }>('peers.list');
      expect(carolPeers.peers.filter((p) => p.name === 'Alice').map((p) => p.key)).toEqual([ids.Alice!.key]);
      await carol.call('consent.respond', { requestId: req.requestId, accept: true });
      await alice2.waitNotification('peer.status', (p) => p.key === ids.Carol!.key && p.state === 'trusted');
      await alice2.call('messages.send', { peer: ids.Carol!.key, text: 'new key, approved' });
      await carol.waitNotification('message.received', (p) => p.from === id2.key && p.text === 'new key, approved');
      const after = await carol.call<{ peers: Array<{ key: string; name: string }> }>('peers.list');
      expect(after.peers.filter((p) => p.name === 'Alice').map((p) => p.key)).toEqual([id2.key]);
    });
  });
}
