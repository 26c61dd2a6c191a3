/**
 * The one Ed25519 verification rule both crypto suites follow (issue 12, item 9).
 *
 * A signature (R ‖ S) on message M under public key A is valid when all of these hold:
 *   1. A is 32 bytes, the signature 64 bytes, M a byte array;
 *   2. S < L (RFC 8032 §5.1.7: canonical scalar, no S + L malleability);
 *   3. A and R are canonical point encodings: y < p, and no "negative zero" (x = 0 with the
 *      sign bit set). RFC 8032 §5.1.3 decoding already refuses y ≥ p; the sign rule is
 *      §5.1.3 step 4;
 *   4. neither A nor R is one of the 8 points of small order (the 8-torsion subgroup);
 *   5. the cofactorless equation [S]B = R + [k]A holds, k = SHA-512(R ‖ A ‖ M) mod L
 *      (RFC 8032 §5.1.7 calls it sufficient; OpenSSL checks exactly this one).
 *
 * This is the rule of libsodium's crypto_sign_verify_detached and ed25519-dalek's
 * verify_strict. Why each part:
 * - (2)+(3): exactly one encoding of each signature and key is valid, so signatures are not
 *   malleable and a key has one fingerprint.
 * - (4): with a small-order A, a signature with R = -[k]A and S = 0 verifies for every message
 *   without any secret (anyone could "sign" as that key; OpenSSL accepted R = identity, S = 0
 *   under A = identity). A small-order R carries no commitment to a secret nonce.
 * - (5): the two suites must give one answer. OpenSSL is cofactorless and cannot be changed;
 *   @noble's own verify is cofactored ([8][S]B = [8]R + [8][k]A). The two differ only when A
 *   or R has a torsion component, which no honest signer produces. So the equation is
 *   cofactorless in both, and the portable suite evaluates it with @noble point operations.
 *
 * Checks 1-4 are byte comparisons (no curve arithmetic) and run here, before either suite's
 * equation, so the suites cannot drift apart on them. Step 4 needs only the 8 canonical
 * encodings: a non-canonical encoding of a small-order point (y + p, or a negative zero) is
 * already refused by step 3.
 */

/** Bytes in an Ed25519 public key / point encoding. */
export const ED25519_POINT_BYTES = 32;
/** Bytes in an Ed25519 signature (R ‖ S). */
export const ED25519_SIGNATURE_BYTES = 64;

/** Constants below only: 64 hex digits → 32 bytes. */
function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!, (b) => Number.parseInt(b, 16));
}

/** L = 2^252 + 27742317777372353535851937790883648493, little-endian (RFC 8032 §5.1). */
const L_LE = hexBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');

/**
 * The canonical encodings of the 8 points of order dividing 8: identity (order 1), (0, -1)
 * (order 2), (±√-1, 0) (order 4) and the four points of order 8. Published as libsodium's
 * small-order blocklist; test/adversarial/item-09-suite-agreement.test.ts re-derives the set
 * with @noble/curves (the multiples 0..7 of a point of order 8).
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = Object.freeze([
  '0100000000000000000000000000000000000000000000000000000000000000', // identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // (0, -1), order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
]);
const SMALL_ORDER_BYTES: readonly Uint8Array[] = SMALL_ORDER_ENCODINGS.map(hexBytes);

/** True when the 32 little-endian bytes `s` are a scalar below L. */
export function isCanonicalScalar(s: Uint8Array): boolean {
  if (s.length !== 32) return false;
  for (let i = 31; i >= 0; i--) {
    if (s[i]! < L_LE[i]!) return true;
    if (s[i]! > L_LE[i]!) return false;
  }
  return false; // s = L
}

/**
 * True when `p` is a canonical point encoding: y (the low 255 bits) below p = 2^255 - 19, and
 * the sign bit clear when x = 0 (y = 1 or y = p - 1). Whether y is on the curve at all is the
 * equation's business (both suites refuse an undecodable point).
 */
export function isCanonicalPointEncoding(p: Uint8Array): boolean {
  if (p.length !== ED25519_POINT_BYTES) return false;
  const top = p[31]! & 0x7f;
  const signBit = p[31]! & 0x80;
  let middleAllOnes = true; // bytes 1..30 all 0xff
  let middleAllZero = true; // bytes 1..30 all 0x00
  for (let i = 1; i < 31; i++) {
    if (p[i] !== 0xff) middleAllOnes = false;
    if (p[i] !== 0) middleAllZero = false;
  }
  // y ≥ p means top = 0x7f, bytes 1..30 = 0xff and byte 0 ≥ 0xed (p = 0x7fff…ffed).
  if (top === 0x7f && middleAllOnes && p[0]! >= 0xed) return false;
  if (signBit !== 0) {
    const yIsOne = top === 0 && middleAllZero && p[0] === 1;
    const yIsMinusOne = top === 0x7f && middleAllOnes && p[0] === 0xec;
    if (yIsOne || yIsMinusOne) return false; // x = 0 has no negative
  }
  return true;
}

/** True when `p` is the canonical encoding of one of the 8 small-order points. */
export function isSmallOrderEncoding(p: Uint8Array): boolean {
  outer: for (const bad of SMALL_ORDER_BYTES) {
    for (let i = 0; i < ED25519_POINT_BYTES; i++) if (p[i] !== bad[i]) continue outer;
    return true;
  }
  return false;
}

/** p = 2^255 - 19, little-endian: a y at or above it (with the sign bit cleared) is non-canonical. */
const P_LE = hexBytes('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
/** The y coordinates (sign bit cleared) of the small-order points, the x sign not counted. */
const SMALL_ORDER_Y: readonly Uint8Array[] = SMALL_ORDER_BYTES.map((b) => {
  const y = Uint8Array.from(b);
  y[31]! &= 0x7f;
  return y;
}).filter((y, i, all) => all.findIndex((o) => o.every((v, j) => v === y[j])) === i);

/**
 * True when `p` encodes a small-order point in any way, canonical or not: one of the 8
 * canonical encodings, y + p for the y < 19 ones (y = 0: order 4, y = 1: the identity), or the
 * sign bit set where x = 0 (the identity and the order-2 point). A key decoder refuses all of
 * these (PROTO_ERR_WEAK_KEY); the signature rule above needs only the canonical 8 because it
 * refuses non-canonical encodings first. Byte work only.
 */
export function isSmallOrderPoint(p: Uint8Array): boolean {
  if (!(p instanceof Uint8Array) || p.length !== ED25519_POINT_BYTES) return false;
  const y = Uint8Array.from(p);
  y[31]! &= 0x7f; // every small-order y has a point of either sign or none to mis-sign
  let atLeastP = true;
  for (let i = 31; i >= 0; i--) {
    if (y[i]! > P_LE[i]!) break;
    if (y[i]! < P_LE[i]!) {
      atLeastP = false;
      break;
    }
  }
  if (atLeastP) {
    // y ∈ [p, 2^255 - 1] is y - p ∈ [0, 18]: only byte 0 stays non-zero.
    const low = y[0]! - 0xed;
    y.fill(0);
    y[0] = low;
  }
  return SMALL_ORDER_Y.some((s) => s.every((v, i) => v === y[i]));
}

/**
 * Checks 1-4 of the rule above: true when the inputs may go on to the verification equation.
 * Byte comparisons only; never throws.
 */
export function passesStrictPrechecks(publicKey: unknown, message: unknown, signature: unknown): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_POINT_BYTES) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  if (!(message instanceof Uint8Array)) return false;
  const r = signature.subarray(0, ED25519_POINT_BYTES);
  if (!isCanonicalScalar(signature.subarray(ED25519_POINT_BYTES))) return false;
  if (!isCanonicalPointEncoding(publicKey) || !isCanonicalPointEncoding(r)) return false;
  if (isSmallOrderEncoding(publicKey) || isSmallOrderEncoding(r)) return false;
  return true;
}

/**
 * Verifies under the rule above: the shared pre-checks, then `equation` (a suite's
 * cofactorless [S]B = R + [k]A). Never throws: an equation that throws counts as false.
 */
export function verifyStrict(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  equation: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean,
): boolean {
  if (!passesStrictPrechecks(publicKey, message, signature)) return false;
  try {
    return equation(publicKey, message, signature) === true;
  } catch {
    return false;
  }
}
