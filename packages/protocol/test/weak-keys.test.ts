/**
 * Small-order Ed25519 public keys are refused where a key is decoded (issue 18 carried item):
 * under such a key, signatures verify for many messages without a secret, and its X25519 form
 * gives an all-zero shared secret. Every encoding is refused: the 8 canonical ones and the
 * non-canonical spellings of the same points (y + p, a set sign bit where x = 0).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkPeerKey,
  decodeKey,
  ENVELOPE_SENDER_OFFSET,
  EnvelopeType,
  encodeKey,
  fromHex,
  identityFromSecret,
  isSmallOrderPoint,
  openEnvelope,
  portableSuite,
  ReplayGuard,
  SMALL_ORDER_ENCODINGS,
  sealEnvelope,
  toBase64url,
  toHex,
  verifyEnvelopeSignature,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';
import { codeOf } from './error-code.js';

/** Non-canonical encodings of small-order points (little-endian hex). */
const NON_CANONICAL_SMALL_ORDER = [
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p ≡ 0 (order 4)
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // y = p ≡ 0, other sign
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1 ≡ 1 (identity)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // y = p + 1, sign bit set
  '0100000000000000000000000000000000000000000000000000000000000080', // identity, "negative zero"
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // (0, -1), "negative zero"
];
const ALL_SMALL_ORDER = [...SMALL_ORDER_ENCODINGS, ...NON_CANONICAL_SMALL_ORDER];
const bytes = (hex: string) => fromHex(hex)!;

describe('small-order public keys', () => {
  it('the canonical list is exactly the 8-torsion subgroup (derived with @noble/curves)', () => {
    // A point of order 8: the canonical list's first order-8 entry; its multiples 0..7 are the group.
    const p8 = ed25519.Point.fromHex(SMALL_ORDER_ENCODINGS[4]!);
    const derived = new Set<string>();
    let q = ed25519.Point.ZERO;
    for (let i = 0; i < 8; i++, q = q.add(p8)) derived.add(q.toHex());
    expect(derived).toEqual(new Set(SMALL_ORDER_ENCODINGS));
  });

  it('decodeKey refuses every encoding of a small-order point with PROTO_ERR_WEAK_KEY', () => {
    for (const hex of ALL_SMALL_ORDER) {
      expect(isSmallOrderPoint(bytes(hex)), hex).toBe(true);
      expect(
        codeOf(() => decodeKey(toBase64url(bytes(hex)))),
        hex,
      ).toBe('PROTO_ERR_WEAK_KEY');
    }
  });

  it('decodeKey refuses another non-canonical encoding with PROTO_ERR_BAD_KEY', () => {
    // y = p + 2 (≡ 2): not small order, but a second spelling of a key.
    const y = bytes('efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    expect(isSmallOrderPoint(y)).toBe(false);
    expect(codeOf(() => decodeKey(toBase64url(y)))).toBe('PROTO_ERR_BAD_KEY');
  });

  it('accepts real keys, and random bytes are small-order only when listed', () => {
    const me = identityFromSecret(nodeSuite, new Uint8Array(32).fill(9));
    expect(decodeKey(encodeKey(me.publicKey))).toEqual(me.publicKey);
    const listed = new Set(ALL_SMALL_ORDER);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
        expect(isSmallOrderPoint(b)).toBe(listed.has(toHex(b)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('an envelope whose sender is small-order is refused as PROTO_ERR_WEAK_KEY before its signature is checked', () => {
    const alice = identityFromSecret(portableSuite, new Uint8Array(32).fill(1));
    const bob = identityFromSecret(portableSuite, new Uint8Array(32).fill(2));
    const env = sealEnvelope(portableSuite, {
      type: EnvelopeType.DATA,
      sender: alice,
      recipient: bob.publicKey,
      plaintext: new TextEncoder().encode('hi'),
    });
    const senderAt = ENVELOPE_SENDER_OFFSET;
    expect(toHex(env.subarray(senderAt, senderAt + 32))).toBe(toHex(alice.publicKey));
    for (const hex of ALL_SMALL_ORDER) {
      const forged = env.slice();
      forged.set(bytes(hex), senderAt);
      expect(
        codeOf(() => verifyEnvelopeSignature(nodeSuite, forged)),
        hex,
      ).toBe('PROTO_ERR_WEAK_KEY');
      const opts = { recipient: bob, replayGuard: new ReplayGuard() };
      expect(
        codeOf(() => openEnvelope(portableSuite, forged, opts)),
        hex,
      ).toBe('PROTO_ERR_WEAK_KEY');
    }
    expect(codeOf(() => checkPeerKey(alice.publicKey))).toBeUndefined();
  });
});
