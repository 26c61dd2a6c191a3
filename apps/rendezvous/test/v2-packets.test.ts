/**
 * v2 peer packets and the prekey store, on one instance with the memory broker and on two
 * instances sharing a real redis-server: live-only handshake/transport packets (PEER_OFFLINE to
 * an offline key, never stored, also when a stale cross-instance route meets the key gone),
 * PREKEY packets checked and mailboxed once (dedupe sender ‖ message id), unknown versions and
 * types refused with a message naming them, and PREKEY_PUBLISH / PREKEY_FETCH (newest kept,
 * forged / other-owner / expired / older refused, expiry, rate limit, malformed frames).
 */
import {
  AckStatus,
  bytesEqual,
  createPrekeyBundle,
  encodeFrame,
  encodePrekeyPacket,
  type Frame,
  FrameType,
  type Identity,
  initiateSession,
  PREKEY_BUNDLE_DEFAULT_LIFETIME_MS,
  sealToPrekey,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../src/app.js';
import { PREKEY_REQUESTS_BURST } from '../src/constants.js';
import { closeAfterEach, presenceLanded, startApp, TestClient } from './helpers.js';
import { startRedis } from './redis-helpers.js';

const { apps, clients, redises } = closeAfterEach();

interface Fleet {
  /** Instance urls: two sharing Redis, or the one memory instance twice. */
  urls: [string, string];
  apps: RendezvousApp[];
}

async function memoryFleet(): Promise<Fleet> {
  const s = await startApp({ INSTANCE_ID: 'mem' });
  apps.push(s.app);
  return { urls: [s.url, s.url], apps: [s.app] };
}

async function redisFleet(): Promise<Fleet> {
  const r = await startRedis();
  redises.push(r);
  const one = await startApp({ INSTANCE_ID: 'one', REDIS_URL: r.url });
  const two = await startApp({ INSTANCE_ID: 'two', REDIS_URL: r.url });
  apps.push(one.app, two.app);
  return { urls: [one.url, two.url], apps: [one.app, two.app] };
}

async function connect(url: string, identity?: Identity): Promise<TestClient> {
  const c = await TestClient.connect(url, identity);
  clients.push(c);
  return c;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isDeliver = (f: Frame) => f.type === FrameType.DELIVER;

function prekeyPacket(from: Identity, bundle: Uint8Array, to: Uint8Array, sequence: number): Uint8Array {
  const { message } = sealToPrekey(nodeSuite, {
    sender: from,
    recipient: to,
    bundle,
    now: Date.now(),
    sequence,
    plaintext: new TextEncoder().encode(`offline ${sequence}`),
  });
  return encodePrekeyPacket(message);
}

/** A transport-shaped packet: the server can check only its size. */
const transportPacket = () => Uint8Array.of(2, 3, ...new Uint8Array(12), ...new Uint8Array(40).fill(9));

function publish(c: TestClient, frameId: number, bundle: Uint8Array): Promise<Frame> {
  c.send(encodeFrame({ type: FrameType.PREKEY_PUBLISH, frameId, bundle }));
  return c.answer(frameId);
}

async function fetchBundle(c: TestClient, frameId: number, key: Uint8Array): Promise<Frame> {
  c.send(encodeFrame({ type: FrameType.PREKEY_FETCH, frameId, key }));
  return c.next((f) => (f.type === FrameType.PREKEY_BUNDLE || f.type === FrameType.ERROR) && f.frameId === frameId);
}

function heldBundle(f: Frame): Uint8Array | null {
  if (f.type !== FrameType.PREKEY_BUNDLE) throw new Error(`not a PREKEY_BUNDLE: ${JSON.stringify(f)}`);
  return f.bundle.length === 0 ? null : f.bundle;
}

for (const [name, makeFleet] of [
  ['memory broker', memoryFleet],
  ['two instances over Redis', redisFleet],
] as const) {
  describe(`v2 peer packets (${name})`, () => {
    it('forwards handshake and transport packets live; to an offline key they are PEER_OFFLINE and never stored', async () => {
      const { urls, apps: fleetApps } = await makeFleet();
      const a = await connect(urls[0]);
      const b = await connect(urls[1]);
      await presenceLanded(fleetApps[0]!, [b.key]);
      const { packet: init } = initiateSession({ identity: a.identity, remotePublicKey: b.key, suite: nodeSuite });
      a.signal(1, b.key, init);
      const d1 = await b.next(isDeliver);
      expect(d1.type === FrameType.DELIVER && bytesEqual(d1.envelope, init) && bytesEqual(d1.from, a.key)).toBe(true);
      expect(await a.answer(1)).toEqual({ type: FrameType.ACK, frameId: 1, status: AckStatus.DELIVERED });
      const t = transportPacket();
      a.relay(2, b.key, t);
      const d2 = await b.next(isDeliver);
      expect(d2.type === FrameType.DELIVER && bytesEqual(d2.envelope, t)).toBe(true);
      expect(await a.answer(2)).toEqual({ type: FrameType.ACK, frameId: 2, status: AckStatus.DELIVERED });

      // b leaves: the route a's instance cached for it is now stale (the remote instance finds it gone).
      const bIdentity = b.identity;
      await b.close();
      await sleep(100);
      const remoteBefore = fleetApps[0]!.stats.forwardedRemote;
      a.relay(3, bIdentity.publicKey, transportPacket());
      expect(await a.answer(3)).toMatchObject({ type: FrameType.PEER_OFFLINE, frameId: 3 });
      // Over Redis that answer came from the other instance (the cached route), not from a lookup here.
      if (fleetApps.length === 2) expect(fleetApps[0]!.stats.forwardedRemote).toBe(remoteBefore + 1);
      a.relay(4, bIdentity.publicKey, init);
      expect(await a.answer(4)).toMatchObject({ type: FrameType.PEER_OFFLINE, frameId: 4 });
      a.signal(5, bIdentity.publicKey, transportPacket());
      expect(await a.answer(5)).toMatchObject({ type: FrameType.PEER_OFFLINE, frameId: 5 });
      // Nothing was kept: b comes back to an empty mailbox (an envelope relayed now arrives first).
      const marker = a.envelope(bIdentity.publicKey, 'marker');
      a.relay(6, bIdentity.publicKey, marker);
      expect(await a.answer(6)).toEqual({ type: FrameType.ACK, frameId: 6, status: AckStatus.QUEUED });
      const b2 = await connect(urls[0], bIdentity);
      const first = await b2.next(isDeliver);
      expect(first.type === FrameType.DELIVER && bytesEqual(first.envelope, marker)).toBe(true);
      await sleep(200);
      expect(b2.frames.filter(isDeliver)).toHaveLength(0);
    });

    it('mailboxes a PREKEY packet for an offline key once (dedupe sender ‖ message id) and delivers it from its sender', async () => {
      const { urls, apps: fleetApps } = await makeFleet();
      const a = await connect(urls[0]);
      const b = await connect(urls[1]);
      const bundle = createPrekeyBundle(nodeSuite, {
        identity: b.identity,
        bundleId: 1,
        createdAt: Date.now(),
      }).encoded;
      const bIdentity = b.identity;
      await b.close();
      await sleep(100);
      const p0 = prekeyPacket(a.identity, bundle, bIdentity.publicKey, 0);
      const p1 = prekeyPacket(a.identity, bundle, bIdentity.publicKey, 1);
      a.relay(1, bIdentity.publicKey, p0);
      expect(await a.answer(1)).toEqual({ type: FrameType.ACK, frameId: 1, status: AckStatus.QUEUED });
      a.relay(2, bIdentity.publicKey, p0); // a resend: same sender and message id
      expect(await a.answer(2)).toEqual({ type: FrameType.ACK, frameId: 2, status: AckStatus.QUEUED });
      a.relay(3, bIdentity.publicKey, p1);
      expect(await a.answer(3)).toEqual({ type: FrameType.ACK, frameId: 3, status: AckStatus.QUEUED });
      // SIGNAL never stores, whatever the kind.
      a.signal(4, bIdentity.publicKey, p1);
      expect(await a.answer(4)).toMatchObject({ type: FrameType.PEER_OFFLINE, frameId: 4 });
      expect(fleetApps.reduce((n, x) => n + x.stats.mailboxDuplicates, 0)).toBe(1);

      const b2 = await connect(urls[1], bIdentity);
      const got = [await b2.next(isDeliver), await b2.next(isDeliver)];
      for (const [i, f] of got.entries()) {
        expect(f.type === FrameType.DELIVER && f.channel === 1 && bytesEqual(f.from, a.key)).toBe(true);
        expect(f.type === FrameType.DELIVER && bytesEqual(f.envelope, i === 0 ? p0 : p1)).toBe(true);
      }
      await sleep(200);
      expect(b2.frames.filter(isDeliver)).toHaveLength(0);
    });

    it('checks a PREKEY packet: sender = authenticated key, recipient = to', async () => {
      const { urls, apps: fleetApps } = await makeFleet();
      const a = await connect(urls[0]);
      const b = await connect(urls[1]);
      const c = await connect(urls[0]);
      await presenceLanded(fleetApps[0]!, [b.key]); // for the good packet, routed
      const bundle = createPrekeyBundle(nodeSuite, {
        identity: b.identity,
        bundleId: 1,
        createdAt: Date.now(),
      }).encoded;
      // c's packet sent by a: the sender inside is not a.
      a.relay(1, b.key, prekeyPacket(c.identity, bundle, b.key, 0));
      expect(await a.answer(1)).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_SENDER_MISMATCH' });
      // Sealed to b, addressed to c.
      a.relay(2, c.key, prekeyPacket(a.identity, bundle, b.key, 0));
      expect(await a.answer(2)).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_RECIPIENT_MISMATCH' });
      const good = prekeyPacket(a.identity, bundle, b.key, 1);
      a.relay(3, b.key, good);
      expect(await a.answer(3)).toMatchObject({ type: FrameType.ACK, status: AckStatus.DELIVERED });
      const d = await b.next(isDeliver);
      expect(d.type === FrameType.DELIVER && bytesEqual(d.envelope, good)).toBe(true);
    });

    it('refuses unknown versions and v2 types with a message naming them; the connection stays', async () => {
      const { urls, apps: fleetApps } = await makeFleet();
      const a = await connect(urls[0]);
      const b = await connect(urls[1]);
      await presenceLanded(fleetApps[0]!, [b.key]); // for the last, routed frame
      a.relay(1, b.key, Uint8Array.of(3, 1, 2, 3));
      const e1 = await a.answer(1);
      expect(e1).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_UNSUPPORTED_PEER_PACKET' });
      expect(e1.type === FrameType.ERROR && e1.message).toContain(
        'unknown peer-packet version 3 (this server speaks 1, 2)',
      );
      a.signal(2, b.key, Uint8Array.of(2, 9, ...new Uint8Array(100)));
      const e2 = await a.answer(2);
      expect(e2).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_UNSUPPORTED_PEER_PACKET' });
      expect(e2.type === FrameType.ERROR && e2.message).toContain('unknown v2 peer-packet type 9');
      // Right version and type, wrong size.
      a.relay(3, b.key, Uint8Array.of(2, 1, 0, 0));
      expect(await a.answer(3)).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_BAD_ENVELOPE' });
      a.signal(4, b.key);
      expect(await a.answer(4)).toMatchObject({ type: FrameType.ACK, frameId: 4 });
    });
  });

  describe(`prekey store (${name})`, () => {
    it('publish on one instance, fetch on the other; the newest bundle is kept, an older one refused', async () => {
      const { urls, apps: fleetApps } = await makeFleet();
      const owner = await connect(urls[0]);
      const reader = await connect(urls[1]);
      const now = Date.now();
      const v1 = createPrekeyBundle(nodeSuite, { identity: owner.identity, bundleId: 1, createdAt: now - 60_000 });
      const v2 = createPrekeyBundle(nodeSuite, { identity: owner.identity, bundleId: 2, createdAt: now - 1_000 });
      expect(heldBundle(await fetchBundle(reader, 1, owner.key))).toBeNull();
      expect(await publish(owner, 2, v1.encoded)).toEqual({ type: FrameType.ACK, frameId: 2, status: 0 });
      const f1 = await fetchBundle(reader, 3, owner.key);
      expect(f1.type === FrameType.PREKEY_BUNDLE && bytesEqual(f1.key, owner.key)).toBe(true);
      expect(bytesEqual(heldBundle(f1)!, v1.encoded)).toBe(true);
      expect(await publish(owner, 4, v2.encoded)).toMatchObject({ type: FrameType.ACK, frameId: 4 });
      expect(bytesEqual(heldBundle(await fetchBundle(reader, 5, owner.key))!, v2.encoded)).toBe(true);
      // Republishing the held one is fine; the older one is refused and v2 stays.
      expect(await publish(owner, 6, v2.encoded)).toMatchObject({ type: FrameType.ACK, frameId: 6 });
      expect(await publish(owner, 7, v1.encoded)).toMatchObject({
        type: FrameType.ERROR,
        frameId: 7,
        code: 'RDV_ERR_PREKEY_STALE',
      });
      expect(bytesEqual(heldBundle(await fetchBundle(owner, 8, owner.key))!, v2.encoded)).toBe(true);
      expect(fleetApps.reduce((n, x) => n + x.stats.prekeyPublished, 0)).toBe(3);
    });

    it('refuses forged, other-owner and expired bundles; stored bundles expire with their `expires`', async () => {
      const { urls } = await makeFleet();
      const owner = await connect(urls[0]);
      const other = await connect(urls[1]);
      const now = Date.now();
      const good = createPrekeyBundle(nodeSuite, { identity: owner.identity, bundleId: 1, createdAt: now });
      const forged = Uint8Array.from(good.encoded);
      forged[forged.length - 1]! ^= 1; // signature
      expect(await publish(owner, 1, forged)).toMatchObject({
        type: FrameType.ERROR,
        code: 'RDV_ERR_BAD_PREKEY_BUNDLE',
      });
      expect(await publish(other, 2, good.encoded)).toMatchObject({
        type: FrameType.ERROR,
        code: 'RDV_ERR_PREKEY_OWNER',
      });
      const expired = createPrekeyBundle(nodeSuite, {
        identity: owner.identity,
        bundleId: 2,
        createdAt: now - PREKEY_BUNDLE_DEFAULT_LIFETIME_MS - 1_000,
      });
      expect(await publish(owner, 3, expired.encoded)).toMatchObject({
        type: FrameType.ERROR,
        code: 'RDV_ERR_PREKEY_EXPIRED',
      });
      expect(heldBundle(await fetchBundle(other, 4, owner.key))).toBeNull();
      // A bundle with 1.5 s left is kept that long and no longer.
      const ending = createPrekeyBundle(nodeSuite, {
        identity: owner.identity,
        bundleId: 3,
        createdAt: Date.now() - PREKEY_BUNDLE_DEFAULT_LIFETIME_MS + 1_500,
      });
      expect(await publish(owner, 5, ending.encoded)).toMatchObject({ type: FrameType.ACK, frameId: 5 });
      expect(bytesEqual(heldBundle(await fetchBundle(other, 6, owner.key))!, ending.encoded)).toBe(true);
      await sleep(1_800);
      expect(heldBundle(await fetchBundle(other, 7, owner.key))).toBeNull();
    });
  });
}

describe('prekey frames: limits and malformed input (memory broker)', () => {
  it('counts publishes and fetches (hit / miss) in /metrics', async () => {
    const s = await startApp({ INSTANCE_ID: 'metrics' });
    apps.push(s.app);
    const a = await connect(s.url);
    const b = createPrekeyBundle(nodeSuite, { identity: a.identity, bundleId: 1, createdAt: Date.now() });
    expect(heldBundle(await fetchBundle(a, 1, a.key))).toBeNull();
    expect(await publish(a, 2, b.encoded)).toMatchObject({ type: FrameType.ACK, frameId: 2 });
    expect(heldBundle(await fetchBundle(a, 3, a.key))).not.toBeNull();
    a.relay(4, a.key, Uint8Array.of(7));
    await a.answer(4);
    const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    expect(text).toMatch(/^rdv_prekey_published_total 1$/m);
    expect(text).toMatch(/^rdv_prekey_fetches_total\{result="hit"\} 1$/m);
    expect(text).toMatch(/^rdv_prekey_fetches_total\{result="miss"\} 1$/m);
    expect(text).toMatch(/^rdv_drops_total\{reason="unsupported_packet"\} 1$/m);
  });

  it('rate-limits prekey requests per connection', async () => {
    const { urls } = await memoryFleet();
    const a = await connect(urls[0]);
    const n = PREKEY_REQUESTS_BURST + 8;
    for (let i = 1; i <= n; i++) a.send(encodeFrame({ type: FrameType.PREKEY_FETCH, frameId: i, key: a.key }));
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        a.next((f) => (f.type === FrameType.PREKEY_BUNDLE || f.type === FrameType.ERROR) && f.frameId === i + 1),
      ),
    );
    const limited = answers.filter((f) => f.type === FrameType.ERROR && f.code === 'RDV_ERR_RATE_LIMITED');
    expect(limited.length).toBeGreaterThanOrEqual(n - PREKEY_REQUESTS_BURST - 1);
    expect(answers.filter((f) => f.type === FrameType.PREKEY_BUNDLE).length).toBeGreaterThanOrEqual(
      PREKEY_REQUESTS_BURST,
    );
  });

  it('a prekey frame that does not decode is RDV_ERR_MALFORMED_FRAME (1007); random ones never hurt the server', async () => {
    const { urls, apps: fleetApps } = await memoryFleet();
    const a = await connect(urls[0]);
    a.send(Uint8Array.of(FrameType.PREKEY_PUBLISH, 0, 0, 0, 1, ...new Uint8Array(100)));
    expect(await a.errorAndClose()).toEqual({ code: 'RDV_ERR_MALFORMED_FRAME', close: 1007 });
    const witness = await connect(urls[0]);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(FrameType.PREKEY_PUBLISH, FrameType.PREKEY_FETCH, FrameType.PREKEY_BUNDLE),
        fc.uint8Array({ maxLength: 1_400 }),
        async (type, body) => {
          const c = await TestClient.connect(urls[0]);
          c.send(Uint8Array.of(type, ...body));
          // Every such frame is answered (ERROR, ACK or PREKEY_BUNDLE) or closes this socket only.
          await Promise.race([c.next(() => true, 2_000).catch(() => null), c.closed]);
          await c.close();
        },
      ),
      { numRuns: 25 },
    );
    witness.signal(1, witness.key);
    expect(await witness.answer(1)).toMatchObject({ type: FrameType.ACK });
    expect(fleetApps[0]!.stats.drops.malformed).toBeGreaterThan(0);
  });
});
