import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromBase64url, randomBytes, toBase64url, toHex, utf8 } from './bytes.js';
import {
  DOMAIN,
  FINGERPRINT_DISPLAY_BYTES,
  FINGERPRINT_SHORT_BYTES,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
} from './constants.js';
import { isCanonicalPointEncoding, isSmallOrderPoint } from './crypto/ed25519-strict.js';
import type { CryptoSuite } from './crypto/suite.js';
import { assertBytes, ProtocolError } from './errors.js';

/** An Ed25519 identity. `secretKey` is the 32-byte RFC 8032 seed. */
export interface Identity {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * Create a fresh identity.
 * @example
 *   const me = generateIdentity(nodeSuite);
 *   console.log(formatFingerprint(me.publicKey));
 */
export function generateIdentity(suite: CryptoSuite): Identity {
  const secretKey = randomBytes(SECRET_KEY_BYTES);
  return Object.freeze({ secretKey, publicKey: suite.ed25519PublicKey(secretKey) });
}

export function identityFromSecret(suite: CryptoSuite, secretKey: Uint8Array): Identity {
  assertBytes(secretKey, SECRET_KEY_BYTES, 'secretKey');
  return Object.freeze({ secretKey, publicKey: suite.ed25519PublicKey(secretKey) });
}

const FINGERPRINT_TAG = utf8(DOMAIN.fingerprint);

/** SHA-256(domain tag ‖ public key): the full 32-byte fingerprint. */
export function fingerprint(publicKey: Uint8Array): Uint8Array {
  assertBytes(publicKey, PUBLIC_KEY_BYTES, 'publicKey');
  return sha256(concatBytes(FINGERPRINT_TAG, publicKey));
}

function colonHex(bytes: Uint8Array): string {
  return (toHex(bytes).match(/../g) ?? []).join(':');
}

/** The fingerprint a human verifies: 16 bytes (128 bits) as colon-separated hex. */
export function formatFingerprint(publicKey: Uint8Array): string {
  return colonHex(fingerprint(publicKey).subarray(0, FINGERPRINT_DISPLAY_BYTES));
}

/** A 4-byte form for lists only. Never use it to verify a key. */
export function formatShortFingerprint(publicKey: Uint8Array): string {
  return colonHex(fingerprint(publicKey).subarray(0, FINGERPRINT_SHORT_BYTES));
}

/** Public key → base64url (43 chars), the wire and display encoding of keys. */
export function encodeKey(publicKey: Uint8Array): string {
  assertBytes(publicKey, PUBLIC_KEY_BYTES, 'publicKey');
  return toBase64url(publicKey);
}

/**
 * Refuse a peer's public key that no honest peer has: PROTO_ERR_WEAK_KEY for any encoding of a
 * small-order point (signatures under it verify for many messages without a secret, and its
 * X25519 form gives an all-zero shared secret), PROTO_ERR_BAD_KEY for another non-canonical
 * encoding (a second spelling of a key would give it a second fingerprint). Byte checks only.
 */
export function checkPeerKey(publicKey: Uint8Array): void {
  assertBytes(publicKey, PUBLIC_KEY_BYTES, 'publicKey');
  if (isSmallOrderPoint(publicKey)) throw new ProtocolError('PROTO_ERR_WEAK_KEY', 'a small-order Ed25519 point');
  if (!isCanonicalPointEncoding(publicKey)) throw new ProtocolError('PROTO_ERR_BAD_KEY', 'non-canonical encoding');
}

/**
 * base64url → 32-byte key; PROTO_ERR_BAD_KEY on any other input, PROTO_ERR_WEAK_KEY for a
 * small-order point (checkPeerKey).
 */
export function decodeKey(text: unknown): Uint8Array {
  if (typeof text !== 'string' || text.length !== 43)
    throw new ProtocolError('PROTO_ERR_BAD_KEY', 'a key is 43 base64url characters');
  const bytes = fromBase64url(text);
  if (!bytes || bytes.length !== PUBLIC_KEY_BYTES) throw new ProtocolError('PROTO_ERR_BAD_KEY', 'not base64url');
  checkPeerKey(bytes);
  return bytes;
}
