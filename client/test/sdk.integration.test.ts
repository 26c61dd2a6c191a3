import { afterEach, describe, expect, it } from 'vitest';
import { createClient, type P2PClient } from '../src/index.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer(server: string, name: string): Promise<P2PClient> {
  const { home, cleanup } = tempHome();
  const c = createClient({ home, server });
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
    bob.on('consent.request', (r) => {
      expect(r.name).toBe('Alice');
      expect(r.fingerprint).toBe(alice.id().fingerprint);
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
});
