/**
 * The session AEAD on node:crypto (OpenSSL) gives the same bytes as @noble/ciphers: the RFC 8439
 * §2.8.2 AEAD vector, random inputs both ways, and the same errors for a bad tag or no tag. A
 * Session with one implementation reads a Session with the other.
 */
import { randomBytes } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { portableChaChaPoly } from '../../src/session/chacha-poly.js';
import { nodeChaChaPoly } from '../../src/session/node-chacha-poly.js';
import { Session } from '../../src/session/session.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('nodeChaChaPoly', () => {
  it('RFC 8439 §2.8.2: the published ciphertext and tag (nonce through the raw cipher, as OpenSSL takes it)', () => {
    const key = hex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = hex('070000004041424344454647');
    const ad = hex('50515253c0c1c2c3c4c5c6c7');
    const pt = new TextEncoder().encode(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    );
    const expected =
      hex(`d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b
      1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116
      1ae10b594f09e26a7e902ecbd0600691`);
    expect(Buffer.from(chacha20poly1305(key, nonce, ad).encrypt(pt))).toEqual(Buffer.from(expected));
    // The Noise nonce is 4 zero bytes then the counter little-endian: 0x4746454443424140 with a
    // zero prefix is not this vector's nonce, so compare the two implementations on Noise nonces.
    for (const counter of [0, 1, 255, 2 ** 32 + 7, Number.MAX_SAFE_INTEGER]) {
      const a = nodeChaChaPoly.encrypt(key, counter, ad, pt);
      expect(Buffer.from(a)).toEqual(Buffer.from(portableChaChaPoly.encrypt(key, counter, ad, pt)));
      expect(Buffer.from(portableChaChaPoly.decrypt(key, counter, ad, a))).toEqual(Buffer.from(pt));
    }
  });

  it('random keys, counters, ad and lengths (0 … 60 KiB): identical bytes, each opens the other', () => {
    for (let i = 0; i < 200; i++) {
      const key = randomBytes(32);
      const counter = randomBytes(4).readUInt32LE() * (i % 3);
      const ad = randomBytes(i % 20);
      const pt = randomBytes(i === 0 ? 0 : (randomBytes(2).readUInt16LE() % 61_440) + 1);
      const n = nodeChaChaPoly.encrypt(key, counter, ad, pt);
      const p = portableChaChaPoly.encrypt(key, counter, ad, pt);
      expect(Buffer.from(n).equals(Buffer.from(p))).toBe(true);
      expect(Buffer.from(nodeChaChaPoly.decrypt(key, counter, ad, p)).equals(pt)).toBe(true);
    }
  });

  it('sealAfterHeader: header ‖ encrypt(parts joined) ‖ tag, the same bytes in both, for any split of the plaintext', () => {
    for (let i = 0; i < 100; i++) {
      const key = randomBytes(32);
      const counter = randomBytes(4).readUInt32LE();
      const header = randomBytes(14);
      const pt = randomBytes(i === 0 ? 0 : (randomBytes(2).readUInt16LE() % 61_440) + 1);
      const cut = pt.length === 0 ? 0 : randomBytes(2).readUInt16LE() % (pt.length + 1);
      const one = Math.min(1, cut); // a kind byte in front, as the client seals a file message
      const parts = i % 4 === 0 ? [pt] : [pt.subarray(0, one), pt.subarray(one, cut), pt.subarray(cut)];
      const expected = Buffer.concat([header, nodeChaChaPoly.encrypt(key, counter, header, pt)]);
      for (const impl of [nodeChaChaPoly, portableChaChaPoly])
        expect(Buffer.from(impl.sealAfterHeader(key, counter, header, parts)).equals(expected)).toBe(true);
    }
  });

  it('a flipped bit, a wrong counter or ad, and a missing tag fail with the same codes as noble', () => {
    const key = randomBytes(32);
    const ad = randomBytes(12);
    const ct = nodeChaChaPoly.encrypt(key, 5, ad, randomBytes(100));
    for (const impl of [nodeChaChaPoly, portableChaChaPoly]) {
      const flipped = Uint8Array.from(ct);
      flipped[3]! ^= 1;
      expect(() => impl.decrypt(key, 5, ad, flipped)).toThrow(
        expect.objectContaining({ code: 'PROTO_ERR_DECRYPT_FAILED' }),
      );
      expect(() => impl.decrypt(key, 6, ad, ct)).toThrow(expect.objectContaining({ code: 'PROTO_ERR_DECRYPT_FAILED' }));
      expect(() => impl.decrypt(key, 5, randomBytes(12), ct)).toThrow(
        expect.objectContaining({ code: 'PROTO_ERR_DECRYPT_FAILED' }),
      );
      expect(() => impl.decrypt(key, 5, ad, ct.subarray(0, 15))).toThrow(
        expect.objectContaining({ code: 'PROTO_ERR_TRUNCATED' }),
      );
    }
  });

  it('a Session on OpenSSL and one on noble talk to each other both ways', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const base = { remotePublicKey: randomBytes(32), handshakeHash: randomBytes(32) };
    const a = new Session({ ...base, initiator: true, sendKey: k1, receiveKey: k2 }, { aead: nodeChaChaPoly });
    const b = new Session({ ...base, initiator: false, sendKey: k2, receiveKey: k1 });
    for (let i = 0; i < 50; i++) {
      const m = randomBytes(i * 100);
      expect(Buffer.from(b.open(a.seal(m))).equals(m)).toBe(true);
      expect(Buffer.from(a.open(b.seal(m))).equals(m)).toBe(true);
    }
  });
});
