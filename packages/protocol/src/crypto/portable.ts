import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../bytes.js';
import { ProtocolError } from '../errors.js';
import { verifyStrict } from './ed25519-strict.js';
import type { CryptoSuite, X25519Key } from './suite.js';

const { Point } = ed25519;

/**
 * RFC 8032 §5.1.7's cofactorless check [S]B = R + [k]A with k = SHA-512(R ‖ A ‖ M) mod L, in
 * @noble/curves point operations (the same calls ed25519.verify makes, without its final
 * multiplication by the cofactor). Runs after verifyStrict's pre-checks (S < L, canonical A and
 * R, neither of small order); Point.fromBytes(…, false) throws on a y that is not on the curve.
 * "Unsafe" (variable-time) multiplication is right here: every input is public.
 */
function cofactorlessEquation(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const r = signature.subarray(0, 32);
  const a = Point.fromBytes(publicKey, false);
  const R = Point.fromBytes(r, false);
  const s = bytesToNumberLE(signature.subarray(32));
  const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(r, publicKey, message))));
  return Point.BASE.multiplyUnsafe(s).equals(R.add(a.multiplyUnsafe(k)));
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/** Pure-JS suite on @noble/curves: works in every runtime with Web Crypto random. */
export const portableSuite: CryptoSuite = Object.freeze({
  name: 'noble',
  ed25519PublicKey: (secretKey: Uint8Array) => ed25519.getPublicKey(secretKey),
  sign: (secretKey: Uint8Array, message: Uint8Array) => ed25519.sign(message, secretKey),
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    // The shared pre-checks (ed25519-strict.ts), then the cofactorless equation. Not
    // ed25519.verify: @noble checks the cofactored equation, which accepts signatures with a
    // mixed-order R that OpenSSL (cofactorless) rejects, so the two suites would disagree.
    return verifyStrict(publicKey, message, signature, cofactorlessEquation);
  },
  x25519PublicKey: (secretKey: Uint8Array) => x25519.getPublicKey(secretKey),
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(secretKey, publicKey);
    } catch {
      throw new ProtocolError('PROTO_ERR_WEAK_KEY');
    }
    if (isAllZero(shared)) throw new ProtocolError('PROTO_ERR_WEAK_KEY');
    return shared;
  },
  x25519Ephemeral(peerPublic: Uint8Array): { publicKey: Uint8Array; shared: Uint8Array } {
    const secret = x25519.utils.randomSecretKey();
    return { publicKey: x25519.getPublicKey(secret), shared: portableSuite.x25519(secret, peerPublic) };
  },
  x25519Key(secretKey: Uint8Array): X25519Key {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'an X25519 secret key is 32 bytes');
    // Reads the caller's array at each agreement: wiping it disables the handle too.
    return { publicKey: x25519.getPublicKey(secretKey), agree: (peer) => portableSuite.x25519(secretKey, peer) };
  },
});
