/**
 * PeerSessions alone (two instances wired back to back in memory, real crypto): who may make a
 * session, the handshake rate limit, the tie-break, re-handshake after a restart, recovery
 * when the two sides hold different sessions (a lost CONFIRM), and the rekey policy. The end-to-end versions over real sockets are in v2-sessions.integration.test.ts.
 */
import { type CryptoSuite, encodeKey, generateIdentity, type Identity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { PEER_HANDSHAKE_RESPONSES_PER_PEER, PEER_SESSION_RECONFIRM_MS } from '../../src/constants.js';
import { PeerSessions, type PeerSessionsDeps } from '../../src/session/peer-sessions.js';

/** nodeSuite with its X25519 calls counted: a refused message 1 must cost none. */
function countingSuite(): CryptoSuite & { x25519Calls: number } {
  const s = {
    ...nodeSuite,
    x25519Calls: 0,
    x25519(secret: Uint8Array, pub: Uint8Array) {
      s.x25519Calls++;
      return nodeSuite.x25519(secret, pub);
    },
    x25519Key(secret: Uint8Array) {
      s.x25519Calls++;
      return nodeSuite.x25519Key(secret);
    },
  };
  return s;
}

interface Side {
  id: Identity;
  ps: PeerSessions;
  suite: ReturnType<typeof countingSuite>;
  out: Uint8Array[];
  rejected: string[];
  established: string[];
}

const made: PeerSessions[] = [];
afterEach(() => {
  for (const p of made.splice(0)) p.stop();
});

function side(trusts: () => boolean, extra: Partial<PeerSessionsDeps> = {}, id = generateIdentity(nodeSuite)): Side {
  const suite = countingSuite();
  const s: Side = { id, suite, out: [], rejected: [], established: [], ps: undefined as unknown as PeerSessions };
  s.ps = new PeerSessions({
    suite,
    identity: id,
    now: Date.now,
    isTrusted: trusts,
    transmit: (_k, p) => {
      s.out.push(p);
    },
    onEstablished: (peer) => s.established.push(peer),
    onRejected: (_peer, code) => s.rejected.push(code),
    wantsSession: () => false,
    ...extra,
  });
  made.push(s.ps);
  return s;
}

/** Deliver everything queued, both ways, until quiet. */
function settle(a: Side, b: Side): void {
  for (let i = 0; i < 20 && (a.out.length > 0 || b.out.length > 0); i++) {
    for (const p of a.out.splice(0)) route(b, a.id.publicKey, p);
    for (const p of b.out.splice(0)) route(a, b.id.publicKey, p);
  }
}

function route(to: Side, from: Uint8Array, p: Uint8Array): void {
  if (p[1] === 1) to.ps.onHandshakeInit(from, p);
  else if (p[1] === 2) to.ps.onHandshakeResponse(from, p);
  else to.ps.open(from, p);
}

/** A and B on a settable clock, both live on one session (S1) that A initiated. */
function liveOnOneSession() {
  const clock = { now: 1_000_000 };
  const now = () => clock.now;
  const a = side(() => true, { now });
  const b = side(() => true, { now });
  const aKey = encodeKey(a.id.publicKey);
  const bKey = encodeKey(b.id.publicKey);
  a.ps.ensure(bKey, b.id.publicKey);
  settle(a, b);
  return { clock, now, a, b, aKey, bKey };
}

describe('PeerSessions', () => {
  it('drops message 1 from a key that is not trusted before any X25519 or ML-KEM work, counted', () => {
    const a = side(() => true);
    const b = side(() => false);
    a.ps.ensure(encodeKey(b.id.publicKey), b.id.publicKey);
    const init = a.out.pop()!;
    const before = b.suite.x25519Calls;
    b.ps.onHandshakeInit(a.id.publicKey, init);
    expect(b.suite.x25519Calls).toBe(before);
    expect(b.rejected).toEqual(['CLIENT_ERR_NOT_TRUSTED']);
    expect(b.ps.counters.rejected).toBe(1);
    expect(b.out).toEqual([]);
  });

  it('answers at most PEER_HANDSHAKE_RESPONSES_PER_PEER messages 1 per peer per window', () => {
    const a = side(() => true);
    const b = side(() => true);
    const bKey = encodeKey(b.id.publicKey);
    for (let i = 0; i < PEER_HANDSHAKE_RESPONSES_PER_PEER + 3; i++) {
      a.ps.drop(bKey);
      a.ps.ensure(bKey, b.id.publicKey);
      b.ps.onHandshakeInit(a.id.publicKey, a.out.pop()!);
    }
    expect(b.ps.counters.accepted).toBe(PEER_HANDSHAKE_RESPONSES_PER_PEER);
    expect(b.rejected).toEqual(Array(3).fill('CLIENT_ERR_HANDSHAKE_RATE_LIMITED'));
  });

  it('simultaneous open: the lower key wins, one session, same handshake hash', () => {
    const a = side(() => true);
    const b = side(() => true);
    const aKey = encodeKey(a.id.publicKey);
    const bKey = encodeKey(b.id.publicKey);
    a.ps.ensure(bKey, b.id.publicKey);
    b.ps.ensure(aKey, a.id.publicKey);
    settle(a, b);
    const lowerIsA = Buffer.compare(a.id.publicKey, b.id.publicKey) < 0;
    const [winner, loser] = lowerIsA ? [a, b] : [b, a];
    expect(winner.ps.counters.tieBreaks).toBe(1);
    expect(winner.ps.counters.completed).toBe(1);
    expect(loser.ps.counters.accepted).toBe(1);
    expect(loser.ps.counters.completed).toBe(0);
    expect(Buffer.from(a.ps.sessionId(bKey)!)).toEqual(Buffer.from(b.ps.sessionId(aKey)!));
    // And it carries data both ways.
    const p = a.ps.seal(bKey, Uint8Array.of(5, 0, 0))!;
    expect(b.ps.open(a.id.publicKey, p)).toEqual(Uint8Array.of(5, 0, 0));
  });

  it('a peer that restarted (its session gone) gets a new handshake from a packet that opens under nothing', () => {
    const a = side(() => true);
    const b = side(() => true);
    const aKey = encodeKey(a.id.publicKey);
    const bKey = encodeKey(b.id.publicKey);
    a.ps.ensure(bKey, b.id.publicKey);
    settle(a, b);
    const old = a.ps.sessionId(bKey)!;
    // B restarts: same identity, no session state.
    const b2 = side(() => true, {}, b.id);
    const stale = a.ps.seal(bKey, Uint8Array.of(0x10))!;
    expect(b2.ps.open(a.id.publicKey, stale)).toBeNull();
    expect(b2.rejected).toEqual(['CLIENT_ERR_NO_SESSION']);
    expect(b2.out[0]![1]).toBe(1); // B2 sends message 1
    settle(a, b2);
    expect(Buffer.from(a.ps.sessionId(bKey)!)).not.toEqual(Buffer.from(old));
    expect(Buffer.from(a.ps.sessionId(bKey)!)).toEqual(Buffer.from(b2.ps.sessionId(aKey)!));
    // A replayed packet never starts one.
    const p = a.ps.seal(bKey, Uint8Array.of(0x10))!;
    b2.ps.open(a.id.publicKey, p);
    b2.ps.open(a.id.publicKey, p);
    expect(b2.rejected.at(-1)).toBe('PROTO_ERR_SESSION_REPLAY');
    expect(b2.out).toEqual([]);
  });

  it('a lost CONFIRM: the initiator repeats it when the peer seals under an older session, and the peer moves to ours', () => {
    const { now, a, b, aKey, bKey } = liveOnOneSession();
    // A restarts (same identity) and makes S2; B answers (candidate beside live S1), but the
    // CONFIRM that would make S2 live at B is lost.
    const a2 = side(() => true, { now }, a.id);
    a2.ps.ensure(bKey, b.id.publicKey);
    b.ps.onHandshakeInit(a.id.publicKey, a2.out.pop()!);
    a2.ps.onHandshakeResponse(b.id.publicKey, b.out.pop()!);
    a2.out.splice(0); // the CONFIRM, lost
    // B still seals under S1, which A2 cannot open: A2 repeats its CONFIRM, once per interval.
    expect(a2.ps.open(b.id.publicKey, b.ps.seal(aKey, Uint8Array.of(5, 0, 0))!)).toBeNull();
    expect(a2.ps.open(b.id.publicKey, b.ps.seal(aKey, Uint8Array.of(5, 0, 0))!)).toBeNull();
    expect(a2.out.map((p) => p[1])).toEqual([3]); // one TRANSPORT, no message 1
    expect(b.ps.open(a.id.publicKey, a2.out.pop()!)).toEqual(Uint8Array.of(0x10));
    expect(b.established).toEqual([aKey, aKey]); // S1 at first, now S2
    expect(Buffer.from(b.ps.sessionId(aKey)!)).toEqual(Buffer.from(a2.ps.sessionId(bKey)!));
    expect(a2.ps.open(b.id.publicKey, b.ps.seal(aKey, Uint8Array.of(5, 0, 1))!)).toEqual(Uint8Array.of(5, 0, 1));
    expect(a2.ps.counters.initiated).toBe(1);
  });

  it('two sides live on different sessions (neither holds the other): a repeated CONFIRM fails, then a new handshake joins them', () => {
    const { clock, now, a, b, aKey, bKey } = liveOnOneSession();
    // B restarts and makes S2 with a stand-in of A that then vanishes: A keeps S1, B2 has S2.
    const b2 = side(() => true, { now }, b.id);
    const aStandIn = side(() => true, { now }, a.id);
    b2.ps.ensure(aKey, a.id.publicKey);
    aStandIn.ps.onHandshakeInit(b.id.publicKey, b2.out.pop()!);
    b2.ps.onHandshakeResponse(a.id.publicKey, aStandIn.out.pop()!);
    b2.out.splice(0);
    // B2's packet is unreadable at A: A repeats its CONFIRM (S1), which B2 cannot read either.
    expect(a.ps.open(b.id.publicKey, b2.ps.seal(aKey, Uint8Array.of(5, 0, 0))!)).toBeNull();
    expect(a.out.map((p) => p[1])).toEqual([3]);
    expect(b2.ps.open(a.id.publicKey, a.out.pop()!)).toBeNull();
    b2.out.splice(0); // B2's own repeated CONFIRM (S2), unreadable at A within the interval
    // Still unreadable an interval later: A starts a handshake beside its live session.
    clock.now += PEER_SESSION_RECONFIRM_MS;
    expect(a.ps.open(b.id.publicKey, b2.ps.seal(aKey, Uint8Array.of(5, 0, 1))!)).toBeNull();
    expect(a.out.map((p) => p[1])).toEqual([1]);
    settle(a, b2);
    expect(Buffer.from(a.ps.sessionId(bKey)!)).toEqual(Buffer.from(b2.ps.sessionId(aKey)!));
    expect(b2.ps.open(a.id.publicKey, a.ps.seal(bKey, Uint8Array.of(5, 0, 2))!)).toEqual(Uint8Array.of(5, 0, 2));
    expect(a.ps.open(b.id.publicKey, b2.ps.seal(aKey, Uint8Array.of(5, 0, 3))!)).toEqual(Uint8Array.of(5, 0, 3));
  });

  it('rekeys after the configured number of messages; the receiver follows', () => {
    const a = side(() => true, { sessionOptions: { rekeyAfterMessages: 3 } });
    const b = side(() => true, { sessionOptions: { rekeyAfterMessages: 3 } });
    const bKey = encodeKey(b.id.publicKey);
    a.ps.ensure(bKey, b.id.publicKey);
    settle(a, b);
    const epochs = new Set<number>();
    for (let i = 0; i < 10; i++) {
      const p = a.ps.seal(bKey, Uint8Array.of(0x10))!;
      epochs.add(new DataView(p.buffer, p.byteOffset).getUint32(2));
      expect(b.ps.open(a.id.publicKey, p)).not.toBeNull();
    }
    expect(epochs.size).toBeGreaterThanOrEqual(3);
  });
});
