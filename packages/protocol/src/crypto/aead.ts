import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8 } from '../bytes.js';
import { AEAD_KEY_BYTES, AEAD_NONCE_BYTES, DOMAIN } from '../constants.js';

const KDF_INFO = utf8(DOMAIN.envelopeKdf);

/**
 * Derive the per-message AEAD key and nonce from an X25519 shared secret. The salt binds both
 * public keys, so a shared secret can't be reused under a different (ephemeral, recipient) pair.
 */
export function deriveEnvelopeKey(
  shared: Uint8Array,
  ephemeralPublic: Uint8Array,
  recipientX25519Public: Uint8Array,
): { key: Uint8Array; nonce: Uint8Array } {
  const okm = hkdf(
    sha256,
    shared,
    concatBytes(ephemeralPublic, recipientX25519Public),
    KDF_INFO,
    AEAD_KEY_BYTES + AEAD_NONCE_BYTES,
  );
  return { key: okm.subarray(0, AEAD_KEY_BYTES), nonce: okm.subarray(AEAD_KEY_BYTES) };
}

export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
}

/** Returns null when the tag does not verify. */
export function aeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Uint8Array | null {
  try {
    return xchacha20poly1305(key, nonce, aad).decrypt(ciphertext);
  } catch {
    return null;
  }
}
