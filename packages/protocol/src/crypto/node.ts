import * as nodeCrypto from 'node:crypto';
import { ProtocolError } from '../errors.js';
import type { CryptoSuite } from './suite.js';

// DER prefixes that wrap a raw 32-byte key into PKCS#8 / SPKI (RFC 8410), the only raw-key
// import path node:crypto offers for these curves.
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

/** KeyObjects are costly to build; keep the most recent ones. Bound: entries. */
const KEY_CACHE_MAX_ENTRIES = 1024;

class KeyCache<T> {
  readonly #map = new Map<string, T>();
  get(raw: Uint8Array, build: () => T): T {
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

const edPublic = new KeyCache<nodeCrypto.KeyObject>();
const edPrivate = new KeyCache<nodeCrypto.KeyObject>();

function rawEdPublic(publicKey: Uint8Array): nodeCrypto.KeyObject {
  return edPublic.get(publicKey, () =>
    nodeCrypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI, publicKey]), format: 'der', type: 'spki' }),
  );
}
function rawEdPrivate(secretKey: Uint8Array): nodeCrypto.KeyObject {
  return edPrivate.get(secretKey, () =>
    nodeCrypto.createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, secretKey]), format: 'der', type: 'pkcs8' }),
  );
}
function exportRawPublic(key: nodeCrypto.KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

// RFC 8032 §5.1.7: S must be < L. OpenSSL also enforces it; we check first so both suites
// reject exactly the same inputs regardless of library version.
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

/** Node suite: OpenSSL via node:crypto for Ed25519 and X25519. Same bytes as portableSuite. */
export const nodeSuite: CryptoSuite = Object.freeze({
  name: 'node:crypto',
  ed25519PublicKey: (secretKey: Uint8Array) => exportRawPublic(nodeCrypto.createPublicKey(rawEdPrivate(secretKey))),
  sign: (secretKey: Uint8Array, message: Uint8Array) =>
    new Uint8Array(nodeCrypto.sign(null, message, rawEdPrivate(secretKey))),
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
    if (!scalarIsCanonical(signature.subarray(32))) return false;
    try {
      return nodeCrypto.verify(null, message, rawEdPublic(publicKey), signature);
    } catch {
      return false;
    }
  },
  x25519PublicKey(secretKey: Uint8Array): Uint8Array {
    const priv = nodeCrypto.createPrivateKey({
      key: Buffer.concat([X25519_PKCS8, secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    return exportRawPublic(nodeCrypto.createPublicKey(priv));
  },
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    try {
      const privateKey = nodeCrypto.createPrivateKey({
        key: Buffer.concat([X25519_PKCS8, secretKey]),
        format: 'der',
        type: 'pkcs8',
      });
      const pub = nodeCrypto.createPublicKey({
        key: Buffer.concat([X25519_SPKI, publicKey]),
        format: 'der',
        type: 'spki',
      });
      // OpenSSL itself fails on an all-zero result (low-order point), which we map below.
      return new Uint8Array(nodeCrypto.diffieHellman({ privateKey, publicKey: pub }));
    } catch {
      throw new ProtocolError('PROTO_ERR_WEAK_KEY');
    }
  },
});
