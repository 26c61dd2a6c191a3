import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/bytes.js';
import { SESSION_PREVIOUS_EPOCH_GRACE_MS, SESSION_REPLAY_WINDOW_MESSAGES } from '../../src/constants.js';
import { isProtocolError, type ProtocolErrorCode } from '../../src/errors.js';
import type { SessionKeys } from '../../src/session/hybrid-handshake.js';
import { Session, type SessionOptions } from '../../src/session/session.js';
import { readTransportHeader, TRANSPORT_HEADER_BYTES, writeTransportHeader } from '../../src/session/session-packet.js';
import { isWiped } from '../../src/session/wipe.js';

function codeOf(fn: () => unknown): ProtocolErrorCode | 'no error' | 'not a ProtocolError' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return isProtocolError(err) ? err.code : 'not a ProtocolError';
  }
}

/** A pair of keys as a handshake would give them (the tests need no handshake, only keys). */
function pairKeys(): [SessionKeys, SessionKeys] {
  const k1 = new Uint8Array(32).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  const h = new Uint8Array(32).fill(9);
  return [
    {
      initiator: true,
      remotePublicKey: new Uint8Array(32),
      sendKey: k1,
      receiveKey: k2,
      handshakeHash: h,
    },
    {
      initiator: false,
      remotePublicKey: new Uint8Array(32),
      sendKey: Uint8Array.from(k2),
      receiveKey: Uint8Array.from(k1),
      handshakeHash: h,
    },
  ];
}

function pair(options: SessionOptions = {}) {
  const [ka, kb] = pairKeys();
  let t = 1_000_000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  const a = new Session(ka, { now: clock.now, ...options });
  const b = new Session(kb, { now: clock.now, ...options });
  return { a, b, ka, kb, clock };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('Session: counters, order and replay', () => {
  it('opens packets in any order within the window, each once', () => {
    const { a, b } = pair();
    const packets = Array.from({ length: 50 }, (_, i) => a.seal(utf8(`m${i}`)));
    const order = [...packets.keys()].reverse();
    for (const i of order) expect(text(b.open(packets[i]!))).toBe(`m${i}`);
    for (const i of [0, 17, 49]) expect(codeOf(() => b.open(packets[i]!))).toBe('PROTO_ERR_SESSION_REPLAY');
  });

  it('window edges: top − (size − 1) opens, top − size is too old', () => {
    const { a, b } = pair();
    const packets = Array.from({ length: SESSION_REPLAY_WINDOW_MESSAGES + 2 }, () => a.seal(utf8('x')));
    const top = packets.length - 1;
    b.open(packets[top]!);
    expect(codeOf(() => b.open(packets[top - SESSION_REPLAY_WINDOW_MESSAGES]!))).toBe('PROTO_ERR_SESSION_TOO_OLD');
    expect(codeOf(() => b.open(packets[0]!))).toBe('PROTO_ERR_SESSION_TOO_OLD');
    expect(codeOf(() => b.open(packets[top - SESSION_REPLAY_WINDOW_MESSAGES + 1]!))).toBe('no error');
    expect(codeOf(() => b.open(packets[top - 1]!))).toBe('no error');
  });

  it('a bad tag is refused and consumes nothing: the genuine packet still opens', () => {
    const { a, b } = pair();
    const p = a.seal(utf8('genuine'));
    const forged = Uint8Array.from(p);
    forged[forged.length - 1]! ^= 1;
    expect(codeOf(() => b.open(forged))).toBe('PROTO_ERR_DECRYPT_FAILED');
    const body = Uint8Array.from(p);
    body[TRANSPORT_HEADER_BYTES]! ^= 0x80;
    expect(codeOf(() => b.open(body))).toBe('PROTO_ERR_DECRYPT_FAILED');
    // The header is authenticated: another counter with the same ciphertext fails too.
    const moved = Uint8Array.from(p);
    writeTransportHeader(moved, 0, 5);
    expect(codeOf(() => b.open(moved))).toBe('PROTO_ERR_DECRYPT_FAILED');
    expect(text(b.open(p))).toBe('genuine');
  });

  it('typed refusals for version, type, length and counter limit', () => {
    const { a, b } = pair();
    const p = a.seal(utf8('x'));
    const v = Uint8Array.from(p);
    v[0] = 1;
    expect(codeOf(() => b.open(v))).toBe('PROTO_ERR_BAD_VERSION');
    const t = Uint8Array.from(p);
    t[1] = 1;
    expect(codeOf(() => b.open(t))).toBe('PROTO_ERR_BAD_TYPE');
    t[1] = 9;
    expect(codeOf(() => b.open(t))).toBe('PROTO_ERR_BAD_TYPE');
    expect(codeOf(() => b.open(p.subarray(0, TRANSPORT_HEADER_BYTES + 15)))).toBe('PROTO_ERR_TRUNCATED');
    const huge = Uint8Array.from(p);
    writeTransportHeader(huge, 0, 2 ** 32);
    expect(codeOf(() => b.open(huge))).toBe('PROTO_ERR_SESSION_EXHAUSTED');
    huge.fill(0xff, 6, 14); // counter 2^64 − 1
    expect(readTransportHeader(huge).counter).toBe(Number.POSITIVE_INFINITY);
    expect(codeOf(() => b.open(huge))).toBe('PROTO_ERR_SESSION_EXHAUSTED');
    expect(text(b.open(p))).toBe('x');
  });

  it('the clock never judges a packet: one sealed long ago still opens', () => {
    const { a, b, clock } = pair({ rekeyAfterMs: Number.POSITIVE_INFINITY });
    const p = a.seal(utf8('old'));
    clock.advance(3 * 24 * 3_600_000);
    expect(text(b.open(p))).toBe('old');
  });
});

describe('Session: rekey and erasure', () => {
  it('after rekeyAfterMessages packets the sender moves to epoch 1 and zeroes the old key object', () => {
    const { a, b, ka, kb } = pair({ rekeyAfterMessages: 4 });
    const oldSendKey = ka.sendKey; // the very object the session owns
    const packets = Array.from({ length: 6 }, (_, i) => a.seal(utf8(`m${i}`)));
    expect(packets.map((p) => readTransportHeader(p))).toEqual([
      { epoch: 0, counter: 0 },
      { epoch: 0, counter: 1 },
      { epoch: 0, counter: 2 },
      { epoch: 0, counter: 3 },
      { epoch: 1, counter: 0 },
      { epoch: 1, counter: 1 },
    ]);
    expect(a.sendEpoch).toBe(1);
    expect(isWiped(oldSendKey)).toBe(true);
    // The receiver follows on the first authentic packet of epoch 1, keeps epoch 0 for the grace.
    expect(text(b.open(packets[4]!))).toBe('m4');
    expect(b.receiveEpoch).toBe(1);
    expect(isWiped(kb.receiveKey)).toBe(false);
    expect(text(b.open(packets[1]!))).toBe('m1');
    expect(text(b.open(packets[5]!))).toBe('m5');
  });

  it('the previous epoch opens during the grace only; then its key object is zeroed', () => {
    const { a, b, kb, clock } = pair({ rekeyAfterMessages: 2 });
    const p = Array.from({ length: 3 }, () => a.seal(utf8('x')));
    b.open(p[2]!); // epoch 1
    clock.advance(SESSION_PREVIOUS_EPOCH_GRACE_MS - 1);
    b.open(p[0]!); // epoch 0, in grace
    clock.advance(1);
    expect(codeOf(() => b.open(p[1]!))).toBe('PROTO_ERR_SESSION_UNKNOWN_EPOCH');
    expect(isWiped(kb.receiveKey)).toBe(true);
  });

  it('rekey after time', () => {
    const { a, b, ka, clock } = pair({ rekeyAfterMs: 60_000 });
    b.open(a.seal(utf8('a')));
    clock.advance(60_000);
    const p = a.seal(utf8('b'));
    expect(readTransportHeader(p)).toEqual({ epoch: 1, counter: 0 });
    expect(isWiped(ka.sendKey)).toBe(true);
    expect(text(b.open(p))).toBe('b');
  });

  it('a forged packet of a newer epoch does not move the receiver', () => {
    const { a, b } = pair();
    const p = a.seal(utf8('x'));
    const forged = Uint8Array.from(p);
    writeTransportHeader(forged, 1, 0);
    expect(codeOf(() => b.open(forged))).toBe('PROTO_ERR_DECRYPT_FAILED');
    expect(b.receiveEpoch).toBe(0);
    expect(text(b.open(p))).toBe('x');
  });

  it('skips lost epochs up to SESSION_MAX_EPOCH_SKIP; further ahead is an unknown epoch', () => {
    const { a, b } = pair();
    for (let i = 0; i < 8; i++) a.rekey();
    expect(text(b.open(a.seal(utf8('e8'))))).toBe('e8');
    expect(b.receiveEpoch).toBe(8);
    for (let i = 0; i < 9; i++) a.rekey();
    expect(codeOf(() => b.open(a.seal(utf8('e17'))))).toBe('PROTO_ERR_SESSION_UNKNOWN_EPOCH');
    expect(b.receiveEpoch).toBe(8);
  });

  it('an epoch older than the previous one is unknown', () => {
    const { a, b } = pair({ rekeyAfterMessages: 1 });
    const p = [a.seal(utf8('0')), a.seal(utf8('1')), a.seal(utf8('2'))];
    b.open(p[1]!);
    b.open(p[2]!);
    expect(codeOf(() => b.open(p[0]!))).toBe('PROTO_ERR_SESSION_UNKNOWN_EPOCH');
  });

  it('close() zeroes every key object and refuses further use', () => {
    const { a, b, ka, kb } = pair();
    b.open(a.seal(utf8('x')));
    a.close();
    b.close();
    for (const k of [ka.sendKey, ka.receiveKey, kb.sendKey, kb.receiveKey]) expect(isWiped(k)).toBe(true);
    expect(codeOf(() => a.seal(utf8('y')))).toBe('PROTO_ERR_SESSION_CLOSED');
    expect(codeOf(() => b.open(new Uint8Array(40)))).toBe('PROTO_ERR_SESSION_CLOSED');
  });
});
