import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, concatBytes, lengthPrefixed, randomBytes, utf8 } from '../bytes.js';
import {
  AEAD_TAG_BYTES,
  DOMAIN,
  MESSAGE_ID_BYTES,
  PREKEY_MAX_PLAINTEXT_BYTES,
  PREKEY_MESSAGE_HEADER_BYTES,
  PREKEY_MESSAGE_MAX_BYTES,
  PREKEY_MESSAGE_VERSION,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
} from '../constants.js';
import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../crypto/convert.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { assertBytes, ProtocolError } from '../errors.js';
import { CHACHA_KEY_BYTES, chachaDecrypt, chachaEncrypt } from './chacha-poly.js';
import { MLKEM768_CIPHERTEXT_BYTES, mlKemDecapsulate, mlKemEncapsulate } from './ml-kem.js';
import { type PrekeySecrets, prekeyBundleDigest, verifyPrekeyBundle } from './prekey-bundle.js';
import type { PrekeyReplayGuard } from './prekey-replay-guard.js';
import { type RandomSource, secureRandom } from './random.js';
import { wipe } from './wipe.js';
import { DH_BYTES } from './x25519-dh.js';

/**
 * One-shot messages sealed to a signed prekey bundle, PQXDH-like (docs/protocol.md "v2 prekeys"):
 *
 *   DH1 = X25519(IK_s, SPK_r)   DH2 = X25519(EK_s, IK_r)   DH3 = X25519(EK_s, SPK_r)
 *   (CT, SS) = ML-KEM-768.Encaps(PQPK_r)
 *   key = HKDF-SHA-256(ikm = 0xFF×32 ‖ DH1 ‖ DH2 ‖ DH3 ‖ SS, salt = 0×32,
 *                      info = lengthPrefixed(DOMAIN.prekeyMessageKdf, version, algorithms,
 *                             IK_s, IK_r (Ed25519), bundle id, SHA-256(bundle), EK_s, CT), 32)
 *   ciphertext = ChaCha20-Poly1305(key, nonce = 0, ad = header, plaintext)
 *
 * IK are the identities' X25519 forms, SPK / PQPK the bundle's prekeys, EK_s a fresh ephemeral.
 *
 *   offset  bytes  field (the header, all of it AEAD associated data)
 *   0       1      version (PREKEY_MESSAGE_VERSION)
 *   1       32     sender Ed25519 public key
 *   33      32     recipient Ed25519 public key
 *   65      4      bundle id, u32 big-endian
 *   69      32     ephemeral X25519 public key EK_s
 *   101     1088   ML-KEM-768 ciphertext CT
 *   1189    8      sequence, u64 big-endian (per sender → recipient, from 0; PrekeyReplayGuard)
 *   1197    16     message id (random; the mailbox dedupes on it)
 *   1213    n+16   ChaCha20-Poly1305 ciphertext and tag
 */

/** Field offsets in a prekey message (the layout above); peer-packet.ts reads the same fields in place. */
export const PREKEY_MESSAGE_SENDER_OFFSET = 1;
export const PREKEY_MESSAGE_RECIPIENT_OFFSET = 33;
const BUNDLE_ID_OFFSET = 65;
const EPHEMERAL_KEY_OFFSET = 69;
const KEM_CIPHERTEXT_OFFSET = 101;
export const PREKEY_MESSAGE_SEQUENCE_OFFSET = 1_189;
export const PREKEY_MESSAGE_ID_OFFSET = 1_197;

/** Algorithms named in the KDF info, so a change of any of them changes every key. */
export const PREKEY_ALGORITHMS = 'X25519,ML-KEM-768,ChaCha20-Poly1305,SHA-256,HKDF-SHA-256';

const KDF_TAG = utf8(DOMAIN.prekeyMessageKdf);
/** PQXDH's F: 32 0xFF bytes before the DH outputs (domain separation for X25519, as in X3DH §2.2). */
const KDF_PREFIX = new Uint8Array(32).fill(0xff);
const KDF_SALT = new Uint8Array(32);
const NONCE_ZERO = 0;

export interface PrekeyMessageHeader {
  readonly version: number;
  readonly sender: Uint8Array;
  readonly recipient: Uint8Array;
  readonly bundleId: number;
  readonly ephemeralKey: Uint8Array;
  readonly kemCiphertext: Uint8Array;
  readonly sequence: number;
  readonly messageId: Uint8Array;
}

export interface PrekeyKeyInputs {
  readonly dh1: Uint8Array;
  readonly dh2: Uint8Array;
  readonly dh3: Uint8Array;
  readonly kemSharedSecret: Uint8Array;
  readonly header: PrekeyMessageHeader;
  readonly bundleDigest: Uint8Array;
}

/** The message key from the four secrets and the transcript (exported for the vectors and the FS test). */
export function derivePrekeyMessageKey(k: PrekeyKeyInputs): Uint8Array {
  const ikm = concatBytes(KDF_PREFIX, k.dh1, k.dh2, k.dh3, k.kemSharedSecret);
  const bundleId = new Uint8Array(4);
  new DataView(bundleId.buffer).setUint32(0, k.header.bundleId);
  const info = lengthPrefixed(
    KDF_TAG,
    Uint8Array.of(k.header.version),
    utf8(PREKEY_ALGORITHMS),
    k.header.sender,
    k.header.recipient,
    bundleId,
    k.bundleDigest,
    k.header.ephemeralKey,
    k.header.kemCiphertext,
  );
  const key = hkdf(sha256, ikm, KDF_SALT, info, CHACHA_KEY_BYTES);
  wipe(ikm);
  return key;
}

function encodeHeader(h: PrekeyMessageHeader): Uint8Array {
  const out = new Uint8Array(PREKEY_MESSAGE_HEADER_BYTES);
  const view = new DataView(out.buffer);
  out[0] = h.version;
  out.set(h.sender, PREKEY_MESSAGE_SENDER_OFFSET);
  out.set(h.recipient, PREKEY_MESSAGE_RECIPIENT_OFFSET);
  view.setUint32(BUNDLE_ID_OFFSET, h.bundleId);
  out.set(h.ephemeralKey, EPHEMERAL_KEY_OFFSET);
  out.set(h.kemCiphertext, KEM_CIPHERTEXT_OFFSET);
  view.setBigUint64(PREKEY_MESSAGE_SEQUENCE_OFFSET, BigInt(h.sequence));
  out.set(h.messageId, PREKEY_MESSAGE_ID_OFFSET);
  return out;
}

/**
 * Parse a prekey message's header (no crypto). Throws PROTO_ERR_TOO_LARGE, PROTO_ERR_TRUNCATED,
 * PROTO_ERR_BAD_VERSION or PROTO_ERR_BAD_ENCODING; never anything but a ProtocolError.
 */
export function decodePrekeyMessage(bytes: Uint8Array): { header: PrekeyMessageHeader; ciphertext: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'message must be bytes');
  if (bytes.length > PREKEY_MESSAGE_MAX_BYTES)
    throw new ProtocolError('PROTO_ERR_TOO_LARGE', `a prekey message is at most ${PREKEY_MESSAGE_MAX_BYTES} bytes`);
  if (bytes.length === 0) throw new ProtocolError('PROTO_ERR_TRUNCATED', 'empty prekey message');
  if (bytes[0] !== PREKEY_MESSAGE_VERSION)
    throw new ProtocolError(
      'PROTO_ERR_BAD_VERSION',
      `prekey message version ${bytes[0]}, this implementation reads ${PREKEY_MESSAGE_VERSION}`,
    );
  if (bytes.length < PREKEY_MESSAGE_HEADER_BYTES + AEAD_TAG_BYTES)
    throw new ProtocolError('PROTO_ERR_TRUNCATED', 'prekey message shorter than header and tag');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sequence = view.getBigUint64(PREKEY_MESSAGE_SEQUENCE_OFFSET);
  if (sequence > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'prekey message sequence beyond 2^53 − 1');
  return {
    header: Object.freeze({
      version: bytes[0],
      sender: bytes.slice(PREKEY_MESSAGE_SENDER_OFFSET, PREKEY_MESSAGE_RECIPIENT_OFFSET),
      recipient: bytes.slice(PREKEY_MESSAGE_RECIPIENT_OFFSET, BUNDLE_ID_OFFSET),
      bundleId: view.getUint32(BUNDLE_ID_OFFSET),
      ephemeralKey: bytes.slice(EPHEMERAL_KEY_OFFSET, KEM_CIPHERTEXT_OFFSET),
      kemCiphertext: bytes.slice(KEM_CIPHERTEXT_OFFSET, KEM_CIPHERTEXT_OFFSET + MLKEM768_CIPHERTEXT_BYTES),
      sequence: Number(sequence),
      messageId: bytes.slice(PREKEY_MESSAGE_ID_OFFSET, PREKEY_MESSAGE_HEADER_BYTES),
    }),
    ciphertext: bytes.subarray(PREKEY_MESSAGE_HEADER_BYTES),
  };
}

export interface SealToPrekeyOptions {
  /** The sender's Ed25519 identity (its X25519 form is IK_s). */
  readonly sender: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  /** The recipient's Ed25519 key: the bundle must be signed by it. */
  readonly recipient: Uint8Array;
  /** The recipient's encoded bundle; verified here (signature, owner, validity at `now`). */
  readonly bundle: Uint8Array;
  /** Now, ms: only to check the bundle's validity. */
  readonly now: number;
  /** Per (sender, recipient) sequence number, from 0, persisted by the sender across restarts. */
  readonly sequence: number;
  readonly plaintext: Uint8Array;
  /** 16 bytes; random by default. Resending a stored message reuses its id. */
  readonly messageId?: Uint8Array;
  /** Draws the ephemeral X25519 secret (32) then the ML-KEM encapsulation randomness (32). */
  readonly random?: RandomSource;
}

/**
 * Seal `plaintext` to the recipient's prekey bundle (one message, one ephemeral, one
 * encapsulation). X25519 through `suite` (nodeSuite in Node, portableSuite in browsers).
 *
 * @example
 *   const { message } = sealToPrekey(nodeSuite, { sender: alice, recipient: bob.publicKey,
 *     bundle: bobsBundle, now: Date.now(), sequence: nextSeq++, plaintext });
 */
export function sealToPrekey(
  suite: CryptoSuite,
  options: SealToPrekeyOptions,
): { message: Uint8Array; messageId: Uint8Array } {
  assertBytes(options.sender?.publicKey, PUBLIC_KEY_BYTES, 'sender.publicKey');
  assertBytes(options.sender.secretKey, SECRET_KEY_BYTES, 'sender.secretKey');
  assertBytes(options.recipient, PUBLIC_KEY_BYTES, 'recipient');
  assertBytes(options.plaintext, undefined, 'plaintext');
  if (options.plaintext.length > PREKEY_MAX_PLAINTEXT_BYTES)
    throw new ProtocolError('PROTO_ERR_TOO_LARGE', `plaintext over ${PREKEY_MAX_PLAINTEXT_BYTES} bytes`);
  if (!Number.isSafeInteger(options.sequence) || options.sequence < 0)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'sequence must be a non-negative safe integer');
  const messageId = options.messageId ?? randomBytes(MESSAGE_ID_BYTES);
  assertBytes(messageId, MESSAGE_ID_BYTES, 'messageId');
  const bundle = verifyPrekeyBundle(suite, options.bundle, { now: options.now, expectedIdentity: options.recipient });
  const random = options.random ?? secureRandom;

  const ephemeralSecret = random(DH_BYTES);
  const ephemeral = suite.x25519Key(ephemeralSecret);
  const recipientX = ed25519PublicToX25519(bundle.identityKey);
  const dh1 = suite.x25519(ed25519SecretToX25519(options.sender.secretKey), bundle.x25519Prekey);
  const dh2 = ephemeral.agree(recipientX);
  const dh3 = ephemeral.agree(bundle.x25519Prekey);
  wipe(ephemeralSecret);
  const { cipherText, sharedSecret } = mlKemEncapsulate(bundle.kemPublicKey, random);
  const header: PrekeyMessageHeader = {
    version: PREKEY_MESSAGE_VERSION,
    sender: Uint8Array.from(options.sender.publicKey),
    recipient: Uint8Array.from(bundle.identityKey),
    bundleId: bundle.bundleId,
    ephemeralKey: ephemeral.publicKey,
    kemCiphertext: cipherText,
    sequence: options.sequence,
    messageId: Uint8Array.from(messageId),
  };
  const key = derivePrekeyMessageKey({
    dh1,
    dh2,
    dh3,
    kemSharedSecret: sharedSecret,
    header,
    bundleDigest: prekeyBundleDigest(options.bundle),
  });
  for (const s of [dh1, dh2, dh3, sharedSecret]) wipe(s);
  const encodedHeader = encodeHeader(header);
  const ciphertext = chachaEncrypt(key, NONCE_ZERO, encodedHeader, options.plaintext);
  wipe(key);
  return { message: concatBytes(encodedHeader, ciphertext), messageId: header.messageId };
}

export interface OpenPrekeyMessageOptions {
  /** Our Ed25519 identity (the recipient). */
  readonly recipient: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  /** Our secrets for a bundle id, or undefined once that bundle rotated out and was erased. */
  readonly prekeys: (bundleId: number) => PrekeySecrets | undefined;
  /**
   * Per-sender sequence tracker (persist it with `toState()`). Checked before decrypting,
   * recorded only after the tag verified. Omit only when the caller dedupes itself.
   */
  readonly replayGuard?: PrekeyReplayGuard;
}

export interface OpenedPrekeyMessage {
  readonly sender: Uint8Array;
  readonly bundleId: number;
  readonly sequence: number;
  readonly messageId: Uint8Array;
  readonly plaintext: Uint8Array;
}

/**
 * Open a message sealed to one of our bundles. Throws (all ProtocolError): the decode errors,
 * PROTO_ERR_WRONG_RECIPIENT, PROTO_ERR_PREKEY_REPLAY, PROTO_ERR_PREKEY_UNKNOWN, PROTO_ERR_BAD_KEY /
 * PROTO_ERR_WEAK_KEY (sender or ephemeral key), PROTO_ERR_DECRYPT_FAILED (tampered, or sealed
 * under other keys). The sender is authenticated implicitly (DH1): only its identity secret, or
 * our prekey secret, gives the same key.
 */
export function openPrekeyMessage(
  suite: CryptoSuite,
  bytes: Uint8Array,
  options: OpenPrekeyMessageOptions,
): OpenedPrekeyMessage {
  assertBytes(options.recipient?.publicKey, PUBLIC_KEY_BYTES, 'recipient.publicKey');
  assertBytes(options.recipient.secretKey, SECRET_KEY_BYTES, 'recipient.secretKey');
  const { header, ciphertext } = decodePrekeyMessage(bytes);
  if (!bytesEqual(header.recipient, options.recipient.publicKey))
    throw new ProtocolError('PROTO_ERR_WRONG_RECIPIENT', 'prekey message for another identity');
  options.replayGuard?.check(header.sender, header.sequence);
  const secrets = options.prekeys(header.bundleId);
  if (!secrets || secrets.bundleId !== header.bundleId)
    throw new ProtocolError('PROTO_ERR_PREKEY_UNKNOWN', `bundle id ${header.bundleId}`);
  const senderX = ed25519PublicToX25519(header.sender);
  const prekey = suite.x25519Key(secrets.x25519SecretKey);
  const dh1 = prekey.agree(senderX);
  const dh2 = suite.x25519(ed25519SecretToX25519(options.recipient.secretKey), header.ephemeralKey);
  const dh3 = prekey.agree(header.ephemeralKey);
  let kemSharedSecret: Uint8Array;
  try {
    kemSharedSecret = mlKemDecapsulate(header.kemCiphertext, secrets.kemSecretKey);
  } catch {
    throw new ProtocolError('PROTO_ERR_DECRYPT_FAILED', 'ML-KEM decapsulation');
  }
  const key = derivePrekeyMessageKey({ dh1, dh2, dh3, kemSharedSecret, header, bundleDigest: secrets.bundleDigest });
  for (const s of [dh1, dh2, dh3, kemSharedSecret]) wipe(s);
  let plaintext: Uint8Array;
  try {
    plaintext = chachaDecrypt(key, NONCE_ZERO, bytes.subarray(0, PREKEY_MESSAGE_HEADER_BYTES), ciphertext);
  } finally {
    wipe(key);
  }
  options.replayGuard?.commit(header.sender, header.sequence);
  return {
    sender: header.sender,
    bundleId: header.bundleId,
    sequence: header.sequence,
    messageId: header.messageId,
    plaintext,
  };
}
