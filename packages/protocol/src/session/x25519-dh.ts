import { portableSuite } from '../crypto/portable.js';
import type { CryptoSuite, X25519Key } from '../crypto/suite.js';
import type { RandomSource } from './random.js';

/**
 * Noise's DH functions for Curve25519 (rev. 34 §12.1), through a CryptoSuite: `nodeSuite`
 * (OpenSSL) in Node, `portableSuite` (@noble/curves, pure JS, several times slower: see
 * bench/results/session.md) elsewhere. Both give the same bytes (the Noise vectors run against each).
 */

/** DHLEN for 25519, bytes. */
export const DH_BYTES = 32;

export interface DhKeyPair {
  readonly publicKey: Uint8Array;
  /** Our copy of the secret: wiped by its owner when the key is retired. */
  readonly secretKey: Uint8Array;
  /** DH() with this key; throws PROTO_ERR_WEAK_KEY for a low-order public key (all-zero output). */
  readonly key: X25519Key;
}

/** GENERATE_KEYPAIR(): 32 random bytes as the secret (clamped inside X25519). */
export function generateDhKeyPair(random: RandomSource, suite: CryptoSuite = portableSuite): DhKeyPair {
  return dhKeyPairFromSecret(random(DH_BYTES), suite);
}

export function dhKeyPairFromSecret(secretKey: Uint8Array, suite: CryptoSuite = portableSuite): DhKeyPair {
  const key = suite.x25519Key(secretKey);
  return { secretKey, publicKey: key.publicKey, key };
}

/** DH(): throws PROTO_ERR_WEAK_KEY for a low-order public key (all-zero output). */
export function dh(secretKey: Uint8Array, publicKey: Uint8Array, suite: CryptoSuite = portableSuite): Uint8Array {
  return suite.x25519(secretKey, publicKey);
}
