/**
 * Large messages through a real rendezvous server (in this process, default limits): the
 * session's in-flight window is bounded by bytes as well as by count, so the burst queued at
 * the receiver's socket stays under the server's SEND_QUEUE_MAX_BYTES and the receiver is never
 * dropped as a slow reader. Nothing is lost or delivered twice.
 */
import { createHash } from 'node:crypto';
import { EnvelopeType, generateIdentity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../src/constants.js';
import { createClient, type P2PClient } from '../src/index.js';
import { RelayTransport } from '../src/transports/relay.js';
import { RendezvousConnection } from '../src/transports/rendezvous-connection.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

/** 96 bodies of MAX_MESSAGE_BYTES: 5.3 MiB, under the server's default per-key burst of 8 MiB. */
const COUNT = 96;
const TIMEOUT_MS = 45_000;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer(server: string, name: string): Promise<P2PClient> {
  const { home, cleanup } = tempHome();
  const c = createClient({ home, server, paths: { webrtc: false } });
  cleanups.push(cleanup);
  await c.start();
  cleanups.push(() => c.stop());
  c.setName(name);
  await c.waitForServer();
  return c;
}

async function slowReaderDrops(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('rdv_drops_total{reason="slow_reader"}'));
  if (!line) throw new Error('rdv_drops_total{reason="slow_reader"} missing from /metrics');
  return Number(line.split(' ').at(-1));
}

const body = (i: number) => {
  const b = new Uint8Array(MAX_MESSAGE_BYTES);
  for (let j = 0; j < b.length; j++) b[j] = (i * 31 + j) & 0xff;
  return b;
};
const digest = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

describe('relay in-flight bound', () => {
  it(`${COUNT} max-size messages: all delivered once, in order, receiver never dropped`, {
    timeout: TIMEOUT_MS + 10_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bob = await peer(srv.url, 'Bob');
    bob.on('consent.request', (r) => bob.respondConsent(r.requestId, true));
    alice.connect(bob.id().share);
    await waitFor(() => alice.session.peerInfo(bob.id().key).state === 'trusted', 10_000, 'trust');

    const bobStates: string[] = [];
    bob.on('server.status', (s) => bobStates.push(s.state));
    const got: Array<{ id: string; digest: string }> = [];
    bob.on('message.received', (m) => got.push({ id: m.id, digest: digest(Buffer.from(m.data!, 'base64')) }));
    const delivered: string[] = [];
    alice.on('message.delivered', (d) => delivered.push(d.id));

    const sent: Array<{ id: string; digest: string }> = [];
    for (let i = 0; i < COUNT; i++) {
      const b = body(i);
      sent.push({ id: alice.send('Bob', { data: b }).id, digest: digest(b) });
    }
    // Stop early if Bob's connection drops: that is the failure this test is about.
    await waitFor(() => delivered.length === COUNT || bobStates.length > 0, TIMEOUT_MS, 'every message acked');

    expect(bobStates).toEqual([]); // never left 'connected'
    expect(await slowReaderDrops(srv.port)).toBe(0);
    expect(got).toEqual(sent);
    expect(delivered).toEqual(sent.map((s) => s.id));
    expect(bob.status().counters.delivered).toBe(COUNT);
    expect(bob.rendezvous!.state).toBe('connected');
  });

  it('a receiver over its inbound budget: frames refused with RDV_ERR_RECIPIENT_BUSY are resent on its next ack (or after a backoff); all delivered once, in order, none failed', {
    timeout: TIMEOUT_MS + 10_000,
  }, async () => {
    // A budget of one byte: any frame that finds Bob's queue non-empty is refused to Alice.
    const srv = await startRendezvous({ RECIPIENT_BUSY_BYTES: '1' });
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bob = await peer(srv.url, 'Bob');
    bob.on('consent.request', (r) => bob.respondConsent(r.requestId, true));
    alice.connect(bob.id().share);
    await waitFor(() => alice.session.peerInfo(bob.id().key).state === 'trusted', 10_000, 'trust');
    const busy: string[] = [];
    alice.rendezvous!.on('recipient-busy', (to) => busy.push(Buffer.from(to).toString('base64url')));
    const got: string[] = [];
    bob.on('message.received', (m) => got.push(digest(Buffer.from(m.data!, 'base64'))));
    const delivered: string[] = [];
    const failed: string[] = [];
    alice.on('message.delivered', (d) => delivered.push(d.id));
    alice.on('message.failed', (f) => failed.push(f.id));
    const sent: Array<{ id: string; digest: string }> = [];
    for (let i = 0; i < 8; i++) {
      const b = body(i).subarray(0, 16 * 1024);
      sent.push({ id: alice.send('Bob', { data: b }).id, digest: digest(b) });
    }
    await waitFor(() => delivered.length === sent.length || failed.length > 0, TIMEOUT_MS, 'every message acked');
    expect(failed).toEqual([]);
    expect(busy.length).toBeGreaterThan(0);
    expect(new Set(busy)).toEqual(new Set([bob.id().key]));
    expect(got).toEqual(sent.map((s) => s.digest));
    expect(delivered).toEqual(sent.map((s) => s.id));
    expect(await slowReaderDrops(srv.port)).toBe(0);
  });

  it("an envelope over the server's MAX_FRAME_BYTES is refused locally; the connection stays up", async () => {
    const srv = await startRendezvous({ MAX_FRAME_BYTES: String(16 * 1024) });
    cleanups.push(() => srv.close());
    const idA = generateIdentity(nodeSuite);
    const idB = generateIdentity(nodeSuite);
    const connA = new RendezvousConnection({ url: srv.url, identity: idA, suite: nodeSuite });
    const connB = new RendezvousConnection({ url: srv.url, identity: idB, suite: nodeSuite });
    cleanups.push(
      () => connA.stop(),
      () => connB.stop(),
    );
    const relayA = new RelayTransport(connA, () => {});
    const relayB = new RelayTransport(connB, () => {});
    const welcomed = (c: RendezvousConnection) => new Promise<void>((r) => c.once('welcome', () => r()));
    const ready = Promise.all([welcomed(connA), welcomed(connB)]);
    connA.start();
    connB.start();
    await ready;
    expect(connA.welcome?.maxFrameBytes).toBe(16 * 1024);
    const statesA: string[] = [];
    connA.on('state', (st) => statesA.push(st));
    const linkA = relayA.open(idB.publicKey)!;
    const linkB = relayB.open(idA.publicKey)!;
    const got: number[] = [];
    linkB.onEnvelope((e) => got.push(e.length));
    const seal = (size: number) =>
      sealEnvelope(nodeSuite, {
        type: EnvelopeType.DATA,
        sender: idA,
        recipient: idB.publicKey,
        plaintext: new Uint8Array(size),
      });
    const big = seal(20 * 1024);
    expect(() => linkA.send(big)).toThrowError(expect.objectContaining({ code: 'CLIENT_ERR_MESSAGE_TOO_LARGE' }));
    const small = seal(1024);
    linkA.send(small);
    await waitFor(() => got.length === 1, 10_000, 'the small envelope');
    expect(got).toEqual([small.length]);
    expect(statesA).toEqual([]);
    expect(connA.isConnected).toBe(true);
  });
});
