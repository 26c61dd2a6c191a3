import { createCipheriv, createDecipheriv } from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { CHACHA_TAG_BYTES, type ChaChaPoly, noiseNonce } from './chacha-poly.js';

/**
 * Noise's ChaChaPoly (chacha-poly.ts) on node:crypto — OpenSSL's ChaCha20-Poly1305 (RFC 8439),
 * the same bytes as @noble/ciphers (test/session/node-chacha-poly.test.ts checks the RFC vector
 * and random cross-checks). For Session's `aead` option in Node processes.
 */
export const nodeChaChaPoly: ChaChaPoly = Object.freeze({
  encrypt(key: Uint8Array, counter: number, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const c = createCipheriv('chacha20-poly1305', key, noiseNonce(counter), { authTagLength: CHACHA_TAG_BYTES });
    c.setAAD(ad, { plaintextLength: plaintext.length });
    const out = new Uint8Array(plaintext.length + CHACHA_TAG_BYTES);
    const body = c.update(plaintext);
    out.set(body, 0);
    const tail = c.final();
    out.set(tail, body.length);
    out.set(c.getAuthTag(), plaintext.length);
    return out;
  },
  sealAfterHeader(key: Uint8Array, counter: number, header: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
    let length = 0;
    for (const p of parts) length += p.length;
    const c = createCipheriv('chacha20-poly1305', key, noiseNonce(counter), { authTagLength: CHACHA_TAG_BYTES });
    c.setAAD(header, { plaintextLength: length });
    // Every byte is written below (header, each part's ciphertext, the tag): no zero-fill needed.
    const out = Buffer.allocUnsafeSlow(header.length + length + CHACHA_TAG_BYTES);
    out.set(header, 0);
    let at = header.length;
    for (const p of parts) {
      const body = c.update(p);
      out.set(body, at);
      at += body.length;
    }
    const tail = c.final(); // empty for a stream cipher; kept for the contract
    out.set(tail, at);
    out.set(c.getAuthTag(), at + tail.length);
    return new Uint8Array(out.buffer, out.byteOffset, out.length); // a plain Uint8Array, like noble's
  },
  decrypt(key: Uint8Array, counter: number, ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    if (ciphertext.length < CHACHA_TAG_BYTES)
      throw new ProtocolError('PROTO_ERR_TRUNCATED', 'ciphertext shorter than a tag');
    const bodyLength = ciphertext.length - CHACHA_TAG_BYTES;
    try {
      const d = createDecipheriv('chacha20-poly1305', key, noiseNonce(counter), { authTagLength: CHACHA_TAG_BYTES });
      d.setAuthTag(ciphertext.subarray(bodyLength));
      d.setAAD(ad, { plaintextLength: bodyLength });
      const body = d.update(ciphertext.subarray(0, bodyLength));
      const tail = d.final(); // throws when the tag does not verify
      // A stream cipher: update gave every byte and final none, so `body` is the plaintext
      // (released only now, after the tag verified) with no further copy.
      if (tail.length === 0) return new Uint8Array(body.buffer, body.byteOffset, body.length);
      const out = new Uint8Array(bodyLength);
      out.set(body, 0);
      out.set(tail, body.length);
      return out;
    } catch {
      throw new ProtocolError('PROTO_ERR_DECRYPT_FAILED');
    }
  },
});
