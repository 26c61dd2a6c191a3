import * as nodeCrypto from 'node:crypto';
import { ProtocolError } from '../errors.js';
import type { CryptoSuite } from './suite.js';

// Raw keys enter OpenSSL as JWK where possible: OpenSSL 3's DER decoders cost ~10x more per
// import (measured: ~450 µs vs ~40 µs). Private keys need their public half in a JWK, so a
// private key whose public half we don't know yet goes through DER (PKCS#8, RFC 8410) once
// and is cached.
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** KeyObjects built from raw keys, most recent first out. Bound: entries per cache. */
const KEY_CACHE_MAX_ENTRIES = 1024;

class KeyCache {
  readonly #map = new Map<string, nodeCrypto.KeyObject>();
  get(raw: Uint8Array, build: () => nodeCrypto.KeyObject): nodeCrypto.KeyObject {
    const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
    let value = this.#map.get(id);
    if (value === undefined) {
      value = build();
      if (this.#map.size >= KEY_CACHE_MAX_ENTRIES) this.#map.delete(this.#map.keys().next().value as string);
      this.#map.set(id, value);
    }
    return value;
  }
}

const edPublic = new KeyCache();
const edPrivate = new KeyCache();
const xPublic = new KeyCache();
const xPrivate = new KeyCache();

const b64u = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

function edPublicKey(publicKey: Uint8Array): nodeCrypto.KeyObject {
  return edPublic.get(publicKey, () =>
    nodeCrypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(publicKey) }, format: 'jwk' }),
  );
}
function edPrivateKey(secretKey: Uint8Array): nodeCrypto.KeyObject {
  return edPrivate.get(secretKey, () =>
    nodeCrypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, secretKey]), format: 'der', type: 'pkcs8' }),
  );
}
function xPublicKey(publicKey: Uint8Array): nodeCrypto.KeyObject {
  return xPublic.get(publicKey, () =>
    nodeCrypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(publicKey) }, format: 'jwk' }),
  );
}
function xPrivateKey(secretKey: Uint8Array): nodeCrypto.KeyObject {
  return xPrivate.get(secretKey, () =>
    nodeCrypto.createPrivateKey({ key: Buffer.concat([X25519_PKCS8, secretKey]), format: 'der', type: 'pkcs8' }),
  );
}
function rawPublic(key: nodeCrypto.KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x;
  return new Uint8Array(Buffer.from(x ?? '', 'base64url'));
}

// RFC 8032 §5.1.7: S must be < L. OpenSSL enforces it too; checking first makes both suites
// reject exactly the same inputs whatever the OpenSSL version.
const L = [
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];
function scalarIsCanonical(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! < L[i]!) return true;
    if (s[i]! > L[i]!) return false;
  }
  return false;
}

function agree(privateKey: nodeCrypto.KeyObject, peerPublic: Uint8Array): Uint8Array {
  try {
    // OpenSSL refuses an all-zero result (low-order peer point); we map that to WEAK_KEY.
    return new Uint8Array(nodeCrypto.diffieHellman({ privateKey, publicKey: xPublicKey(peerPublic) }));
  } catch {
    throw new ProtocolError('PROTO_ERR_WEAK_KEY');
  }
}

/** Node suite: OpenSSL via node:crypto for Ed25519 and X25519. Same bytes as portableSuite. */
export const nodeSuite: CryptoSuite = Object.freeze({
  name: 'node:crypto',
  ed25519PublicKey: (secretKey: Uint8Array) => rawPublic(nodeCrypto.createPublicKey(edPrivateKey(secretKey))),
  sign: (secretKey: Uint8Array, message: Uint8Array) =>
    new Uint8Array(nodeCrypto.sign(null, message, edPrivateKey(secretKey))),
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
    if (!scalarIsCanonical(signature.subarray(32))) return false;
    try {
      return nodeCrypto.verify(null, message, edPublicKey(publicKey), signature);
    } catch {
      return false;
    }
  },
  x25519PublicKey: (secretKey: Uint8Array) => rawPublic(nodeCrypto.createPublicKey(xPrivateKey(secretKey))),
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    let privateKey: nodeCrypto.KeyObject;
    try {
      privateKey = xPrivateKey(secretKey);
    } catch {
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'X25519 secret key');
    }
    return agree(privateKey, publicKey);
  },
  x25519Ephemeral(peerPublic: Uint8Array): { publicKey: Uint8Array; shared: Uint8Array } {
    const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('x25519');
    return { publicKey: rawPublic(publicKey), shared: agree(privateKey, peerPublic) };
  },
});
