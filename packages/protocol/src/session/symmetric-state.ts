import { concatBytes, utf8 } from '../bytes.js';
import { CipherState } from './cipher-state.js';
import type { NoiseHash } from './noise-hash.js';
import { wipe } from './wipe.js';

/**
 * Noise SymmetricState (rev. 34 §5.2): the chaining key ck, the handshake hash h and a
 * CipherState. Every handshake byte goes through MixHash, so h is the authenticated transcript.
 */
export class SymmetricState {
  readonly cipher = new CipherState();
  private ck: Uint8Array;
  private h: Uint8Array;

  /** InitializeSymmetric(protocol_name). */
  constructor(
    readonly hashFn: NoiseHash,
    protocolName: string,
  ) {
    const name = utf8(protocolName);
    if (name.length <= hashFn.hashLen) {
      this.h = new Uint8Array(hashFn.hashLen);
      this.h.set(name);
    } else {
      this.h = hashFn.hash(name);
    }
    this.ck = Uint8Array.from(this.h);
  }

  mixKey(inputKeyMaterial: Uint8Array): void {
    const [ck, tempK] = this.hashFn.hkdf(this.ck, inputKeyMaterial, 2) as [Uint8Array, Uint8Array];
    wipe(this.ck);
    this.ck = ck;
    this.cipher.initializeKey(tempK);
    wipe(tempK);
  }

  mixHash(data: Uint8Array): void {
    this.h = this.hashFn.hash(concatBytes(this.h, data));
  }

  /** MixKeyAndHash (§5.2), used by the psk token. */
  mixKeyAndHash(inputKeyMaterial: Uint8Array): void {
    const [ck, tempH, tempK] = this.hashFn.hkdf(this.ck, inputKeyMaterial, 3) as [Uint8Array, Uint8Array, Uint8Array];
    wipe(this.ck);
    this.ck = ck;
    this.mixHash(tempH);
    this.cipher.initializeKey(tempK);
    wipe(tempK);
  }

  get handshakeHash(): Uint8Array {
    return Uint8Array.from(this.h);
  }

  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Split(): the two transport CipherStates (initiator→responder, responder→initiator); erases ck. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = this.hashFn.hkdf(this.ck, new Uint8Array(0), 2) as [Uint8Array, Uint8Array];
    const c1 = new CipherState();
    const c2 = new CipherState();
    c1.initializeKey(k1);
    c2.initializeKey(k2);
    wipe(k1);
    wipe(k2);
    this.destroy();
    return [c1, c2];
  }

  destroy(): void {
    wipe(this.ck);
    this.cipher.destroy();
  }
}
