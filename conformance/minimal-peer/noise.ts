// Noise rev. 34 building blocks for SHA-256 and ChaChaPoly (docs/protocol.md "v2 sessions —
// handshake" → Construction): CipherState and SymmetricState, exactly as in the Noise
// specification §5.1–5.2. HKDF here is Noise's HKDF = RFC 5869 HKDF-SHA256 with salt = ck and
// empty info.

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat } from './bytes.js';
import { PeerError } from './errors.js';

/** Noise's ChaChaPoly nonce: 4 zero bytes ‖ counter u64 little-endian. */
export function noiseNonce(counter: number): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(counter), true);
  return nonce;
}

/** Noise HKDF(ck, ikm, 2) → (out1, out2), 32 bytes each. */
export function noiseHkdf2(chainingKey: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const out = hkdf(sha256, ikm, chainingKey, new Uint8Array(0), 64);
  return [out.slice(0, 32), out.slice(32, 64)];
}

export class SymmetricState {
  /** Chaining key. */
  ck: Uint8Array;
  /** Handshake hash. */
  h: Uint8Array;
  /** Cipher key of the CipherState; null until the first MixKey. */
  private k: Uint8Array | null = null;
  private n = 0;

  constructor(protocolName: Uint8Array) {
    // InitializeSymmetric: a name longer than HASHLEN is hashed (ours is 44 bytes).
    if (protocolName.length <= 32) {
      this.h = new Uint8Array(32);
      this.h.set(protocolName);
    } else {
      this.h = sha256(protocolName);
    }
    this.ck = this.h.slice();
  }

  mixHash(data: Uint8Array): void {
    this.h = sha256(concat(this.h, data));
  }

  mixKey(ikm: Uint8Array): void {
    const [ck, k] = noiseHkdf2(this.ck, ikm);
    this.ck = ck;
    this.k = k;
    this.n = 0;
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    if (this.k === null) {
      // Never happens in IKhfs (es comes before the first encrypted field), kept for completeness.
      this.mixHash(plaintext);
      return plaintext;
    }
    const ciphertext = chacha20poly1305(this.k, noiseNonce(this.n), this.h).encrypt(plaintext);
    this.n++;
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    if (this.k === null) {
      this.mixHash(ciphertext);
      return ciphertext;
    }
    let plaintext: Uint8Array;
    try {
      plaintext = chacha20poly1305(this.k, noiseNonce(this.n), this.h).decrypt(ciphertext);
    } catch {
      throw new PeerError('PROTO_ERR_DECRYPT_FAILED', 'handshake tag does not verify');
    }
    this.n++;
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Split() → (k1 initiator→responder, k2 responder→initiator). */
  split(): [Uint8Array, Uint8Array] {
    return noiseHkdf2(this.ck, new Uint8Array(0));
  }

  /** Erasure (docs/protocol.md "Erasure"): chaining key and cipher key zeroed. */
  wipe(): void {
    this.ck.fill(0);
    this.k?.fill(0);
    this.k = null;
  }
}
