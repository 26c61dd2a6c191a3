// ML-KEM-768 (FIPS 203) through @noble/post-quantum, plus the encapsulation-key modulus check
// FIPS 203 §7.2 requires before Encaps (docs/protocol.md: a key failing it is PROTO_ERR_BAD_KEY).

import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { PeerError } from './errors.js';

export const ML_KEM_768_EK_BYTES = 1184;
export const ML_KEM_768_CT_BYTES = 1088;
const Q = 3329;
/** 3 polynomials × 256 coefficients × 12 bits = 1,152 bytes, then the 32-byte seed ρ. */
const T_BYTES = 1152;

/** FIPS 203 §7.2 "modulus check": every 12-bit coefficient of t is < q. */
export function checkEncapsulationKey(ek: Uint8Array): void {
  if (ek.length !== ML_KEM_768_EK_BYTES) throw new PeerError('PROTO_ERR_BAD_KEY', 'ML-KEM-768 key must be 1,184 bytes');
  for (let i = 0; i < T_BYTES; i += 3) {
    const b0 = ek[i] as number;
    const b1 = ek[i + 1] as number;
    const b2 = ek[i + 2] as number;
    const first = b0 | ((b1 & 0x0f) << 8);
    const second = (b1 >> 4) | (b2 << 4);
    if (first >= Q || second >= Q) throw new PeerError('PROTO_ERR_BAD_KEY', 'ML-KEM-768 key fails the modulus check');
  }
}

/** Key pair from the 64-byte seed d ‖ z (FIPS 203 ML-KEM.KeyGen_internal). */
export function kemKeyPair(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return ml_kem768.keygen(seed);
}

export function kemEncapsulate(ek: Uint8Array, m: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array } {
  checkEncapsulationKey(ek);
  return ml_kem768.encapsulate(ek, m);
}

export function kemDecapsulate(ct: Uint8Array, dk: Uint8Array): Uint8Array {
  if (ct.length !== ML_KEM_768_CT_BYTES)
    throw new PeerError('PROTO_ERR_BAD_ENCODING', 'ML-KEM-768 ciphertext must be 1,088 bytes');
  return ml_kem768.decapsulate(ct, dk);
}
