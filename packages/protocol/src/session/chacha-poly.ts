import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { concatBytes } from '../bytes.js';
import { ProtocolError } from '../errors.js';

/**
 * Noise's ChaChaPoly cipher (rev. 34 §12.3): ChaCha20-Poly1305 (RFC 8439) with a 96-bit nonce of
 * 32 zero bits followed by the 64-bit counter little-endian. The counter is a JS number, so it
 * is limited to 2^53 − 1; the session layer never gets near that (SESSION_REJECT_AFTER_MESSAGES).
 */

/** ChaChaPoly key length, bytes. */
export const CHACHA_KEY_BYTES = 32;
/** Poly1305 tag length, bytes. */
export const CHACHA_TAG_BYTES = 16;

export function noiseNonce(counter: number): Uint8Array {
  if (!Number.isSafeInteger(counter) || counter < 0)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'nonce counter must be a safe non-negative integer');
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  view.setUint32(4, counter >>> 0, true);
  view.setUint32(8, Math.floor(counter / 2 ** 32), true);
  return nonce;
}

export function chachaEncrypt(key: Uint8Array, counter: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  return chacha20poly1305(key, noiseNonce(counter), ad).encrypt(plaintext);
}

/** Throws PROTO_ERR_DECRYPT_FAILED when the tag does not verify. */
export function chachaDecrypt(key: Uint8Array, counter: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length < CHACHA_TAG_BYTES)
    throw new ProtocolError('PROTO_ERR_TRUNCATED', 'ciphertext shorter than a tag');
  try {
    return chacha20poly1305(key, noiseNonce(counter), ad).decrypt(ciphertext);
  } catch {
    throw new ProtocolError('PROTO_ERR_DECRYPT_FAILED');
  }
}

/**
 * The session's AEAD, swappable so a Node process can use OpenSSL's ChaCha20-Poly1305 (node:crypto,
 * node-chacha-poly.ts: ~10× faster than pure JS, which bench:files showed as the largest CPU cost
 * of a file transfer) while browsers keep @noble/ciphers. Both give the same bytes (RFC 8439).
 */
export interface ChaChaPoly {
  encrypt(key: Uint8Array, counter: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * `header ‖ ciphertext ‖ tag` in one new array, the header being the AD and the plaintext the
   * concatenation of `parts`: a session packet in one allocation, with no copy of the
   * plaintext gathered first (a file chunk is 48 KiB; bench:files).
   */
  sealAfterHeader(key: Uint8Array, counter: number, header: Uint8Array, parts: readonly Uint8Array[]): Uint8Array;
  /** Throws PROTO_ERR_DECRYPT_FAILED when the tag does not verify, PROTO_ERR_TRUNCATED when there is none. */
  decrypt(key: Uint8Array, counter: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array;
}

/** @noble/ciphers: pure JS, runs everywhere. */
export const portableChaChaPoly: ChaChaPoly = Object.freeze({
  encrypt: chachaEncrypt,
  sealAfterHeader(key: Uint8Array, counter: number, header: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
    const sealed = chachaEncrypt(key, counter, header, parts.length === 1 ? parts[0]! : concatBytes(...parts));
    const out = new Uint8Array(header.length + sealed.length);
    out.set(header, 0);
    out.set(sealed, header.length);
    return out;
  },
  decrypt: chachaDecrypt,
});
