import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, lengthPrefixed, u64, utf8 } from '../bytes.js';
import {
  DOMAIN,
  PREKEY_BUNDLE_BYTES,
  PREKEY_BUNDLE_DEFAULT_LIFETIME_MS,
  PREKEY_BUNDLE_MAX_LIFETIME_MS,
  PREKEY_BUNDLE_VERSION,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SIGNATURE_BYTES,
} from '../constants.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { assertBytes, ProtocolError } from '../errors.js';
import { MLKEM768_PUBLIC_KEY_BYTES, mlKemGenerateKeyPair } from './ml-kem.js';
import { type RandomSource, secureRandom } from './random.js';
import { wipe } from './wipe.js';
import { DH_BYTES } from './x25519-dh.js';

/**
 * Signed rotating prekey bundles (docs/protocol.md "v2 prekeys"). A peer publishes one so that
 * others can seal to it while it is offline (prekey-message.ts); it keeps the matching secrets
 * under the bundle id until it rotates, then erases them (forward secrecy at rotation).
 *
 *   offset  bytes  field
 *   0       1      version (PREKEY_BUNDLE_VERSION)
 *   1       32     identity: Ed25519 public key of the owner
 *   33      4      bundle id, u32 big-endian
 *   37      8      created, u64 big-endian, ms since the Unix epoch
 *   45      8      expires, u64 big-endian, ms
 *   53      32     X25519 prekey (public)
 *   85      1184   ML-KEM-768 encapsulation key
 *   1269    64     Ed25519 signature by the identity over
 *                  lengthPrefixed(DOMAIN.prekeyBundleSignature, each field above)
 */

export interface PrekeyBundle {
  readonly version: number;
  readonly identityKey: Uint8Array;
  readonly bundleId: number;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly x25519Prekey: Uint8Array;
  readonly kemPublicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** What the owner keeps per bundle id until rotation; `erasePrekeySecrets` when it rotates out. */
export interface PrekeySecrets {
  readonly bundleId: number;
  readonly x25519SecretKey: Uint8Array;
  readonly kemSecretKey: Uint8Array;
  /** SHA-256 of the encoded bundle: bound into every message sealed to it. */
  readonly bundleDigest: Uint8Array;
}

const SIGNATURE_TAG = utf8(DOMAIN.prekeyBundleSignature);
const SIGNED_BYTES = PREKEY_BUNDLE_BYTES - SIGNATURE_BYTES;
const U32_MAX = 0xffff_ffff;

function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** The bytes the identity signs: every field but the signature, domain-tagged and length-prefixed. */
export function prekeyBundleSignedBytes(b: Omit<PrekeyBundle, 'signature'>): Uint8Array {
  return lengthPrefixed(
    SIGNATURE_TAG,
    Uint8Array.of(b.version),
    b.identityKey,
    u32(b.bundleId),
    u64(b.createdAt),
    u64(b.expiresAt),
    b.x25519Prekey,
    b.kemPublicKey,
  );
}

function checkFields(b: Omit<PrekeyBundle, 'signature'>): void {
  assertBytes(b.identityKey, PUBLIC_KEY_BYTES, 'identityKey');
  assertBytes(b.x25519Prekey, DH_BYTES, 'x25519Prekey');
  assertBytes(b.kemPublicKey, MLKEM768_PUBLIC_KEY_BYTES, 'kemPublicKey');
  if (!Number.isInteger(b.bundleId) || b.bundleId < 0 || b.bundleId > U32_MAX)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'bundleId must be a u32');
  for (const name of ['createdAt', 'expiresAt'] as const)
    if (!Number.isSafeInteger(b[name]) || b[name] < 0)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `${name} must be a non-negative safe integer (ms)`);
}

/** Canonical encoding (PREKEY_BUNDLE_BYTES bytes). */
export function encodePrekeyBundle(b: PrekeyBundle): Uint8Array {
  if (b.version !== PREKEY_BUNDLE_VERSION)
    throw new ProtocolError('PROTO_ERR_BAD_VERSION', `prekey bundle version ${b.version}`);
  checkFields(b);
  assertBytes(b.signature, SIGNATURE_BYTES, 'signature');
  const out = new Uint8Array(PREKEY_BUNDLE_BYTES);
  const view = new DataView(out.buffer);
  out[0] = b.version;
  out.set(b.identityKey, 1);
  view.setUint32(33, b.bundleId);
  view.setBigUint64(37, BigInt(b.createdAt));
  view.setBigUint64(45, BigInt(b.expiresAt));
  out.set(b.x25519Prekey, 53);
  out.set(b.kemPublicKey, 85);
  out.set(b.signature, SIGNED_BYTES);
  return out;
}

/**
 * Parse the structure only (no signature or validity check: `verifyPrekeyBundle`). Throws
 * PROTO_ERR_TOO_LARGE, PROTO_ERR_TRUNCATED, PROTO_ERR_BAD_VERSION or PROTO_ERR_BAD_ENCODING;
 * never anything but a ProtocolError.
 */
export function decodePrekeyBundle(bytes: Uint8Array): PrekeyBundle {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'bundle must be bytes');
  if (bytes.length > PREKEY_BUNDLE_BYTES)
    throw new ProtocolError('PROTO_ERR_TOO_LARGE', `a prekey bundle is ${PREKEY_BUNDLE_BYTES} bytes`);
  if (bytes.length === 0) throw new ProtocolError('PROTO_ERR_TRUNCATED', 'empty prekey bundle');
  if (bytes[0] !== PREKEY_BUNDLE_VERSION)
    throw new ProtocolError(
      'PROTO_ERR_BAD_VERSION',
      `prekey bundle version ${bytes[0]}, this implementation reads ${PREKEY_BUNDLE_VERSION}`,
    );
  if (bytes.length < PREKEY_BUNDLE_BYTES)
    throw new ProtocolError('PROTO_ERR_TRUNCATED', `a prekey bundle is ${PREKEY_BUNDLE_BYTES} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const createdAt = view.getBigUint64(37);
  const expiresAt = view.getBigUint64(45);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (createdAt > max || expiresAt > max)
    throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'prekey bundle time beyond 2^53 − 1 ms');
  return Object.freeze({
    version: bytes[0],
    identityKey: bytes.slice(1, 33),
    bundleId: view.getUint32(33),
    createdAt: Number(createdAt),
    expiresAt: Number(expiresAt),
    x25519Prekey: bytes.slice(53, 85),
    kemPublicKey: bytes.slice(85, SIGNED_BYTES),
    signature: bytes.slice(SIGNED_BYTES),
  });
}

export interface VerifyPrekeyBundleOptions {
  /** Now, ms (the sender's clock: a bundle is used only while valid). */
  readonly now: number;
  /** When given, the bundle must belong to this Ed25519 key (the peer we mean to reach). */
  readonly expectedIdentity?: Uint8Array;
  /** Accepted clock skew for `createdAt` in the future, ms (default 5 minutes). */
  readonly maxClockSkewMs?: number;
}

/**
 * Decode and verify a bundle: the signature (strict Ed25519, PROTO_ERR_BAD_SIGNATURE), the
 * owner (PROTO_ERR_WRONG_RECIPIENT), and validity: created ≤ expires, a lifetime of at most
 * PREKEY_BUNDLE_MAX_LIFETIME_MS, created not after now + skew, expires after now
 * (PROTO_ERR_PREKEY_EXPIRED). The signature is checked before the clock, so a forged bundle
 * never reports "expired".
 */
export function verifyPrekeyBundle(
  suite: CryptoSuite,
  bytes: Uint8Array,
  options: VerifyPrekeyBundleOptions,
): PrekeyBundle {
  const bundle = decodePrekeyBundle(bytes);
  if (options.expectedIdentity !== undefined) {
    assertBytes(options.expectedIdentity, PUBLIC_KEY_BYTES, 'expectedIdentity');
    if (!bytesEqual(options.expectedIdentity, bundle.identityKey))
      throw new ProtocolError('PROTO_ERR_WRONG_RECIPIENT', 'prekey bundle of another identity');
  }
  if (!suite.verify(bundle.identityKey, prekeyBundleSignedBytes(bundle), bundle.signature))
    throw new ProtocolError('PROTO_ERR_BAD_SIGNATURE', 'prekey bundle');
  if (!Number.isSafeInteger(options.now)) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'now (ms)');
  const skew = options.maxClockSkewMs ?? 5 * 60 * 1000;
  if (bundle.expiresAt <= bundle.createdAt || bundle.expiresAt - bundle.createdAt > PREKEY_BUNDLE_MAX_LIFETIME_MS)
    throw new ProtocolError('PROTO_ERR_PREKEY_EXPIRED', 'lifetime is not within (0, PREKEY_BUNDLE_MAX_LIFETIME_MS]');
  if (bundle.createdAt > options.now + skew)
    throw new ProtocolError('PROTO_ERR_PREKEY_EXPIRED', 'created in the future');
  if (bundle.expiresAt <= options.now) throw new ProtocolError('PROTO_ERR_PREKEY_EXPIRED', 'expired');
  return bundle;
}

/** SHA-256 of an encoded bundle (the `bundleDigest` in PrekeySecrets and in the message KDF). */
export function prekeyBundleDigest(encoded: Uint8Array): Uint8Array {
  return sha256(encoded);
}

export interface CreatePrekeyBundleOptions {
  /** The owner's Ed25519 identity. */
  readonly identity: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  /** u32, unique among the owner's bundles still held (a counter works). */
  readonly bundleId: number;
  /** ms since the Unix epoch. */
  readonly createdAt: number;
  /** ms (default PREKEY_BUNDLE_DEFAULT_LIFETIME_MS, at most PREKEY_BUNDLE_MAX_LIFETIME_MS). */
  readonly lifetimeMs?: number;
  /** Draws the X25519 prekey secret (32) then the ML-KEM-768 seed (64). Default: Web Crypto. */
  readonly random?: RandomSource;
}

/**
 * A fresh bundle, its encoding, and the secrets to keep under its id.
 *
 * @example
 *   const { encoded, secrets } = createPrekeyBundle(nodeSuite, { identity: bob, bundleId: 1, createdAt: Date.now() });
 *   // publish `encoded`; keep `secrets` (persisted) until rotation, then erasePrekeySecrets(secrets)
 */
export function createPrekeyBundle(
  suite: CryptoSuite,
  options: CreatePrekeyBundleOptions,
): { bundle: PrekeyBundle; encoded: Uint8Array; secrets: PrekeySecrets } {
  assertBytes(options.identity?.publicKey, PUBLIC_KEY_BYTES, 'identity.publicKey');
  assertBytes(options.identity.secretKey, SECRET_KEY_BYTES, 'identity.secretKey');
  const lifetime = options.lifetimeMs ?? PREKEY_BUNDLE_DEFAULT_LIFETIME_MS;
  if (!Number.isSafeInteger(lifetime) || lifetime <= 0 || lifetime > PREKEY_BUNDLE_MAX_LIFETIME_MS)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'lifetimeMs must be in (0, PREKEY_BUNDLE_MAX_LIFETIME_MS]');
  const random = options.random ?? secureRandom;
  const x25519SecretKey = random(DH_BYTES);
  const x25519Prekey = suite.x25519Key(x25519SecretKey).publicKey;
  const kem = mlKemGenerateKeyPair(random);
  const unsigned = {
    version: PREKEY_BUNDLE_VERSION,
    identityKey: Uint8Array.from(options.identity.publicKey),
    bundleId: options.bundleId,
    createdAt: options.createdAt,
    expiresAt: options.createdAt + lifetime,
    x25519Prekey,
    kemPublicKey: kem.publicKey,
  };
  checkFields(unsigned);
  const signature = suite.sign(options.identity.secretKey, prekeyBundleSignedBytes(unsigned));
  const bundle = Object.freeze({ ...unsigned, signature });
  const encoded = encodePrekeyBundle(bundle);
  return {
    bundle,
    encoded,
    secrets: {
      bundleId: bundle.bundleId,
      x25519SecretKey,
      kemSecretKey: kem.secretKey,
      bundleDigest: prekeyBundleDigest(encoded),
    },
  };
}

/** Overwrite a rotated-out bundle's secrets with zeros: messages sealed to it can no longer be opened. */
export function erasePrekeySecrets(secrets: PrekeySecrets): void {
  wipe(secrets.x25519SecretKey);
  wipe(secrets.kemSecretKey);
}
