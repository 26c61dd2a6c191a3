import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { ProtocolError } from '../errors.js';
import type { RandomSource } from './random.js';

/** ML-KEM-768 (FIPS 203) from @noble/post-quantum, behind the few calls the handshake makes. */

/** Encapsulation (public) key, bytes. */
export const MLKEM768_PUBLIC_KEY_BYTES = 1_184;
/** Ciphertext, bytes. */
export const MLKEM768_CIPHERTEXT_BYTES = 1_088;
/** Shared secret, bytes. */
export const MLKEM768_SHARED_SECRET_BYTES = 32;
/** Key-generation seed d ‖ z (FIPS 203 ML-KEM.KeyGen_internal), bytes. */
export const MLKEM768_KEYGEN_SEED_BYTES = 64;
/** Encapsulation randomness m (ML-KEM.Encaps_internal), bytes. */
export const MLKEM768_ENCAPS_RANDOM_BYTES = 32;

export interface KemKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** KeyGen from 64 random bytes (d ‖ z). */
export function mlKemGenerateKeyPair(random: RandomSource): KemKeyPair {
  const seed = random(MLKEM768_KEYGEN_SEED_BYTES);
  const { publicKey, secretKey } = ml_kem768.keygen(seed);
  seed.fill(0);
  return { publicKey, secretKey };
}

/**
 * Encaps to `publicKey` with 32 random bytes. A key that fails FIPS 203's modulus check (the
 * ACVP encapsulationKeyCheck) throws PROTO_ERR_BAD_KEY.
 */
export function mlKemEncapsulate(
  publicKey: Uint8Array,
  random: RandomSource,
): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  if (publicKey.length !== MLKEM768_PUBLIC_KEY_BYTES)
    throw new ProtocolError('PROTO_ERR_BAD_KEY', `an ML-KEM-768 key is ${MLKEM768_PUBLIC_KEY_BYTES} bytes`);
  const m = random(MLKEM768_ENCAPS_RANDOM_BYTES);
  try {
    return ml_kem768.encapsulate(publicKey, m);
  } catch {
    throw new ProtocolError('PROTO_ERR_BAD_KEY', 'not a valid ML-KEM-768 encapsulation key');
  } finally {
    m.fill(0);
  }
}

/** Decaps: never fails for a well-sized ciphertext (implicit rejection gives a pseudo-random secret). */
export function mlKemDecapsulate(cipherText: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (cipherText.length !== MLKEM768_CIPHERTEXT_BYTES)
    throw new ProtocolError('PROTO_ERR_TRUNCATED', `an ML-KEM-768 ciphertext is ${MLKEM768_CIPHERTEXT_BYTES} bytes`);
  return ml_kem768.decapsulate(cipherText, secretKey);
}
