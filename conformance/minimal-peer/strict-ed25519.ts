// Strict Ed25519 (docs/protocol.md "Envelope v1" → Signature): RFC 8032 signatures verified
// under one rule so that every implementation accepts exactly the same set:
//   S < L, canonical encodings of A and R, neither A nor R of small order, and the
//   cofactorless equation [S]B = R + [k]A with k = SHA-512(R ‖ A ‖ M) mod L.
// (This is the rule ed25519-speccheck.json tests: only its case 3 verifies.)

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concat } from './bytes.js';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;

function littleEndianToBigint(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] as number);
  return value;
}

export function sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed);
}

export function verifyStrict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false;
  let A: InstanceType<typeof Point>;
  let R: InstanceType<typeof Point>;
  try {
    // zip215 = false: non-canonical encodings (y ≥ p, or x = 0 with the sign bit set) are refused.
    A = Point.fromBytes(publicKey, false);
    R = Point.fromBytes(signature.subarray(0, 32), false);
  } catch {
    return false;
  }
  if (A.isSmallOrder() || R.isSmallOrder()) return false;
  const S = littleEndianToBigint(signature.subarray(32));
  if (S >= L) return false;
  const k = littleEndianToBigint(sha512(concat(signature.subarray(0, 32), publicKey, message))) % L;
  const left = Point.BASE.multiplyUnsafe(S);
  const right = R.add(A.multiplyUnsafe(k));
  return left.equals(right);
}
