/**
 * classifyPeerPacket / checkPeerPacket: every real kind (built by the real encoders) is
 * classified with the right views; every malformed input is a ProtocolError with a stable code,
 * and random bytes never produce anything else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bytesEqual,
  checkPeerPacket,
  classifyPeerPacket,
  createPrekeyBundle,
  decodePrekeyPacket,
  EnvelopeType,
  encodePrekeyPacket,
  isStorablePeerPacket,
  MAX_HANDSHAKE_RESPONSE_BYTES,
  MAX_PREKEY_PACKET_BYTES,
  MAX_TRANSPORT_PACKET_BYTES,
  MIN_PREKEY_PACKET_BYTES,
  PeerPacketKind,
  ProtocolError,
  peerPacketOffsets,
  Session,
  sealEnvelope,
  sealToPrekey,
  utf8,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';
import { alice, bob, handshake } from './session/helpers.js';

const T0 = 1_764_000_000_000;
const bundle = createPrekeyBundle(nodeSuite, { identity: bob, bundleId: 7, createdAt: T0 });
const hs = handshake(utf8('payload'));
const aliceSession = new Session(hs.initiatorKeys);

const envelope = sealEnvelope(nodeSuite, {
  type: EnvelopeType.CONSENT_REQUEST,
  sender: alice,
  recipient: bob.publicKey,
  plaintext: utf8('hello'),
  timestamp: T0,
});
const sealed = sealToPrekey(nodeSuite, {
  sender: alice,
  recipient: bob.publicKey,
  bundle: bundle.encoded,
  now: T0 + 1000,
  sequence: 3,
  plaintext: utf8('offline hello'),
});
const prekeyPacket = encodePrekeyPacket(sealed.message);
const transport = aliceSession.seal(utf8('data'));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('classifyPeerPacket on real packets', () => {
  it('envelope v1: storable, sender/recipient/message id views', () => {
    const p = classifyPeerPacket(envelope);
    expect(p.version).toBe(1);
    expect(p.kind).toBe(PeerPacketKind.ENVELOPE);
    expect(p.storable).toBe(true);
    expect(bytesEqual(p.sender!, alice.publicKey)).toBe(true);
    expect(bytesEqual(p.recipient!, bob.publicKey)).toBe(true);
    expect(bytesEqual(p.messageId!, envelope.subarray(2, 18))).toBe(true);
  });

  it('PREKEY: storable, sender/recipient from the prekey header, the sealed message id', () => {
    const p = classifyPeerPacket(prekeyPacket);
    expect(p).toMatchObject({ version: 2, kind: PeerPacketKind.PREKEY, storable: true });
    expect(bytesEqual(p.sender!, alice.publicKey)).toBe(true);
    expect(bytesEqual(p.recipient!, bob.publicKey)).toBe(true);
    expect(bytesEqual(p.messageId!, sealed.messageId)).toBe(true);
    expect(bytesEqual(decodePrekeyPacket(prekeyPacket), sealed.message)).toBe(true);
    // The contract's fixed offsets (docs/protocol.md): sender at 3, recipient at 35, message id at 1,199.
    expect(peerPacketOffsets(PeerPacketKind.PREKEY)).toEqual({ sender: 3, recipient: 35, messageId: 1_199 });
  });

  it('handshake init, response and transport: live-only, no views', () => {
    expect(classifyPeerPacket(hs.message1)).toEqual({ version: 2, kind: 'handshake-init', storable: false });
    expect(classifyPeerPacket(hs.message2)).toEqual({ version: 2, kind: 'handshake-response', storable: false });
    expect(classifyPeerPacket(transport)).toEqual({ version: 2, kind: 'transport', storable: false });
    for (const k of ['handshake-init', 'handshake-response', 'transport'] as const) {
      expect(isStorablePeerPacket(k)).toBe(false);
      expect(peerPacketOffsets(k)).toBeNull();
    }
  });
});

describe('classifyPeerPacket refuses with typed codes', () => {
  it('unknown version names the version and the versions spoken', () => {
    const bad = Uint8Array.from(envelope);
    bad[0] = 3;
    let err: unknown;
    try {
      classifyPeerPacket(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('PROTO_ERR_BAD_VERSION');
    expect((err as ProtocolError).message).toContain('unknown peer-packet version 3 (this implementation speaks 1, 2)');
  });

  it('unknown v2 type names the type', () => {
    for (const type of [0, 5, 0xff]) {
      const bad = Uint8Array.from(transport);
      bad[1] = type;
      expect(codeOf(() => checkPeerPacket(bad))).toBe('PROTO_ERR_BAD_TYPE');
      expect(() => checkPeerPacket(bad)).toThrow(`type ${type}`);
    }
  });

  it('empty, truncated and oversized packets of every kind', () => {
    expect(codeOf(() => checkPeerPacket(new Uint8Array(0)))).toBe('PROTO_ERR_TRUNCATED');
    expect(codeOf(() => checkPeerPacket(Uint8Array.of(2)))).toBe('PROTO_ERR_TRUNCATED');
    expect(codeOf(() => checkPeerPacket(envelope.subarray(0, envelope.length - 1)))).toBe('PROTO_ERR_TRUNCATED');
    expect(codeOf(() => checkPeerPacket(hs.message1.subarray(0, hs.message1.length - 1)))).toBe('PROTO_ERR_TRUNCATED');
    const longInit = new Uint8Array(hs.message1.length + 1);
    longInit.set(hs.message1);
    expect(codeOf(() => checkPeerPacket(longInit))).toBe('PROTO_ERR_TOO_LARGE');
    expect(codeOf(() => checkPeerPacket(hs.message2.subarray(0, 100)))).toBe('PROTO_ERR_TRUNCATED');
    const longResponse = new Uint8Array(MAX_HANDSHAKE_RESPONSE_BYTES + 1);
    longResponse.set([2, 2]);
    expect(codeOf(() => checkPeerPacket(longResponse))).toBe('PROTO_ERR_TOO_LARGE');
    expect(codeOf(() => checkPeerPacket(transport.subarray(0, 29)))).toBe('PROTO_ERR_TRUNCATED');
    const longTransport = new Uint8Array(MAX_TRANSPORT_PACKET_BYTES + 1);
    longTransport.set([2, 3]);
    expect(codeOf(() => checkPeerPacket(longTransport))).toBe('PROTO_ERR_TOO_LARGE');
    expect(codeOf(() => checkPeerPacket(prekeyPacket.subarray(0, MIN_PREKEY_PACKET_BYTES - 1)))).toBe(
      'PROTO_ERR_TRUNCATED',
    );
    const longPrekey = new Uint8Array(MAX_PREKEY_PACKET_BYTES + 1);
    longPrekey.set(prekeyPacket.subarray(0, 100));
    expect(codeOf(() => checkPeerPacket(longPrekey))).toBe('PROTO_ERR_TOO_LARGE');
  });

  it('PREKEY with a wrong inner version or a sequence beyond 2^53', () => {
    const badInner = Uint8Array.from(prekeyPacket);
    badInner[2] = 9;
    expect(codeOf(() => checkPeerPacket(badInner))).toBe('PROTO_ERR_BAD_VERSION');
    const badSeq = Uint8Array.from(prekeyPacket);
    badSeq[2 + 1_189] = 0xff;
    expect(codeOf(() => checkPeerPacket(badSeq))).toBe('PROTO_ERR_BAD_ENCODING');
  });

  it('decodePrekeyPacket refuses the other kinds; non-bytes are an invalid argument', () => {
    expect(codeOf(() => decodePrekeyPacket(transport))).toBe('PROTO_ERR_BAD_TYPE');
    expect(codeOf(() => decodePrekeyPacket(envelope))).toBe('PROTO_ERR_BAD_TYPE');
    expect(codeOf(() => checkPeerPacket('x' as unknown as Uint8Array))).toBe('PROTO_ERR_INVALID_ARGUMENT');
  });
});

describe('classifyPeerPacket properties', () => {
  it('random bytes: a classification or a ProtocolError, never anything else', () => {
    const prefix = fc.oneof(
      fc.constantFrom([], [1], [2], [2, 1], [2, 2], [2, 3], [2, 4], [2, 4, 1]),
      fc.integer({ min: 0, max: 255 }).map((v) => [v]),
      fc.integer({ min: 0, max: 255 }).map((t) => [2, t]),
    );
    const body = fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1_100, maxLength: 3_000 }));
    fc.assert(
      fc.property(prefix, body, (p, rest) => {
        const bytes = new Uint8Array(p.length + rest.length);
        bytes.set(p);
        bytes.set(rest, p.length);
        try {
          const c = classifyPeerPacket(bytes);
          expect(c.storable).toBe(isStorablePeerPacket(c.kind));
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it('a valid packet of each kind with one byte flipped: classified or a ProtocolError', () => {
    const packets = [envelope, hs.message1, hs.message2, transport, prekeyPacket];
    const kinds = packets.map((p) => classifyPeerPacket(p).kind);
    expect(new Set(kinds).size).toBe(5);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.nat(), (i, at) => {
        const p = Uint8Array.from(packets[i]!);
        p[at % p.length]! ^= 0x5a;
        try {
          classifyPeerPacket(p);
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
