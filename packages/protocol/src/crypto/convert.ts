import { ed25519 } from '@noble/curves/ed25519.js';
import { ProtocolError } from '../errors.js';

/**
 * Ed25519 → X25519 conversion (birational map, RFC 7748 §4.1), as the design asks: one
 * identity key serves signing and, converted, key agreement. node:crypto has no equivalent,
 * so both suites share @noble/curves here. A conversion costs a point decompression
 * (~250 µs): results are cached.
 */

/** Converted peer public keys kept, entries. */
const X25519_PUBLIC_CACHE_MAX_ENTRIES = 1024;
const publicCache = new Map<string, Uint8Array>();
// Keyed by the secret's own array object: nothing secret becomes a map key, and the entry
// goes when the identity does.
const secretCache = new WeakMap<Uint8Array, Uint8Array>();

export function ed25519PublicToX25519(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32)
    throw new ProtocolError('PROTO_ERR_BAD_KEY', 'an Ed25519 public key is 32 bytes');
  const id = String.fromCharCode(...publicKey);
  const hit = publicCache.get(id);
  if (hit) return hit;
  let x: Uint8Array;
  try {
    x = ed25519.utils.toMontgomery(publicKey);
  } catch {
    throw new ProtocolError('PROTO_ERR_BAD_KEY', 'not a valid Ed25519 public key');
  }
  if (publicCache.size >= X25519_PUBLIC_CACHE_MAX_ENTRIES)
    publicCache.delete(publicCache.keys().next().value as string);
  publicCache.set(id, x);
  return x;
}

export function ed25519SecretToX25519(secretKey: Uint8Array): Uint8Array {
  let x = secretCache.get(secretKey);
  if (!x) {
    x = ed25519.utils.toMontgomerySecret(secretKey);
    secretCache.set(secretKey, x);
  }
  return x;
}
