/**
 * The byte-level pre-checks of the shared Ed25519 rule (src/crypto/ed25519-strict.ts) against
 * @noble/curves' own decoders: they must call an on-curve encoding canonical exactly when strict
 * RFC 8032 decoding accepts it. The published edge-case vectors and the suite-agreement tests
 * are in test/adversarial/item-09-suite-agreement.test.ts.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCanonicalPointEncoding, isCanonicalScalar, isSmallOrderEncoding } from '../src/index.js';

const { Point } = ed25519;
const P = Point.Fp.ORDER;
const L = Point.Fn.ORDER;

function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let rest = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}
function decodes(bytes: Uint8Array, zip215: boolean): boolean {
  try {
    Point.fromBytes(bytes, zip215);
    return true;
  } catch {
    return false;
  }
}

/** y values where encodings are tricky: around 0, 1, p - 1 and p, each with both sign bits. */
const edgeEncodings = fc
  .tuple(
    fc.oneof(
      fc.bigInt({ min: 0n, max: 20n }),
      fc.bigInt({ min: P - 20n, max: 2n ** 255n - 1n }),
      fc.bigInt({ min: 0n, max: 2n ** 255n - 1n }),
    ),
    fc.boolean(),
  )
  .map(([y, sign]) => {
    const e = le32(y);
    if (sign) e[31]! |= 0x80;
    return e;
  });

describe('ed25519-strict pre-checks', () => {
  it('an on-curve encoding is canonical exactly when strict decoding accepts it', () => {
    fc.assert(
      fc.property(fc.oneof(edgeEncodings, fc.uint8Array({ minLength: 32, maxLength: 32 })), (e) => {
        if (!decodes(e, true)) return; // not on the curve at all: left to the equation
        expect(isCanonicalPointEncoding(e)).toBe(decodes(e, false));
      }),
      { numRuns: 2000 },
    );
    // Exhaustively, the 19 encodings y + p and the two negative zeros.
    for (let y = 0n; y < 19n; y++) expect(isCanonicalPointEncoding(le32(y + P))).toBe(false);
    const negZero = le32(1n);
    negZero[31]! |= 0x80;
    const negZeroMinusOne = le32(P - 1n);
    negZeroMinusOne[31]! |= 0x80;
    expect(isCanonicalPointEncoding(negZero)).toBe(false);
    expect(isCanonicalPointEncoding(negZeroMinusOne)).toBe(false);
    expect(isCanonicalPointEncoding(le32(P - 1n))).toBe(true);
  });

  it('a scalar is canonical exactly when it is below L', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: L - 3n, max: L + 3n }), fc.bigInt({ min: 0n, max: 2n ** 256n - 1n })),
        (s) => {
          expect(isCanonicalScalar(le32(s))).toBe(s < L);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('the small-order check agrees with @noble on decodable canonical encodings', () => {
    fc.assert(
      fc.property(fc.oneof(edgeEncodings, fc.uint8Array({ minLength: 32, maxLength: 32 })), (e) => {
        if (!decodes(e, false)) return;
        expect(isSmallOrderEncoding(e)).toBe(Point.fromBytes(e, false).isSmallOrder());
      }),
      { numRuns: 2000 },
    );
    // A mixed-order point (prime-order part plus torsion) is not small order.
    const mixed = Point.BASE.multiply(5n)
      .add(Point.fromBytes(le32(0n)))
      .toBytes();
    expect(isSmallOrderEncoding(mixed)).toBe(false);
  });
});
