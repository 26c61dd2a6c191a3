// Envelope v1 (docs/protocol.md "Envelope v1"): the end-to-end container for consent,
// revoke and other control messages between peers that may have no session.
//
//   offset size field
//        0    1 version = 1
//        1    1 type (1 consent request … 8 addresses)
//        2   16 message id (random)
//       18   32 sender Ed25519 key
//       50   32 recipient Ed25519 key
//       82    8 timestamp, u64 BE, ms since the Unix epoch
//       90   16 nonce (random; the replay guard's key, NOT the AEAD nonce)
//      106   32 ephemeral X25519 public key (fresh per message)
//      138    4 ciphertext length n, u32 BE (16 ≤ n ≤ 61,456)
//      142    n XChaCha20-Poly1305 ciphertext ‖ tag, associated data = bytes [0, 142)
//    142+n   64 Ed25519 signature

import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, equalBytes, lp, Reader, u8, u32, u64, utf8 } from './bytes.js';
import { PeerError } from './errors.js';
import { checkEd25519Key, type Identity, x25519FromEd25519, x25519Shared } from './identity.js';
import { sign, verifyStrict } from './strict-ed25519.js';

export const ENVELOPE_VERSION = 1;
export const ENVELOPE_TYPE = {
  CONSENT_REQUEST: 1,
  CONSENT_RESPONSE: 2,
  WEBRTC_SIGNAL: 3,
  DIRECT_HANDSHAKE: 4,
  DATA: 5,
  ACK: 6,
  REVOKE: 7,
  ADDRESSES: 8,
} as const;
export const HEADER_BYTES = 142;
export const SIGNATURE_BYTES = 64;
export const TAG_BYTES = 16;
/** MAX_PLAINTEXT_BYTES (docs/limits.md). */
export const MAX_PLAINTEXT_BYTES = 61_440;
export const MIN_CIPHERTEXT_BYTES = TAG_BYTES;
export const MAX_CIPHERTEXT_BYTES = MAX_PLAINTEXT_BYTES + TAG_BYTES;
export const MIN_ENVELOPE_BYTES = HEADER_BYTES + MIN_CIPHERTEXT_BYTES + SIGNATURE_BYTES; // 222
export const MAX_ENVELOPE_BYTES = HEADER_BYTES + MAX_CIPHERTEXT_BYTES + SIGNATURE_BYTES; // 61,662
/** ±5 min (DEFAULT_TIMESTAMP_WINDOW_MS). */
export const TIMESTAMP_WINDOW_MS = 300_000;

const AEAD_KEY_INFO = utf8('p2p-comm/v1/envelope-aead-key');
const SIGNATURE_DOMAIN = utf8('p2p-comm/v1/envelope-signature');

export interface EnvelopeFields {
  version: number;
  type: number;
  messageId: Uint8Array;
  sender: Uint8Array;
  recipient: Uint8Array;
  timestamp: number;
  nonce: Uint8Array;
  ephemeral: Uint8Array;
  ciphertext: Uint8Array;
  signature: Uint8Array;
  /** bytes [0, 142): the AEAD's associated data. */
  header: Uint8Array;
}

/** The random inputs of one seal; tests pass fixed ones to reproduce the golden envelopes. */
export interface SealRandom {
  messageId: Uint8Array;
  nonce: Uint8Array;
  ephemeralSecret: Uint8Array;
}

/**
 * key ‖ nonce = HKDF-SHA256(ikm = X25519(eph, recipientX), salt = ephemeral ‖ recipientX,
 * info = "p2p-comm/v1/envelope-aead-key", 56 bytes): a 32-byte key and the 24-byte
 * XChaCha20 nonce (GAP 3).
 */
function aeadKeyAndNonce(shared: Uint8Array, ephemeralPublic: Uint8Array, recipientX: Uint8Array) {
  if (shared.every((b) => b === 0)) throw new PeerError('PROTO_ERR_WEAK_KEY', 'X25519 gave an all-zero secret');
  const okm = hkdf(sha256, shared, concat(ephemeralPublic, recipientX), AEAD_KEY_INFO, 56);
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32, 56) };
}

function signatureInput(f: Omit<EnvelopeFields, 'signature' | 'header'>): Uint8Array {
  return concat(
    lp(SIGNATURE_DOMAIN),
    lp(u8(f.version)),
    lp(u8(f.type)),
    lp(f.messageId),
    lp(f.sender),
    lp(f.recipient),
    lp(u64(f.timestamp)),
    lp(f.nonce),
    lp(f.ephemeral),
    lp(f.ciphertext),
  );
}

function encodeHeader(f: Omit<EnvelopeFields, 'signature' | 'header' | 'ciphertext'>, ciphertextLength: number) {
  return concat(
    u8(f.version),
    u8(f.type),
    f.messageId,
    f.sender,
    f.recipient,
    u64(f.timestamp),
    f.nonce,
    f.ephemeral,
    u32(ciphertextLength),
  );
}

/** Every intermediate of one seal (the conformance kit's `envelope.seal` asks for them). */
export interface SealedEnvelope {
  envelope: Uint8Array;
  recipientX25519: Uint8Array;
  ephemeralKey: Uint8Array;
  shared: Uint8Array;
  aeadKey: Uint8Array;
  aeadNonce: Uint8Array;
  signedBytes: Uint8Array;
}

/** "Encryption" steps 1–4, then the signature. */
export function sealEnvelopeParts(
  sender: Identity,
  recipient: Uint8Array,
  type: number,
  plaintext: Uint8Array,
  timestamp: number,
  random: SealRandom,
): SealedEnvelope {
  if (plaintext.length > MAX_PLAINTEXT_BYTES) throw new PeerError('PROTO_ERR_TOO_LARGE', 'plaintext over 61,440 bytes');
  const recipientX = x25519FromEd25519(recipient);
  const ephemeral = x25519.getPublicKey(random.ephemeralSecret);
  const shared = x25519Shared(random.ephemeralSecret, recipientX);
  const { key, nonce } = aeadKeyAndNonce(shared, ephemeral, recipientX);
  const fields = {
    version: ENVELOPE_VERSION,
    type,
    messageId: random.messageId,
    sender: sender.publicKey,
    recipient,
    timestamp,
    nonce: random.nonce,
    ephemeral,
  };
  const header = encodeHeader(fields, plaintext.length + TAG_BYTES);
  const ciphertext = xchacha20poly1305(key, nonce, header).encrypt(plaintext);
  const signedBytes = signatureInput({ ...fields, ciphertext });
  const signature = sign(sender.seed, signedBytes);
  return {
    envelope: concat(header, ciphertext, signature),
    recipientX25519: recipientX,
    ephemeralKey: ephemeral,
    shared,
    aeadKey: key,
    aeadNonce: nonce,
    signedBytes,
  };
}

export function sealEnvelope(
  sender: Identity,
  recipient: Uint8Array,
  type: number,
  plaintext: Uint8Array,
  timestamp: number,
  random: SealRandom,
): Uint8Array {
  return sealEnvelopeParts(sender, recipient, type, plaintext, timestamp, random).envelope;
}

/**
 * Step 1 of the verification order: size and structure. Byte 0 is checked before anything
 * else so an unknown version is PROTO_ERR_BAD_VERSION whatever its length.
 */
export function decodeEnvelope(bytes: Uint8Array): EnvelopeFields {
  if (bytes.length === 0) throw new PeerError('PROTO_ERR_TRUNCATED', 'empty envelope');
  if (bytes[0] !== ENVELOPE_VERSION) {
    throw new PeerError('PROTO_ERR_BAD_VERSION', `unknown envelope version ${bytes[0]} (this implementation speaks 1)`);
  }
  if (bytes.length > MAX_ENVELOPE_BYTES) throw new PeerError('PROTO_ERR_TOO_LARGE', 'envelope over 61,662 bytes');
  const reader = new Reader(bytes);
  const version = reader.u8();
  const type = reader.u8();
  if (type < ENVELOPE_TYPE.CONSENT_REQUEST || type > ENVELOPE_TYPE.ADDRESSES) {
    throw new PeerError('PROTO_ERR_BAD_TYPE', `unknown envelope type ${type}`);
  }
  const messageId = reader.take(16);
  const sender = reader.take(32);
  const recipient = reader.take(32);
  // A timestamp above 2^53 − 1 cannot be judged exactly: PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW
  // ("Conventions"), not a rounded number.
  const timestampBytes = reader.take(8);
  const timestampBig = new DataView(timestampBytes.buffer, timestampBytes.byteOffset, 8).getBigUint64(0);
  if (timestampBig > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new PeerError('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW', 'envelope timestamp above 2^53 - 1');
  }
  const timestamp = Number(timestampBig);
  const nonce = reader.take(16);
  const ephemeral = reader.take(32);
  const length = reader.u32();
  if (length < MIN_CIPHERTEXT_BYTES) throw new PeerError('PROTO_ERR_TRUNCATED', 'ciphertext shorter than its tag');
  if (length > MAX_CIPHERTEXT_BYTES) throw new PeerError('PROTO_ERR_TOO_LARGE', 'ciphertext over 61,456 bytes');
  const ciphertext = reader.take(length);
  const signature = reader.take(SIGNATURE_BYTES);
  reader.end();
  checkEd25519Key(sender);
  checkEd25519Key(recipient);
  return {
    version,
    type,
    messageId,
    sender,
    recipient,
    timestamp,
    nonce,
    ephemeral,
    ciphertext,
    signature,
    header: bytes.subarray(0, HEADER_BYTES),
  };
}

export interface OpenedEnvelope {
  fields: EnvelopeFields;
  plaintext: Uint8Array;
}

/** What `openEnvelope` needs from the replay guard (step 5). */
export interface ReplayCheck {
  /** Throws PROTO_ERR_REPLAY / PROTO_ERR_STALE; records nothing. */
  check(sender: Uint8Array, nonce: Uint8Array, timestamp: number, now: number): void;
  /** Records the pair once the envelope decrypted. */
  accept(sender: Uint8Array, nonce: Uint8Array, timestamp: number, now: number): void;
}

/**
 * The verification order: size and structure → signature → recipient is me → timestamp within
 * ±5 min → (sender, nonce) never seen → decrypt. Each failure is a PeerError with the spec's code.
 */
export function openEnvelope(
  me: Identity,
  bytes: Uint8Array,
  now: number,
  replay?: ReplayCheck,
  windowMs = TIMESTAMP_WINDOW_MS,
): OpenedEnvelope {
  const fields = decodeEnvelope(bytes);
  if (!verifyStrict(fields.signature, signatureInput(fields), fields.sender)) {
    throw new PeerError('PROTO_ERR_BAD_SIGNATURE', 'envelope signature does not verify');
  }
  if (!equalBytes(fields.recipient, me.publicKey)) {
    throw new PeerError('PROTO_ERR_WRONG_RECIPIENT', 'envelope addressed to another key');
  }
  if (Math.abs(fields.timestamp - now) > windowMs) {
    throw new PeerError('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW', 'envelope timestamp outside ±5 min');
  }
  replay?.check(fields.sender, fields.nonce, fields.timestamp, now);
  const { key, nonce } = aeadKeyAndNonce(
    x25519Shared(me.x25519Secret, fields.ephemeral),
    fields.ephemeral,
    me.x25519Public,
  );
  let plaintext: Uint8Array;
  try {
    plaintext = xchacha20poly1305(key, nonce, fields.header).decrypt(fields.ciphertext);
  } catch {
    throw new PeerError('PROTO_ERR_DECRYPT_FAILED', 'envelope AEAD tag does not verify');
  }
  replay?.accept(fields.sender, fields.nonce, fields.timestamp, now);
  return { fields, plaintext };
}
