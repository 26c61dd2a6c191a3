import { mintInviteToken } from '@p2p-comm/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type P2PClient } from '../src/index.js';
import { freePort, startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer(server: string, name: string, requireApproval = false): Promise<P2PClient> {
  const { home, cleanup } = tempHome();
  const c = createClient({ home, server, requireApproval });
  await c.start();
  c.setName(name);
  cleanups.push(cleanup, () => c.stop());
  await c.waitForServer();
  return c;
}

describe('SDK through a real rendezvous server (memory broker)', () => {
  it('consent, then messages both ways in order with end-to-end acks', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bob = await peer(srv.url, 'Bob');
    const bobGot: string[] = [];
    const aliceGot: string[] = [];
    // Handlers only record: an expect thrown inside one would be swallowed by the emitter's caller.
    const asks: Array<{ name: string; fingerprint: string }> = [];
    bob.on('consent.request', (r) => {
      asks.push({ name: r.name, fingerprint: r.fingerprint });
      bob.respondConsent(r.requestId, true);
    });
    bob.on('message.received', (m) => bobGot.push(m.text!));
    alice.on('message.received', (m) => aliceGot.push(m.text!));
    const delivered: string[] = [];
    alice.on('message.delivered', (d) => delivered.push(d.id));

    expect(() => alice.send(bob.id().key, { text: 'too early' })).toThrow(/CLIENT_ERR_UNKNOWN_PEER|consented/);
    alice.connect(bob.id().share);
    expect(() => alice.send(bob.id().key, { text: 'too early' })).toThrowError(
      expect.objectContaining({ code: 'CLIENT_ERR_NOT_TRUSTED' }),
    );
    await waitFor(() => alice.session.peerInfo(bob.id().key).state === 'trusted', 10_000, 'alice trusts bob');
    expect(asks).toEqual([{ name: 'Alice', fingerprint: alice.id().fingerprint }]);
    const ids = [];
    for (let i = 0; i < 20; i++) ids.push(alice.send('Bob', { text: `a${i}` }).id);
    for (let i = 0; i < 5; i++) bob.send('Alice', { text: `b${i}` });
    await waitFor(() => bobGot.length === 20 && aliceGot.length === 5, 10_000, 'messages');
    expect(bobGot).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`));
    expect(aliceGot).toEqual(Array.from({ length: 5 }, (_, i) => `b${i}`));
    await waitFor(() => delivered.length === 20, 10_000, 'acks');
    expect(delivered).toEqual(ids);
    expect(alice.status().outbox.messages).toBe(0);
  });

  it('runtime approval: an allowed message is delivered, a denied one never is, and both are acked', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bob = await peer(srv.url, 'Bob', true);
    bob.on('consent.request', (r) => bob.respondConsent(r.requestId, true));
    alice.connect(bob.id().share);
    await waitFor(() => alice.session.peerInfo(bob.id().key).state === 'trusted', 10_000, 'trust');
    const got: string[] = [];
    const asked: string[] = [];
    bob.on('message.received', (m) => got.push(m.text!));
    const askedBy: string[] = [];
    bob.on('approval.request', (a) => {
      asked.push(a.preview!);
      askedBy.push(a.name);
      bob.respondApproval(a.approvalId, !a.preview!.includes('secret'));
    });
    const delivered: string[] = [];
    alice.on('message.delivered', (d) => delivered.push(d.id));
    const ids = ['hello', 'the secret plan', 'bye'].map((text) => alice.send('Bob', { text }).id);
    await waitFor(() => delivered.length === 3, 10_000, 'acks');
    expect(delivered).toEqual(ids);
    expect(asked).toEqual(['hello', 'the secret plan', 'bye']);
    expect(askedBy).toEqual(['Alice', 'Alice', 'Alice']);
    expect(got).toEqual(['hello', 'bye']);
  });

  it('messages queued while the peer is offline arrive once it is back (server mailbox + retransmit)', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bobHome = tempHome();
    cleanups.push(bobHome.cleanup);
    let bob = createClient({ home: bobHome.home, server: srv.url });
    await bob.start();
    bob.setName('Bob');
    await bob.waitForServer();
    bob.on('consent.request', (r) => bob.respondConsent(r.requestId, true));
    alice.connect(bob.id().share);
    await waitFor(() => alice.session.peerInfo(bob.id().key).state === 'trusted', 10_000, 'trust');
    const bobKey = bob.id().key;
    await bob.stop();
    for (let i = 0; i < 10; i++) alice.send('Bob', { text: `offline ${i}` });
    bob = createClient({ home: bobHome.home, server: srv.url });
    const got: string[] = [];
    bob.on('message.received', (m) => got.push(m.text!));
    await bob.start();
    cleanups.push(() => bob.stop());
    expect(bob.id().key).toBe(bobKey);
    await waitFor(() => got.length === 10 && alice.status().outbox.messages === 0, 15_000, 'offline delivery');
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => `offline ${i}`));
  });

  it('invite-token admission: refused without a token (CLIENT_ERR_SERVER_REJECTED), admitted with one', async () => {
    const secret = 'an-invite-secret-that-is-long-enough-0123456789';
    const srv = await startRendezvous({ ADMISSION: 'token', INVITE_SECRET: secret });
    cleanups.push(() => srv.close());
    const { home, cleanup } = tempHome();
    cleanups.push(cleanup);
    const without = createClient({ home, server: srv.url });
    await without.start();
    await expect(without.waitForServer(10_000)).rejects.toMatchObject({ code: 'CLIENT_ERR_SERVER_REJECTED' });
    await without.stop();
    const token = mintInviteToken(secret, { ttlMs: 60_000 });
    const withToken = createClient({ home, server: srv.url, token });
    await withToken.start();
    cleanups.push(() => withToken.stop());
    await withToken.waitForServer(10_000);
  });

  it('a graceful server restart (RESTARTING) and a sender restart lose nothing', async () => {
    const port = await freePort();
    let srv = await startRendezvous({ PORT: String(port), RESTART_RETRY_AFTER_MS: '200' });
    let stopped = false;
    cleanups.push(() => (stopped ? undefined : srv.close()));
    const aliceHome = tempHome();
    cleanups.push(aliceHome.cleanup);
    let alice = createClient({ home: aliceHome.home, server: srv.url });
    await alice.start();
    alice.setName('Alice');
    await alice.waitForServer();
    const bob = await peer(srv.url, 'Bob');
    bob.on('consent.request', (r) => bob.respondConsent(r.requestId, true));
    alice.connect(bob.id().share);
    await waitFor(() => alice.session.peerInfo(bob.id().key).state === 'trusted', 10_000, 'trust');
    const got: string[] = [];
    bob.on('message.received', (m) => got.push(m.text!));
    const states: string[] = [];
    bob.on('server.status', (s) => states.push(s.state));

    // Server drains (RESTARTING to every client) and a new one takes the port.
    await srv.close();
    stopped = true;
    for (let i = 0; i < 5; i++) alice.send('Bob', { text: `during restart ${i}` });
    srv = await startRendezvous({ PORT: String(port) });
    stopped = false;
    // The sender stops with messages unacked and starts again from its durable outbox.
    await alice.stop();
    alice = createClient({ home: aliceHome.home, server: srv.url });
    await alice.start();
    cleanups.push(() => alice.stop());
    expect(alice.status().outbox.messages).toBeGreaterThan(0);
    alice.send('Bob', { text: 'after sender restart' });
    await waitFor(() => got.length === 6 && alice.status().outbox.messages === 0, 20_000, 'delivery after restarts');
    expect(got).toEqual([...Array.from({ length: 5 }, (_, i) => `during restart ${i}`), 'after sender restart']);
    expect(states).toContain('reconnecting');
  });
});
