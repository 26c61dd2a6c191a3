import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ProtocolError } from '../errors.js';
import { CHACHA_KEY_BYTES, chachaDecrypt, chachaEncrypt } from './chacha-poly.js';
import { wipe } from './wipe.js';

/** 2^64 − 1 is reserved by Noise (§5.1); our counter stops at 2^53 − 1 first. */
const MAX_NONCE = Number.MAX_SAFE_INTEGER;

/**
 * Noise CipherState (rev. 34 §5.1): a key k (or none) and a nonce counter n. Encrypting without
 * a key returns the plaintext unchanged, as the spec says. The state owns its key buffer and
 * wipes it on `setKey`, `rekey` and `destroy`.
 */
export class CipherState {
  private k: Uint8Array | null = null;
  private n = 0;

  /** InitializeKey(key): takes a copy of `key` (or none), resets n to 0. */
  initializeKey(key: Uint8Array | null): void {
    wipe(this.k ?? undefined);
    this.k = key ? Uint8Array.from(key.subarray(0, CHACHA_KEY_BYTES)) : null;
    this.n = 0;
  }

  hasKey(): boolean {
    return this.k !== null;
  }

  /** SetNonce(n): for explicit-nonce transports (spec §11.4). */
  setNonce(n: number): void {
    this.n = n;
  }

  get nonce(): number {
    return this.n;
  }

  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    if (!this.k) return Uint8Array.from(plaintext);
    if (this.n >= MAX_NONCE) throw new ProtocolError('PROTO_ERR_SESSION_EXHAUSTED', 'nonce counter exhausted');
    const out = chachaEncrypt(this.k, this.n, ad, plaintext);
    this.n++;
    return out;
  }

  /** Throws PROTO_ERR_DECRYPT_FAILED on a bad tag; n advances only on success (spec §5.1). */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (!this.k) return Uint8Array.from(ciphertext);
    if (this.n >= MAX_NONCE) throw new ProtocolError('PROTO_ERR_SESSION_EXHAUSTED', 'nonce counter exhausted');
    const out = chachaDecrypt(this.k, this.n, ad, ciphertext);
    this.n++;
    return out;
  }

  /** Rekey() (§4.2, §11.3): k = first 32 bytes of ENCRYPT(k, 2^64 − 1, empty, 32 zero bytes). */
  rekey(): void {
    if (!this.k) throw new ProtocolError('PROTO_ERR_HANDSHAKE_STATE', 'rekey without a key');
    const next = rekeyKey(this.k);
    wipe(this.k);
    this.k = next;
  }

  /** A copy of the key (Split outputs hand it to the session layer, which then owns it). */
  exportKey(): Uint8Array {
    if (!this.k) throw new ProtocolError('PROTO_ERR_HANDSHAKE_STATE', 'no key to export');
    return Uint8Array.from(this.k);
  }

  destroy(): void {
    wipe(this.k ?? undefined);
    this.k = null;
    this.n = 0;
  }
}

/** The max nonce 2^64 − 1: all-ones in its 8 counter bytes, built directly (beyond 2^53). */
const REKEY_NONCE = new Uint8Array([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** Noise REKEY(k) for ChaChaPoly: returns a new 32-byte key; does not touch `key`. */
export function rekeyKey(key: Uint8Array): Uint8Array {
  const out = chacha20poly1305(key, REKEY_NONCE, new Uint8Array(0)).encrypt(new Uint8Array(CHACHA_KEY_BYTES));
  const next = out.slice(0, CHACHA_KEY_BYTES);
  wipe(out);
  return next;
}
