/**
 * One small interface over the audited primitives we use. Two implementations produce the
 * same bytes: `nodeSuite` (node:crypto for Ed25519/X25519 — OpenSSL, ~10x faster verify)
 * and `portableSuite` (@noble/*, pure JS, runs in browsers). XChaCha20-Poly1305 comes from
 * @noble/ciphers in both: node:crypto has no XChaCha variant.
 */
/**
 * An X25519 secret key made ready for several agreements (a Noise handshake uses each of its
 * keys twice). Nothing is cached by the suite: the handle is the only holder besides the
 * caller's bytes, so dropping it (and wiping those bytes) erases the key as far as JS can.
 */
export interface X25519Key {
  readonly publicKey: Uint8Array;
  /** X25519 shared secret with `peerPublic`. Throws PROTO_ERR_WEAK_KEY on an all-zero result. */
  agree(peerPublic: Uint8Array): Uint8Array;
}

export interface CryptoSuite {
  readonly name: string;
  /** Ed25519 public key of a 32-byte seed. */
  ed25519PublicKey(secretKey: Uint8Array): Uint8Array;
  /** Ed25519 signature (RFC 8032, deterministic). */
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  /**
   * Strict RFC 8032 verification, one rule for every suite (ed25519-strict.ts): S < L,
   * canonical encodings of A and R, neither A nor R of small order, cofactorless equation.
   * Never throws: malformed keys or signatures verify as false.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** X25519 public key of a 32-byte secret. */
  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  /** X25519 shared secret. Throws PROTO_ERR_WEAK_KEY on an all-zero result. */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array;
  /**
   * A fresh random ephemeral X25519 key agreed with `peerPublic` in one step (lets the Node
   * suite keep the secret inside OpenSSL). Throws PROTO_ERR_WEAK_KEY like x25519.
   */
  x25519Ephemeral(peerPublic: Uint8Array): { publicKey: Uint8Array; shared: Uint8Array };
  /**
   * A given 32-byte X25519 secret (ephemeral or static) with its public key, for repeated
   * agreements, never cached (unlike x25519 / x25519PublicKey, which cache long-term keys).
   * Throws PROTO_ERR_INVALID_ARGUMENT unless the secret is 32 bytes.
   */
  x25519Key(secretKey: Uint8Array): X25519Key;
}
