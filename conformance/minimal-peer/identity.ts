// Identity (docs/protocol.md "Identity"): a peer IS an Ed25519 public key, written as unpadded
// base64url (43 characters). The same key, mapped to X25519 (RFC 7748 §4.1), is used for key
// agreement in envelopes (v1) and as the Noise static key (v2).

import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { fromBase64url, toBase64url } from './bytes.js';
import { PeerError } from './errors.js';

export interface Identity {
  /** 32-byte Ed25519 seed (RFC 8032 "secret key"). */
  readonly seed: Uint8Array;
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  /** Text form of the public key. */
  readonly keyText: string;
  /** X25519 form of the secret: SHA-512(seed)[0..32), clamped (RFC 7748 §5). See GAP 3. */
  readonly x25519Secret: Uint8Array;
  /** X25519 form of the public key (equal to x25519(x25519Secret, 9)). */
  readonly x25519Public: Uint8Array;
}

export function identityFromSeed(seed: Uint8Array): Identity {
  if (seed.length !== 32) throw new PeerError('PROTO_ERR_INVALID_ARGUMENT', 'seed must be 32 bytes');
  const publicKey = ed25519.getPublicKey(seed);
  // RFC 8032 §5.1.5: the secret scalar is the first half of SHA-512(seed), clamped as X25519
  // clamps (RFC 7748 §5). golden-session.json lists the clamped form.
  const x25519Secret = sha512(seed).slice(0, 32);
  x25519Secret[0] = (x25519Secret[0] as number) & 248;
  x25519Secret[31] = ((x25519Secret[31] as number) & 127) | 64;
  return {
    seed,
    publicKey,
    keyText: toBase64url(publicKey),
    x25519Secret,
    x25519Public: x25519.getPublicKey(x25519Secret),
  };
}

/** Parse a key's text form: 43 base64url characters decoding to a valid Ed25519 point. */
export function parseKeyText(text: unknown): Uint8Array {
  if (typeof text !== 'string' || text.length !== 43) {
    throw new PeerError('PROTO_ERR_BAD_KEY', 'a key is 43 base64url characters');
  }
  let bytes: Uint8Array;
  try {
    bytes = fromBase64url(text);
  } catch {
    throw new PeerError('PROTO_ERR_BAD_KEY', 'a key is 43 base64url characters');
  }
  checkEd25519Key(bytes);
  return bytes;
}

/** PROTO_ERR_BAD_KEY unless the 32 bytes are a canonical Ed25519 point encoding. */
export function checkEd25519Key(bytes: Uint8Array): void {
  if (bytes.length !== 32) throw new PeerError('PROTO_ERR_BAD_KEY', 'a key is 32 bytes');
  try {
    ed25519.Point.fromBytes(bytes, false);
  } catch {
    throw new PeerError('PROTO_ERR_BAD_KEY', 'not a valid Ed25519 point');
  }
}

/**
 * RFC 7748 §4.1 birational map of an Ed25519 public key to its X25519 form:
 * u = (1 + y) / (1 − y) mod p.
 */
export function x25519FromEd25519(publicKey: Uint8Array): Uint8Array {
  checkEd25519Key(publicKey);
  return ed25519.utils.toMontgomery(publicKey);
}

/**
 * X25519(secret, public) with the one rule the spec gives for every use: an all-zero output
 * (a low-order public key) is PROTO_ERR_WEAK_KEY ("Identity").
 */
export function x25519Shared(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secret, publicKey);
  } catch {
    // the library itself refuses the all-zero result
    throw new PeerError('PROTO_ERR_WEAK_KEY', 'X25519 gave an all-zero secret');
  }
  if (shared.every((b) => b === 0)) throw new PeerError('PROTO_ERR_WEAK_KEY', 'X25519 gave an all-zero secret');
  return shared;
}
