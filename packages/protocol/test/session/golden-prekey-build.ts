/**
 * Runs the golden v2 prekey vectors from fixed inputs: used by the test and by the script that
 * writes test/vectors/golden-prekey.json. Every random draw is pinned, in draw order:
 * bundle: X25519 prekey secret (32), ML-KEM-768 key-generation seed d ‖ z (64);
 * each message: X25519 ephemeral secret (32), ML-KEM-768 encapsulation randomness m (32).
 */
import { sha256 as sha } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '../../src/bytes.js';
import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../../src/crypto/convert.js';
import { portableSuite } from '../../src/crypto/portable.js';
import type { CryptoSuite } from '../../src/crypto/suite.js';
import { mlKemDecapsulate } from '../../src/session/ml-kem.js';
import { createPrekeyBundle, prekeyBundleSignedBytes } from '../../src/session/prekey-bundle.js';
import { decodePrekeyMessage, derivePrekeyMessageKey, sealToPrekey } from '../../src/session/prekey-message.js';
import { scriptedRandom } from '../../src/session/random.js';
import { alice, bob } from './helpers.js';

const fill = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte);
const ramp = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

export const GOLDEN_PREKEY = {
  bundleId: 7,
  /** 2026-01-01T00:00:00Z, ms. */
  createdAt: 1_767_225_600_000,
  lifetimeMs: 7 * 24 * 60 * 60 * 1000,
  bundleRandom: { x25519Prekey: ramp(32, 0x20), kemSeed: ramp(64, 0x60) },
  /** Sealed one day after the bundle was made. */
  sealedAt: 1_767_225_600_000 + 24 * 60 * 60 * 1000,
  messages: [
    {
      sequence: 0,
      messageId: fill(16, 0x11),
      plaintext: utf8('hello bob, you were offline'),
      ephemeral: ramp(32, 0xb0),
      kemRandom: fill(32, 0x3c),
    },
    {
      sequence: 1,
      messageId: fill(16, 0x22),
      plaintext: new Uint8Array(0),
      ephemeral: ramp(32, 0xd0),
      kemRandom: fill(32, 0x4d),
    },
  ],
} as const;

/** `suite` runs the X25519 parts and the signature; every suite must give the same file. */
export function buildGoldenPrekey(suite: CryptoSuite = portableSuite) {
  const G = GOLDEN_PREKEY;
  const { bundle, encoded, secrets } = createPrekeyBundle(suite, {
    identity: bob,
    bundleId: G.bundleId,
    createdAt: G.createdAt,
    lifetimeMs: G.lifetimeMs,
    random: scriptedRandom([G.bundleRandom.x25519Prekey, G.bundleRandom.kemSeed]),
  });
  const messages = G.messages.map((m) => {
    const { message } = sealToPrekey(suite, {
      sender: alice,
      recipient: bob.publicKey,
      bundle: encoded,
      now: G.sealedAt,
      sequence: m.sequence,
      messageId: m.messageId,
      plaintext: m.plaintext,
      random: scriptedRandom([m.ephemeral, m.kemRandom]),
    });
    // The KDF's inputs and output, recomputed from the pinned secrets with @noble, for other implementations.
    const { header } = decodePrekeyMessage(message);
    const dh1 = portableSuite.x25519(ed25519SecretToX25519(alice.secretKey), bundle.x25519Prekey);
    const dh2 = portableSuite.x25519(m.ephemeral, ed25519PublicToX25519(bob.publicKey));
    const dh3 = portableSuite.x25519(m.ephemeral, bundle.x25519Prekey);
    const kemSharedSecret = mlKemDecapsulate(header.kemCiphertext, secrets.kemSecretKey);
    const key = derivePrekeyMessageKey({ dh1, dh2, dh3, kemSharedSecret, header, bundleDigest: secrets.bundleDigest });
    return {
      sequence: m.sequence,
      messageId: toHex(m.messageId),
      plaintext: toHex(m.plaintext),
      random: { ephemeral: toHex(m.ephemeral), kemRandom: toHex(m.kemRandom) },
      ephemeralPublicKey: toHex(header.ephemeralKey),
      dh1: toHex(dh1),
      dh2: toHex(dh2),
      dh3: toHex(dh3),
      kemSharedSecret: toHex(kemSharedSecret),
      messageKey: toHex(key),
      message: toHex(message),
    };
  });
  return {
    sender: { ed25519SecretKey: toHex(alice.secretKey), ed25519PublicKey: toHex(alice.publicKey) },
    recipient: { ed25519SecretKey: toHex(bob.secretKey), ed25519PublicKey: toHex(bob.publicKey) },
    bundle: {
      bundleId: bundle.bundleId,
      createdAt: bundle.createdAt,
      expiresAt: bundle.expiresAt,
      random: { x25519Prekey: toHex(G.bundleRandom.x25519Prekey), kemSeed: toHex(G.bundleRandom.kemSeed) },
      x25519Prekey: toHex(bundle.x25519Prekey),
      kemPublicKeySha256: toHex(sha(bundle.kemPublicKey)),
      signedBytesSha256: toHex(sha(prekeyBundleSignedBytes(bundle))),
      signature: toHex(bundle.signature),
      encoded: toHex(encoded),
      digest: toHex(secrets.bundleDigest),
    },
    sealedAt: G.sealedAt,
    messages,
  };
}
