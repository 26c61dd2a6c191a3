/**
 * v2 sessions in the client (issue 13), end to end through a real rendezvous server in this
 * process and real sockets on 127.0.0.1:
 * - the handshake runs over the relay, and the same session (same handshake hash, no second
 *   handshake) carries messages over a direct link when one comes up;
 * - both peers initiating at once end with one session (tie-break on the lower key);
 * - a byte flipped in each field region of handshake message 1 and 2, fed through the client's
 *   real receive path, fails closed and is counted; the honest handshake afterwards succeeds;
 * - a replayed TRANSPORT packet and a replayed PREKEY packet are refused, the latter also after
 *   the receiver restarted from its home directory;
 * - the packets of a session recorded at the relay cannot be opened with both identity secret
 *   keys once the session keys are erased (every key derivable from them and the recording).
 */
import {
  bytesEqual,
  readTransportHeader,
  SESSION_PROTOCOL_NAME,
  sessionPrologue,
  TRANSPORT_HEADER_BYTES,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
// The attacker of the forward-secrecy test replays the Noise transcript with the library's own
// primitives (not exported: they are internals of the handshake).
import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../../packages/protocol/src/crypto/convert.js';
import { chachaDecrypt } from '../../packages/protocol/src/session/chacha-poly.js';
import { nextEpochKey } from '../../packages/protocol/src/session/epoch-key.js';
import { NOISE_HASHES } from '../../packages/protocol/src/session/noise-hash.js';
import { SymmetricState } from '../../packages/protocol/src/session/symmetric-state.js';
import { createClient, type P2PClient } from '../src/index.js';
import type { ClientInit } from '../src/sdk/config.js';
import { dialDirect } from '../src/transports/direct-dialer.js';
import type { DirectLink } from '../src/transports/direct-link.js';
import { DirectListener } from '../src/transports/direct-listener.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Short handshake timers so retries after a refused handshake take milliseconds, not seconds. */
const FAST = { handshakeTimeoutMs: 400, retryInitialMs: 100, retryMaxMs: 400, sweepMs: 50 };

async function peer(url: string, name: string, init: Partial<ClientInit> = {}): Promise<P2PClient> {
  let home = init.home;
  if (home === undefined) {
    const t = tempHome('p2p-v2-');
    cleanups.push(t.cleanup);
    home = t.home;
  }
  const c = createClient({ server: url, paths: { webrtc: false }, sessionTimings: FAST, ...init, home });
  await c.start();
  cleanups.push(() => c.stop());
  c.setName(name);
  await c.waitForServer();
  return c;
}

async function befriend(a: P2PClient, b: P2PClient): Promise<void> {
  b.on('consent.request', (r) => b.respondConsent(r.requestId, true));
  a.connect(b.id().share);
  await waitFor(
    () => a.session.peerInfo(b.id().key).state === 'trusted' && b.session.peerInfo(a.id().key).state === 'trusted',
    10_000,
    'mutual trust',
  );
}

/**
 * Wrap a client's outgoing packets (what its session hands the path manager): `pass` false
 * drops a packet as a lossy path would. Returns the undo.
 */
function tap(c: P2PClient, pass: (bytes: Uint8Array) => boolean): () => void {
  const pm = c.paths;
  const original = pm.send;
  pm.send = (peerKey, bytes) => (pass(bytes) ? original.call(pm, peerKey, bytes) : 'relay');
  return () => {
    pm.send = original;
  };
}

const isV2 = (b: Uint8Array, type: number) => b[0] === 0x02 && b[1] === type;
const handshakes = (...cs: P2PClient[]) =>
  cs.reduce((n, c) => n + c.session.sessions.counters.completed + c.session.sessions.counters.accepted, 0);

function received(c: P2PClient): Array<{ text: string; via: string }> {
  const got: Array<{ text: string; via: string }> = [];
  c.on('message.received', (m) => got.push({ text: m.text ?? '', via: m.via }));
  return got;
}

function rejections(c: P2PClient): string[] {
  const codes: string[] = [];
  c.on('rejected', (r) => codes.push(r.code));
  return codes;
}

/** A real direct WebSocket link on 127.0.0.1 between the two clients, offered to both path managers. */
async function directLink(a: P2PClient, b: P2PClient): Promise<void> {
  let resolveB!: (l: DirectLink) => void;
  const linkB = new Promise<DirectLink>((r) => {
    resolveB = r;
  });
  const listener = new DirectListener({
    suite: nodeSuite,
    identity: b.identity,
    host: '127.0.0.1',
    port: 0,
    acceptKey: (k) => bytesEqual(k, a.identity.publicKey),
    onLink: resolveB,
  });
  const { port } = await listener.start();
  cleanups.push(() => listener.stop());
  const la = await dialDirect({
    suite: nodeSuite,
    identity: a.identity,
    address: { host: '127.0.0.1', port },
    expectedKey: b.identity.publicKey,
  });
  const lb = await linkB;
  a.paths.addLink(la);
  b.paths.addLink(lb);
}

describe('v2 sessions between clients', () => {
  it('handshake over the relay; the same session then carries messages over a direct link', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bob = await peer(srv.url, 'Bob');
    await befriend(alice, bob);
    const got = received(bob);
    const aliceKey = alice.id().key;
    const bobKey = bob.id().key;
    for (let i = 0; i < 5; i++) alice.send('Bob', { text: `relay ${i}` });
    await waitFor(() => got.length === 5, 10_000, 'five over the relay');
    await waitFor(() => alice.session.peerInfo(bobKey).pending === 0, 10_000, 'acks over the relay');
    expect(got.every((m) => m.via === 'relay')).toBe(true);
    expect(handshakes(alice, bob)).toBe(2); // one handshake: completed on one side, accepted on the other
    const id = alice.session.sessions.sessionId(bobKey);
    expect(id).not.toBeNull();
    // Bob, the responder, may still hold the session as a candidate here: it becomes live on the
    // first TRANSPORT packet from Alice, and her first five may all have gone as PREKEY packets
    // while the handshake ran. Either way he can seal under it now; the ids are compared below,
    // after Alice's direct-path messages confirmed it.
    expect(bob.session.sessions.has(aliceKey)).toBe(true);

    await directLink(alice, bob);
    expect(alice.paths.best(bobKey)?.kind).toBe('direct');
    for (let i = 0; i < 5; i++) alice.send('Bob', { text: `direct ${i}` });
    await waitFor(() => got.length === 10, 10_000, 'five over the direct link');
    await waitFor(() => alice.session.peerInfo(bobKey).pending === 0, 10_000, 'acks over the direct link');
    expect(got.slice(5)).toEqual(Array.from({ length: 5 }, (_, i) => ({ text: `direct ${i}`, via: 'direct' })));
    // No new handshake: the session is the peer's, not the link's.
    expect(handshakes(alice, bob)).toBe(2);
    expect(alice.session.counters.sentTransport).toBeGreaterThan(0);
    expect(Buffer.from(alice.session.sessions.sessionId(bobKey)!)).toEqual(Buffer.from(id!));
    expect(Buffer.from(bob.session.sessions.sessionId(aliceKey)!)).toEqual(Buffer.from(id!));
  });

  it('simultaneous open ends with one session', { timeout: 60_000 }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bob = await peer(srv.url, 'Bob');
    await befriend(alice, bob);
    const toBob = received(bob);
    const toAlice = received(alice);
    // Same tick: both have something to send and no session, so both send message 1.
    alice.send('Bob', { text: 'from alice' });
    bob.send('Alice', { text: 'from bob' });
    await waitFor(() => toBob.length === 1 && toAlice.length === 1, 10_000, 'both messages');
    await waitFor(
      () => alice.session.peerInfo(bob.id().key).pending === 0 && bob.session.peerInfo(alice.id().key).pending === 0,
      10_000,
      'both acked',
    );
    const a = alice.session.sessions.counters;
    const b = bob.session.sessions.counters;
    expect(a.initiated + b.initiated).toBe(2);
    expect(a.tieBreaks + b.tieBreaks).toBe(1);
    expect(a.completed + b.completed).toBe(1);
    expect(a.accepted + b.accepted).toBe(1);
    const ids = [alice.session.sessions.sessionId(bob.id().key), bob.session.sessions.sessionId(alice.id().key)];
    expect(ids[0]).not.toBeNull();
    expect(Buffer.from(ids[0]!)).toEqual(Buffer.from(ids[1]!));
  });

  it('a byte flipped in any field of message 1 or 2 fails closed; the honest handshake then succeeds', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bob = await peer(srv.url, 'Bob');
    await befriend(alice, bob);
    const aliceKey = alice.identity.publicKey;
    const bobKey = bob.identity.publicKey;
    const bobCodes = rejections(bob);
    const aliceCodes = rejections(alice);
    const got = received(bob);

    // Alice's PREKEY copies are kept from Bob throughout: the message must wait for a session.
    // Message 1: capture Alice's, keep it from Bob, feed Bob one tampered copy per field region.
    const inits: Uint8Array[] = [];
    let passInits = false;
    tap(alice, (b) => {
      if (isV2(b, 4)) return false;
      if (isV2(b, 1) && !passInits) {
        inits.push(Uint8Array.from(b));
        return false;
      }
      return true;
    });
    alice.send('Bob', { text: 'after the tampering' });
    await waitFor(() => inits.length > 0, 5_000, 'message 1');
    const m1Regions = { e: 10, 'enc(e1)': 600, 'enc(s)': 1_250, 'enc(payload)': 1_300 };
    for (const [field, at] of Object.entries(m1Regions)) {
      const bad = Uint8Array.from(inits[0]!);
      bad[at]! ^= 0x01;
      const before = bobCodes.length;
      bob.session.receive(aliceKey, bad, 'relay');
      expect(bobCodes.length, field).toBe(before + 1);
      expect(bobCodes.at(-1), field).toMatch(/^PROTO_ERR_/);
    }
    expect(bob.session.sessions.counters.accepted).toBe(0);
    expect(bob.session.sessions.has(alice.id().key)).toBe(false);
    passInits = true;

    // Message 2: for each field, let one honest message 1 through, keep Bob's answer from Alice,
    // feed Alice a tampered copy (which ends her pending handshake), and wait for her retry.
    const responses: Uint8Array[] = [];
    const undoBob = tap(bob, (b) => !(isV2(b, 2) && responses.push(Uint8Array.from(b))));
    const m2Regions = { e: 10, 'enc(ct)': 500, 'enc(payload)': 1_140 };
    for (const [field, at] of Object.entries(m2Regions)) {
      responses.length = 0;
      await waitFor(() => responses.length > 0, 10_000, `message 2 for ${field}`);
      const bad = Uint8Array.from(responses[0]!);
      bad[at]! ^= 0x01;
      const before = aliceCodes.length;
      alice.session.receive(bobKey, bad, 'relay');
      expect(aliceCodes.length, field).toBe(before + 1);
      expect(aliceCodes.at(-1), field).toMatch(/^PROTO_ERR_/);
      expect(alice.session.sessions.counters.completed, field).toBe(0);
    }
    undoBob();
    await waitFor(() => got.length === 1, 15_000, 'delivery after an honest handshake');
    expect(got[0]!.text).toBe('after the tampering');
    expect(alice.session.sessions.counters.completed).toBe(1);
  });

  it('refuses a replayed TRANSPORT packet and a replayed PREKEY packet, also after the receiver restarts', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bobHome = tempHome('p2p-v2-');
    cleanups.push(bobHome.cleanup);
    let bob = await peer(srv.url, 'Bob', { home: bobHome.home });
    await befriend(alice, bob);
    const aliceKey = alice.identity.publicKey;
    const bobKey = bob.id().key;
    let got = received(bob);
    let codes = rejections(bob);
    const transports: Uint8Array[] = [];
    const prekeys: Uint8Array[] = [];
    let blockHandshake = false;
    tap(alice, (b) => {
      if (isV2(b, 3)) transports.push(Uint8Array.from(b));
      if (isV2(b, 4)) prekeys.push(Uint8Array.from(b));
      return !(blockHandshake && isV2(b, 1));
    });
    alice.send('Bob', { text: 'one' });
    await waitFor(() => got.length === 1 && alice.session.peerInfo(bobKey).pending === 0, 10_000, 'first message');
    // The session carried it; Bob pushed his prekey bundle inside it.
    const dataPacket = transports.at(-1)!;
    bob.session.receive(aliceKey, dataPacket, 'relay');
    expect(codes.at(-1)).toBe('PROTO_ERR_SESSION_REPLAY');
    expect(got.length).toBe(1);

    // No session and no handshake getting through: the next message goes sealed to Bob's bundle.
    alice.session.sessions.drop(bobKey);
    blockHandshake = true;
    alice.send('Bob', { text: 'two' });
    // Bob still holds the session Alice dropped: his ack goes as an envelope, which she can read
    // (data that came under the prekey says the sender had no session).
    await waitFor(() => got.length === 2 && alice.session.peerInfo(bobKey).pending === 0, 10_000, 'prekey message');
    expect(prekeys.length).toBeGreaterThan(0);
    const before = bob.session.counters.delivered;
    for (const p of prekeys) bob.session.receive(aliceKey, p, 'relay');
    expect(codes.at(-1)).toBe('PROTO_ERR_PREKEY_REPLAY');
    expect(bob.session.counters.delivered).toBe(before);

    // Bob restarts from his home directory: the replay guard's state came back with him.
    await bob.stop();
    bob = await peer(srv.url, 'Bob', { home: bobHome.home });
    got = received(bob);
    codes = rejections(bob);
    for (const p of prekeys) bob.session.receive(aliceKey, p, 'relay');
    expect(codes.length).toBe(prekeys.length);
    expect(new Set(codes)).toEqual(new Set(['PROTO_ERR_PREKEY_REPLAY']));
    bob.session.receive(aliceKey, dataPacket, 'relay');
    expect(codes.length).toBe(prekeys.length + 1); // no session any more: refused too
    expect(got.length).toBe(0);
    expect(bob.session.counters.delivered).toBe(0);
  });

  it('a session recorded at the relay cannot be opened with both identity secret keys once its keys are erased', {
    timeout: 60_000,
  }, async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const alice = await peer(srv.url, 'Alice');
    const bob = await peer(srv.url, 'Bob');
    await befriend(alice, bob);
    const recording: Array<{ from: 'alice' | 'bob'; bytes: Uint8Array }> = [];
    tap(alice, (b) => {
      if (b[0] === 0x02) recording.push({ from: 'alice', bytes: Uint8Array.from(b) });
      return true;
    });
    tap(bob, (b) => {
      if (b[0] === 0x02) recording.push({ from: 'bob', bytes: Uint8Array.from(b) });
      return true;
    });
    const got = received(bob);
    alice.send('Bob', { text: 'hello' }); // the handshake
    await waitFor(() => got.length === 1, 10_000, 'a session');
    for (let i = 0; i < 12; i++) {
      alice.send('Bob', { text: `secret ${i}` });
      // A rekey every 4 messages: the recording spans several epochs, each old key erased. Each
      // batch is delivered before the rekey, so a loaded machine that seals later cannot put
      // every message in the last epoch.
      if (i % 4 === 3) {
        await waitFor(() => got.length === i + 2, 10_000, `message ${i} delivered`);
        alice.session.sessions.rekey(bob.id().key);
      }
    }
    await waitFor(() => got.length === 13 && alice.session.peerInfo(bob.id().key).pending === 0, 10_000, 'all 13');
    const m1 = recording.find((r) => isV2(r.bytes, 1))!.bytes;
    const m2 = recording.find((r) => isV2(r.bytes, 2))!.bytes;
    const packets = recording.filter((r) => isV2(r.bytes, 3));
    expect(packets.length).toBeGreaterThanOrEqual(13);
    expect(new Set(packets.map((p) => readTransportHeader(p.bytes).epoch)).size).toBeGreaterThan(1);
    const initiatorIsAlice = recording.find((r) => isV2(r.bytes, 1))!.from === 'alice';
    const idA = alice.identity;
    const idB = bob.identity;
    await alice.stop();
    await bob.stop(); // every session key erased
    const [ini, res] = initiatorIsAlice ? [idA, idB] : [idB, idA];
    const xi = ed25519SecretToX25519(ini.secretKey);
    const xr = ed25519SecretToX25519(res.secretKey);
    const eI = m1.subarray(2, 34);
    const eR = m2.subarray(2, 34);
    const dh = (s: Uint8Array, p: Uint8Array) => nodeSuite.x25519(s, p);
    const dhs = [dh(xi, ed25519PublicToX25519(res.publicKey)), dh(xr, eI), dh(xi, eR), dh(xr, eR), dh(xi, eI)];
    const raw = [ini.secretKey, res.secretKey, xi, xr, ...dhs, new Uint8Array(32)];
    const candidates: Uint8Array[] = [...raw];
    for (const ee of raw)
      for (const kem of raw) candidates.push(...transcriptKeys(m1, m2, xi, xr, res.publicKey, ee, kem));
    for (const k of [...candidates]) candidates.push(...NOISE_HASHES.SHA256.hkdf(k, new Uint8Array(0), 2));
    expect(candidates.length).toBeGreaterThan(300);
    let opened = 0;
    for (const key of candidates) for (const p of packets) if (opens(key, p.bytes)) opened++;
    expect(opened).toBe(0);
  });
});

/** Does `key` (as an epoch-0 key, or derived forward to the packet's epoch) open `packet`? */
function opens(key: Uint8Array, packet: Uint8Array): boolean {
  const { epoch, counter } = readTransportHeader(packet);
  let k = key;
  for (let e = 1; e <= epoch; e++) k = nextEpochKey(k, e);
  try {
    chachaDecrypt(k, counter, packet.subarray(0, TRANSPORT_HEADER_BYTES), packet.subarray(TRANSPORT_HEADER_BYTES));
    return true;
  } catch {
    return false;
  }
}

/**
 * The attacker's replay of the recorded handshake: message 1 opens with the responder's static
 * key (es, ss); for message 2 it must guess ee and the ML-KEM secret, hashing the recorded bytes
 * where a guess fails (h is public), so every guess yields a candidate pair of transport keys.
 */
function transcriptKeys(
  m1: Uint8Array,
  m2: Uint8Array,
  xi: Uint8Array,
  xr: Uint8Array,
  responderKey: Uint8Array,
  eeGuess: Uint8Array,
  kemGuess: Uint8Array,
): Uint8Array[] {
  const dh = (s: Uint8Array, p: Uint8Array) => nodeSuite.x25519(s, p);
  const st = new SymmetricState(NOISE_HASHES.SHA256, SESSION_PROTOCOL_NAME);
  st.mixHash(sessionPrologue(responderKey));
  st.mixHash(ed25519PublicToX25519(responderKey));
  const eI = m1.subarray(2, 34);
  st.mixHash(eI);
  st.mixKey(dh(xr, eI)); // es
  st.decryptAndHash(m1.subarray(34, 1_234));
  const s = st.decryptAndHash(m1.subarray(1_234, 1_282));
  st.mixKey(dh(xr, s)); // ss
  st.decryptAndHash(m1.subarray(1_282, 1_330));
  const eR = m2.subarray(2, 34);
  st.mixHash(eR);
  st.mixKey(eeGuess);
  const ct = m2.subarray(34, 1_138);
  try {
    st.decryptAndHash(ct);
  } catch {
    st.mixHash(ct);
  }
  st.mixKey(kemGuess);
  st.mixKey(dh(xi, eR)); // se: computable from the initiator's identity
  const [c1, c2] = st.split();
  return [c1!.exportKey(), c2!.exportKey()];
}
