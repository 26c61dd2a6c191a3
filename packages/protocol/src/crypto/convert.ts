import { ed25519 } from '@noble/curves/ed25519.js';
import { ProtocolError } from '../errors.js';

/**
 * Ed25519 → X25519 conversion (birational map, RFC 7748 §4.1), as the design asks: one
 * identity key serves signing and, converted, key agreement. Both directions are in
 * @noble/curves; node:crypto has no equivalent, so both suites share this.
 */
export function ed25519PublicToX25519(publicKey: Uint8Array): Uint8Array {
  try {
    return ed25519.utils.toMontgomery(publicKey);
  } catch {
    throw new ProtocolError('PROTO_ERR_BAD_KEY', 'not a valid Ed25519 public key');
  }
}

export function ed25519SecretToX25519(secretKey: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomerySecret(secretKey);
}
