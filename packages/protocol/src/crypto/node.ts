import * as nodeCrypto from 'node:crypto';
import { ProtocolError } from '../errors.js';
import { verifyStrict } from './ed25519-strict.js';
import type { CryptoSuite, X25519Key } from './suite.js';

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
/** SPKI DER of an Ed25519/X25519 public key (RFC 8410): a 12-byte prefix, then the raw 32 bytes. */
const SPKI_PREFIX_BYTES = 12;

// Never `export({ format: 'jwk' })`: on Node 20 the JWK exporter holds the key's mutex while
// it allocates JS strings; a GC in that window that finalises a key-generation job sharing
// the mutex deadlocks the main thread for good (seen under steady load: the process then
// ignores SIGTERM). Two belts: public keys leave OpenSSL as SPKI DER, never JWK, and this
// module never creates a key-generation job (no generateKeyPair*), so the finaliser that
// waited on the lock has nothing to finalise.
function rawPublic(key: nodeCrypto.KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(SPKI_PREFIX_BYTES));
}

/** The X25519 base point (u = 9): X25519(k, 9) is the public key of k. */
const X25519_BASE_POINT = (() => {
  const u = Buffer.alloc(32);
  u[0] = 9;
  return nodeCrypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: u.toString('base64url') }, format: 'jwk' });
})();
const X25519_BASE_POINT_B64U = X25519_BASE_POINT.export({ format: 'der', type: 'spki' })
  .subarray(SPKI_PREFIX_BYTES)
  .toString('base64url');

/**
 * A fresh X25519 key from 32 random bytes, imported raw through JWK (the fast importer).
 * Node insists on an `x` member but derives the public half from `d` alone, so the base point
 * stands in for it; the caller computes the real public key as X25519(d, 9) itself, so nothing
 * depends on that. No key-generation job exists, so none can be finalised under a lock.
 */
function freshX25519Private(): nodeCrypto.KeyObject {
  return x25519PrivateFromRaw(nodeCrypto.randomBytes(32));
}

/** A given raw X25519 secret through the same JWK `d` import (uncached; see freshX25519Private). */
function x25519PrivateFromRaw(secretKey: Uint8Array): nodeCrypto.KeyObject {
  return nodeCrypto.createPrivateKey({
    key: { kty: 'OKP', crv: 'X25519', d: b64u(secretKey), x: X25519_BASE_POINT_B64U },
    format: 'jwk',
  });
}

/** OpenSSL's Ed25519 verify: strict decoding of R, S < L, cofactorless [S]B = R + [k]A. */
function opensslEquation(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return nodeCrypto.verify(null, message, edPublicKey(publicKey), signature);
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
    // The shared pre-checks (S < L, canonical A and R, neither of small order: ed25519-strict.ts)
    // then OpenSSL's own cofactorless equation. OpenSSL alone accepts a small-order A with
    // R = identity, S = 0 and a non-canonical A (speccheck case 11).
    return verifyStrict(publicKey, message, signature, opensslEquation);
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
    // Not generateKeyPairSync + JWK export: that pair deadlocks on Node 20 (see rawPublic).
    const privateKey = freshX25519Private();
    const publicKey = new Uint8Array(nodeCrypto.diffieHellman({ privateKey, publicKey: X25519_BASE_POINT }));
    return { publicKey, shared: agree(privateKey, peerPublic) };
  },
  x25519Key(secretKey: Uint8Array): X25519Key {
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'an X25519 secret key is 32 bytes');
    // JWK `d` import and X25519(d, 9) for the public half: no generateKeyPairSync, no JWK export
    // (see rawPublic), and no KeyCache entry, so the secret lives only as long as the handle.
    const privateKey = x25519PrivateFromRaw(secretKey);
    const publicKey = new Uint8Array(nodeCrypto.diffieHellman({ privateKey, publicKey: X25519_BASE_POINT }));
    return { publicKey, agree: (peer) => agree(privateKey, peer) };
  },
});
