/**
 * Envelope v1: the signed, end-to-end encrypted unit every peer message travels in.
 *
 *   offset  size  field
 *   0       1     version (= 1)
 *   1       1     type (EnvelopeType)
 *   2       16    message id (random; recipients dedupe on it)
 *   18      32    sender Ed25519 public key
 *   50      32    recipient Ed25519 public key
 *   82      8     timestamp, u64 big-endian, ms since the Unix epoch
 *   90      16    nonce (random; replay guard keys on sender + nonce)
 *   106     32    ephemeral X25519 public key (fresh per message)
 *   138     4     ciphertext length, u32 big-endian
 *   142     n     ciphertext = XChaCha20-Poly1305(plaintext), header bytes [0,142) as AAD
 *   142+n   64    Ed25519 signature over lengthPrefixed(domain tag, each field above)
 *
 * AEAD key: HKDF-SHA256(X25519(ephemeral, X25519(recipient)), salt = eph ‖ recipientX).
 * Verification order: size/structure → signature → recipient → timestamp window → replay → decrypt.
 */
import { bytesEqual, concatBytes, lengthPrefixed, randomBytes, utf8 } from './bytes.js';
import {
  AEAD_TAG_BYTES,
  DOMAIN,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_VERSION,
  EPHEMERAL_KEY_BYTES,
  MAX_CIPHERTEXT_BYTES,
  MAX_ENVELOPE_BYTES,
  MAX_PLAINTEXT_BYTES,
  MESSAGE_ID_BYTES,
  MIN_ENVELOPE_BYTES,
  NONCE_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
} from './constants.js';
import { aeadOpen, aeadSeal, deriveEnvelopeKey } from './crypto/aead.js';
import { ed25519PublicToX25519, ed25519SecretToX25519 } from './crypto/convert.js';
import type { CryptoSuite } from './crypto/suite.js';
import { assertBytes, ProtocolError } from './errors.js';
import { checkPeerKey, type Identity } from './identity.js';
import type { ReplayGuard } from './replay-guard.js';

export const EnvelopeType = Object.freeze({
  CONSENT_REQUEST: 1,
  CONSENT_RESPONSE: 2,
  SIGNAL: 3,
  DIRECT_HANDSHAKE: 4,
  DATA: 5,
  ACK: 6,
  REVOKE: 7,
  ADDRESSES: 8,
} as const);
export type EnvelopeType = (typeof EnvelopeType)[keyof typeof EnvelopeType];
const KNOWN_TYPES = new Set<number>(Object.values(EnvelopeType));

export function isEnvelopeType(value: number): value is EnvelopeType {
  return KNOWN_TYPES.has(value);
}

const OFF = Object.freeze({
  version: 0,
  type: 1,
  messageId: 2,
  sender: 18,
  recipient: 50,
  timestamp: 82,
  nonce: 90,
  ephemeral: 106,
  length: 138,
  ciphertext: ENVELOPE_HEADER_BYTES,
});

/** Decoded (not yet verified) envelope fields. Views into the input bytes. */
export interface EnvelopeFields {
  readonly version: number;
  readonly type: EnvelopeType;
  readonly messageId: Uint8Array;
  readonly sender: Uint8Array;
  readonly recipient: Uint8Array;
  readonly timestamp: number;
  readonly nonce: Uint8Array;
  readonly ephemeralKey: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly signature: Uint8Array;
  /** Header bytes [0, 142): the AEAD associated data. */
  readonly header: Uint8Array;
}

const SIGNATURE_TAG = utf8(DOMAIN.envelopeSignature);

function signedBytes(f: Omit<EnvelopeFields, 'signature' | 'header'>): Uint8Array {
  return lengthPrefixed(
    SIGNATURE_TAG,
    Uint8Array.of(f.version),
    Uint8Array.of(f.type),
    f.messageId,
    f.sender,
    f.recipient,
    encodeU64(f.timestamp),
    f.nonce,
    f.ephemeralKey,
    f.ciphertext,
  );
}

function encodeU64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

function encodeHeader(
  f: Omit<EnvelopeFields, 'signature' | 'header' | 'ciphertext'>,
  ciphertextLength: number,
): Uint8Array {
  const header = new Uint8Array(ENVELOPE_HEADER_BYTES);
  const view = new DataView(header.buffer);
  header[OFF.version] = f.version;
  header[OFF.type] = f.type;
  header.set(f.messageId, OFF.messageId);
  header.set(f.sender, OFF.sender);
  header.set(f.recipient, OFF.recipient);
  view.setBigUint64(OFF.timestamp, BigInt(f.timestamp));
  header.set(f.nonce, OFF.nonce);
  header.set(f.ephemeralKey, OFF.ephemeral);
  view.setUint32(OFF.length, ciphertextLength);
  return header;
}

/**
 * The structure check of `decodeEnvelope` (sizes, version, type, lengths, timestamp range)
 * without building any field views: for relays, which check every frame and then only compare
 * the sender and recipient in place (at ENVELOPE_SENDER_OFFSET / ENVELOPE_RECIPIENT_OFFSET).
 * Returns the ciphertext length. Throws ProtocolError only.
 */
export function checkEnvelope(bytes: Uint8Array): number {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'envelope must be bytes');
  if (bytes.length > MAX_ENVELOPE_BYTES)
    throw new ProtocolError('PROTO_ERR_TOO_LARGE', `${bytes.length} > ${MAX_ENVELOPE_BYTES}`);
  if (bytes.length < MIN_ENVELOPE_BYTES)
    throw new ProtocolError('PROTO_ERR_TRUNCATED', `${bytes.length} < ${MIN_ENVELOPE_BYTES}`);
  const version = bytes[OFF.version]!;
  if (version !== ENVELOPE_VERSION) throw new ProtocolError('PROTO_ERR_BAD_VERSION', `envelope version ${version}`);
  const type = bytes[OFF.type]!;
  if (!isEnvelopeType(type)) throw new ProtocolError('PROTO_ERR_BAD_TYPE', `envelope type ${type}`);
  const o = OFF.length;
  const length = bytes[o]! * 0x1000000 + (bytes[o + 1]! << 16) + ((bytes[o + 2]! << 8) | bytes[o + 3]!);
  if (length > MAX_CIPHERTEXT_BYTES) throw new ProtocolError('PROTO_ERR_TOO_LARGE', `ciphertext ${length}`);
  if (length < AEAD_TAG_BYTES) throw new ProtocolError('PROTO_ERR_TRUNCATED', 'ciphertext shorter than its tag');
  const end = OFF.ciphertext + length + SIGNATURE_BYTES;
  if (bytes.length < end) throw new ProtocolError('PROTO_ERR_TRUNCATED', `declares ${end} bytes, has ${bytes.length}`);
  if (bytes.length > end) throw new ProtocolError('PROTO_ERR_TRAILING_BYTES', `${bytes.length - end} extra bytes`);
  // Timestamps are u64 ms but must fit in 2^53: the high 32 bits at most 0x1fffff.
  const t = OFF.timestamp;
  const high = bytes[t]! * 0x1000000 + (bytes[t + 1]! << 16) + ((bytes[t + 2]! << 8) | bytes[t + 3]!);
  if (high > 0x1fffff) throw new ProtocolError('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW', 'timestamp beyond 2^53 ms');
  return length;
}

/** Offset of the sender's public key in an envelope, bytes. */
export const ENVELOPE_SENDER_OFFSET = OFF.sender;
/** Offset of the recipient's public key in an envelope, bytes. */
export const ENVELOPE_RECIPIENT_OFFSET = OFF.recipient;
/** Offset of the message id (MESSAGE_ID_BYTES, chosen by the sender) in an envelope, bytes. */
export const ENVELOPE_MESSAGE_ID_OFFSET = OFF.messageId;

/**
 * Structure-only decode: sizes, version, type, lengths. Does not verify anything
 * cryptographic. Throws ProtocolError only.
 */
export function decodeEnvelope(bytes: Uint8Array): EnvelopeFields {
  const length = checkEnvelope(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[OFF.version]!;
  const type = bytes[OFF.type]! as EnvelopeType;
  const end = OFF.ciphertext + length + SIGNATURE_BYTES;
  const timestamp = view.getBigUint64(OFF.timestamp);
  return {
    version,
    type,
    messageId: bytes.subarray(OFF.messageId, OFF.messageId + MESSAGE_ID_BYTES),
    sender: bytes.subarray(OFF.sender, OFF.sender + PUBLIC_KEY_BYTES),
    recipient: bytes.subarray(OFF.recipient, OFF.recipient + PUBLIC_KEY_BYTES),
    timestamp: Number(timestamp),
    nonce: bytes.subarray(OFF.nonce, OFF.nonce + NONCE_BYTES),
    ephemeralKey: bytes.subarray(OFF.ephemeral, OFF.ephemeral + EPHEMERAL_KEY_BYTES),
    ciphertext: bytes.subarray(OFF.ciphertext, OFF.ciphertext + length),
    signature: bytes.subarray(OFF.ciphertext + length, end),
    header: bytes.subarray(0, ENVELOPE_HEADER_BYTES),
  };
}

/**
 * What a relay may learn of an envelope without keys: sender and recipient, after the
 * structure check. Cheap (no crypto): the rendezvous server calls it per frame.
 */
export function peekEnvelope(bytes: Uint8Array): { type: EnvelopeType; sender: Uint8Array; recipient: Uint8Array } {
  const f = decodeEnvelope(bytes);
  return { type: f.type, sender: f.sender, recipient: f.recipient };
}

export interface SealOptions {
  type: EnvelopeType;
  sender: Identity;
  recipient: Uint8Array;
  plaintext: Uint8Array;
  /** ms since epoch; default Date.now(). */
  timestamp?: number;
  /** Fixed values for golden vectors only; random by default. */
  messageId?: Uint8Array;
  nonce?: Uint8Array;
  ephemeralSecret?: Uint8Array;
}

/**
 * Encrypt and sign a payload for one recipient.
 * @example
 *   const bytes = sealEnvelope(nodeSuite, { type: EnvelopeType.DATA, sender: me, recipient: peerKey, plaintext });
 */
export function sealEnvelope(suite: CryptoSuite, opts: SealOptions): Uint8Array {
  if (!isEnvelopeType(opts.type)) throw new ProtocolError('PROTO_ERR_BAD_TYPE', `envelope type ${String(opts.type)}`);
  assertBytes(opts.recipient, PUBLIC_KEY_BYTES, 'recipient');
  assertBytes(opts.plaintext, undefined, 'plaintext');
  if (opts.plaintext.length > MAX_PLAINTEXT_BYTES)
    throw new ProtocolError('PROTO_ERR_TOO_LARGE', `plaintext ${opts.plaintext.length} > ${MAX_PLAINTEXT_BYTES}`);
  const timestamp = opts.timestamp ?? Date.now();
  if (!Number.isSafeInteger(timestamp) || timestamp < 0)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'timestamp must be a non-negative safe integer');
  const messageId = opts.messageId ?? randomBytes(MESSAGE_ID_BYTES);
  const nonce = opts.nonce ?? randomBytes(NONCE_BYTES);
  assertBytes(messageId, MESSAGE_ID_BYTES, 'messageId');
  assertBytes(nonce, NONCE_BYTES, 'nonce');

  const recipientX = ed25519PublicToX25519(opts.recipient);
  let ephemeralKey: Uint8Array;
  let shared: Uint8Array;
  if (opts.ephemeralSecret === undefined) {
    ({ publicKey: ephemeralKey, shared } = suite.x25519Ephemeral(recipientX));
  } else {
    assertBytes(opts.ephemeralSecret, 32, 'ephemeralSecret');
    ephemeralKey = suite.x25519PublicKey(opts.ephemeralSecret);
    shared = suite.x25519(opts.ephemeralSecret, recipientX);
  }
  const { key, nonce: aeadNonce } = deriveEnvelopeKey(shared, ephemeralKey, recipientX);

  const fields = {
    version: ENVELOPE_VERSION,
    type: opts.type,
    messageId,
    sender: opts.sender.publicKey,
    recipient: opts.recipient,
    timestamp,
    nonce,
    ephemeralKey,
  };
  const header = encodeHeader(fields, opts.plaintext.length + AEAD_TAG_BYTES);
  const ciphertext = aeadSeal(key, aeadNonce, opts.plaintext, header);
  const signature = suite.sign(opts.sender.secretKey, signedBytes({ ...fields, ciphertext }));
  return concatBytes(header, ciphertext, signature);
}

export interface OpenOptions {
  recipient: Identity;
  /** Required: the guard that remembers (sender, nonce) pairs. */
  replayGuard: ReplayGuard;
  /** ms since epoch; default Date.now(). */
  now?: number;
  /** Accepted skew either side of now, ms; default (and maximum) the replay guard's window. */
  windowMs?: number;
}

export interface OpenedEnvelope {
  readonly fields: EnvelopeFields;
  readonly plaintext: Uint8Array;
}

/**
 * Check only structure and signature (no decryption, no replay state). A small-order sender
 * key is named for what it is (PROTO_ERR_WEAK_KEY) before the signature is looked at.
 */
export function verifyEnvelopeSignature(suite: CryptoSuite, bytes: Uint8Array): EnvelopeFields {
  const fields = decodeEnvelope(bytes);
  checkPeerKey(fields.sender);
  if (!suite.verify(fields.sender, signedBytes(fields), fields.signature))
    throw new ProtocolError('PROTO_ERR_BAD_SIGNATURE');
  return fields;
}

/**
 * Verify and decrypt an envelope addressed to `opts.recipient`, in the documented order.
 * Throws ProtocolError (and nothing else) on any failure.
 */
export function openEnvelope(suite: CryptoSuite, bytes: Uint8Array, opts: OpenOptions): OpenedEnvelope {
  const fields = verifyEnvelopeSignature(suite, bytes);
  if (!bytesEqual(fields.recipient, opts.recipient.publicKey)) throw new ProtocolError('PROTO_ERR_WRONG_RECIPIENT');
  const now = opts.now ?? Date.now();
  // A window wider than the guard's would accept envelopes the guard has already forgotten.
  const windowMs = opts.windowMs ?? opts.replayGuard.windowMs;
  if (windowMs > opts.replayGuard.windowMs)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'windowMs exceeds the replay guard window');
  if (Math.abs(fields.timestamp - now) > windowMs)
    throw new ProtocolError('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW', `skew ${fields.timestamp - now} ms`);
  opts.replayGuard.checkAndRecord(fields.sender, fields.nonce, fields.timestamp, now);
  const recipientX = ed25519PublicToX25519(opts.recipient.publicKey);
  const shared = suite.x25519(ed25519SecretToX25519(opts.recipient.secretKey), fields.ephemeralKey);
  const { key, nonce } = deriveEnvelopeKey(shared, fields.ephemeralKey, recipientX);
  const plaintext = aeadOpen(key, nonce, fields.ciphertext, fields.header);
  if (!plaintext) throw new ProtocolError('PROTO_ERR_DECRYPT_FAILED');
  return { fields, plaintext };
}
