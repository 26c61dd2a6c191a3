import { x25519 } from '@noble/curves/ed25519.js';
import { ProtocolError } from '../errors.js';
import type { RandomSource } from './random.js';

/** Noise's DH functions for Curve25519 (rev. 34 §12.1), over @noble/curves. */

/** DHLEN for 25519, bytes. */
export const DH_BYTES = 32;

export interface DhKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** GENERATE_KEYPAIR(): 32 random bytes as the secret (clamped inside X25519). */
export function generateDhKeyPair(random: RandomSource): DhKeyPair {
  const secretKey = random(DH_BYTES);
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

export function dhKeyPairFromSecret(secretKey: Uint8Array): DhKeyPair {
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** DH(): throws PROTO_ERR_WEAK_KEY for a low-order public key (all-zero output). */
export function dh(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  try {
    return x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    throw new ProtocolError('PROTO_ERR_WEAK_KEY');
  }
}
