import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { ProtocolError } from '../errors.js';
import type { CryptoSuite } from './suite.js';

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/** Pure-JS suite on @noble/curves: works in every runtime with Web Crypto random. */
export const portableSuite: CryptoSuite = Object.freeze({
  name: 'noble',
  ed25519PublicKey: (secretKey: Uint8Array) => ed25519.getPublicKey(secretKey),
  sign: (secretKey: Uint8Array, message: Uint8Array) => ed25519.sign(message, secretKey),
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    try {
      // zip215:false = strict RFC 8032 (rejects non-canonical encodings), chosen on purpose so
      // that exactly one encoding of each signature is valid (no malleability).
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
  x25519PublicKey: (secretKey: Uint8Array) => x25519.getPublicKey(secretKey),
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(secretKey, publicKey);
    } catch {
      throw new ProtocolError('PROTO_ERR_WEAK_KEY');
    }
    if (isAllZero(shared)) throw new ProtocolError('PROTO_ERR_WEAK_KEY');
    return shared;
  },
  x25519Ephemeral(peerPublic: Uint8Array): { publicKey: Uint8Array; shared: Uint8Array } {
    const secret = x25519.utils.randomSecretKey();
    return { publicKey: x25519.getPublicKey(secret), shared: portableSuite.x25519(secret, peerPublic) };
  },
});
