/**
 * File-transfer messages, as they travel inside the session layer's encrypted payload. Binary,
 * big-endian, versioned; every message is exactly as long as its fields say (no trailing
 * bytes). Decoding anything else is CLIENT_ERR_FILE_BAD_MESSAGE, never an exception of
 * another kind.
 *
 *   common    u8 version (1) ‖ u8 type ‖ 16 transfer id                       (18 bytes)
 *
 *   sender → recipient
 *   OFFER   1 ‖ u64 size ‖ u32 chunk size ‖ 32 SHA-256 of the whole ‖ u8 name length ‖ name
 *             ‖ u8 media type length ‖ media type ‖ u16 note length ‖ note       (UTF-8)
 *   CHUNK   4 ‖ u32 index ‖ bytes (1 … chunk size; only the last chunk is shorter)
 *   CANCEL  6 ‖ u8 reason
 *
 *   recipient → sender
 *   ACCEPT  2
 *   DECLINE 3 ‖ u8 reason
 *   CREDIT  5 ‖ u32 next (chunks received in order) ‖ u32 limit (send only index < limit)
 *   DONE    7                                  (hash verified, file landed)
 *   FAILED  8 ‖ u8 reason
 *
 * Integrity: no per-chunk hash. Each message is sealed by the session's AEAD, which already
 * refuses any altered, truncated or replayed chunk; the SHA-256 of the whole, checked before
 * the file becomes visible, catches what the AEAD cannot (the sender's file changing under
 * it, a bug in reassembly, a damaged partial file after a restart). A per-chunk hash would
 * cost 32 bytes per chunk and catch nothing more.
 */

import { ClientError, type ClientErrorCode } from '../errors.js';
import {
  FILE_MAX_BYTES,
  FILE_MAX_CHUNK_BYTES,
  FILE_MAX_MEDIA_TYPE_BYTES,
  FILE_MAX_NAME_BYTES,
  FILE_MAX_NOTE_BYTES,
  FILE_MIN_CHUNK_BYTES,
  FILE_WIRE_VERSION,
} from './constants.js';

export const TransferMessageType = Object.freeze({
  OFFER: 1,
  ACCEPT: 2,
  DECLINE: 3,
  CHUNK: 4,
  CREDIT: 5,
  CANCEL: 6,
  DONE: 7,
  FAILED: 8,
} as const);

/** Why a transfer ended, on the wire (u8) and as the client error it maps to. */
export const TransferReason = Object.freeze({
  declined: 1,
  timeout: 2,
  cancelled: 3,
  'hash-mismatch': 4,
  'disk-full': 5,
  quota: 6,
  'too-large': 7,
  'bad-name': 8,
  'unknown-transfer': 9,
  'source-changed': 10,
  internal: 11,
  'too-many': 12,
} as const);
export type TransferReasonName = keyof typeof TransferReason;

const REASON_BY_CODE = new Map<number, TransferReasonName>(
  Object.entries(TransferReason).map(([k, v]) => [v, k as TransferReasonName]),
);

export const REASON_ERROR: Readonly<Record<TransferReasonName, ClientErrorCode>> = Object.freeze({
  declined: 'CLIENT_ERR_FILE_DECLINED',
  timeout: 'CLIENT_ERR_FILE_OFFER_TIMEOUT',
  cancelled: 'CLIENT_ERR_FILE_CANCELLED',
  'hash-mismatch': 'CLIENT_ERR_FILE_HASH_MISMATCH',
  'disk-full': 'CLIENT_ERR_FILE_DISK_FULL',
  quota: 'CLIENT_ERR_FILE_QUOTA',
  'too-large': 'CLIENT_ERR_FILE_TOO_LARGE',
  'bad-name': 'CLIENT_ERR_FILE_BAD_NAME',
  'unknown-transfer': 'CLIENT_ERR_FILE_UNKNOWN_TRANSFER',
  'source-changed': 'CLIENT_ERR_FILE_SOURCE_CHANGED',
  internal: 'CLIENT_ERR_FILE_FAILED',
  'too-many': 'CLIENT_ERR_FILE_TOO_MANY',
});

export const TRANSFER_ID_BYTES = 16;
export const COMMON_HEADER_BYTES = 2 + TRANSFER_ID_BYTES;
/** CHUNK header before its bytes. */
export const CHUNK_HEADER_BYTES = COMMON_HEADER_BYTES + 4;
const OFFER_FIXED_BYTES = COMMON_HEADER_BYTES + 8 + 4 + 32 + 1 + 1 + 2;
/** Largest encoded message (an OFFER with every string at its limit, or a full CHUNK). */
export const MAX_TRANSFER_MESSAGE_BYTES = Math.max(
  CHUNK_HEADER_BYTES + FILE_MAX_CHUNK_BYTES,
  OFFER_FIXED_BYTES + FILE_MAX_NAME_BYTES + FILE_MAX_MEDIA_TYPE_BYTES + FILE_MAX_NOTE_BYTES,
);
/** Largest u32: chunk indices and credit limits. */
const U32_MAX = 0xffff_ffff;

export interface Offer {
  /** Size of the whole content, bytes. */
  size: number;
  chunkSize: number;
  /** SHA-256 of the whole content (32 bytes). */
  sha256: Uint8Array;
  /** As the sender named it; the recipient sanitises it before using it anywhere. */
  name: string;
  mediaType: string;
  note: string;
}

export type TransferMessage =
  | ({ type: typeof TransferMessageType.OFFER; id: string } & Offer)
  | { type: typeof TransferMessageType.ACCEPT; id: string }
  | { type: typeof TransferMessageType.DECLINE; id: string; reason: TransferReasonName }
  | { type: typeof TransferMessageType.CHUNK; id: string; index: number; bytes: Uint8Array }
  | { type: typeof TransferMessageType.CREDIT; id: string; next: number; limit: number }
  | { type: typeof TransferMessageType.CANCEL; id: string; reason: TransferReasonName }
  | { type: typeof TransferMessageType.DONE; id: string }
  | { type: typeof TransferMessageType.FAILED; id: string; reason: TransferReasonName };

const ID_RE = /^[0-9a-f]{32}$/;
/** RFC 6838 restricted names: type "/" subtype, optional parameters are not carried. */
const MEDIA_TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

const bad = (why: string) => new ClientError('CLIENT_ERR_FILE_BAD_MESSAGE', why);
const invalid = (why: string) => new ClientError('CLIENT_ERR_INVALID_ARGUMENT', why);

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Length of chunk `index` of a transfer, bytes. */
export function chunkLength(size: number, chunkSize: number, index: number): number {
  return Math.min(chunkSize, size - index * chunkSize);
}

export function isMediaType(s: string): boolean {
  return MEDIA_TYPE_RE.test(s);
}

/** Check an offer's fields; `fail` builds the error (bad input locally, bad message from a peer). */
function checkOffer(o: Offer, fail: (why: string) => ClientError): void {
  if (!Number.isSafeInteger(o.size) || o.size < 0 || o.size > FILE_MAX_BYTES) throw fail('size out of range');
  if (!Number.isInteger(o.chunkSize) || o.chunkSize < FILE_MIN_CHUNK_BYTES || o.chunkSize > FILE_MAX_CHUNK_BYTES)
    throw fail('chunk size out of range');
  if (chunkCount(o.size, o.chunkSize) > U32_MAX) throw fail('too many chunks');
  if (o.sha256.length !== 32) throw fail('sha256 must be 32 bytes');
  if (o.name.length === 0 || Buffer.byteLength(o.name, 'utf8') > FILE_MAX_NAME_BYTES)
    throw fail('name length out of range');
  if (Buffer.byteLength(o.mediaType) > FILE_MAX_MEDIA_TYPE_BYTES || !isMediaType(o.mediaType))
    throw fail('bad media type');
  if (Buffer.byteLength(o.note, 'utf8') > FILE_MAX_NOTE_BYTES) throw fail('note too long');
}

function idBytes(id: string): Buffer {
  if (!ID_RE.test(id)) throw invalid('transfer id must be 32 lowercase hex characters');
  return Buffer.from(id, 'hex');
}

function header(type: number, id: string, extra: number): Buffer {
  const out = Buffer.allocUnsafe(COMMON_HEADER_BYTES + extra);
  out[0] = FILE_WIRE_VERSION;
  out[1] = type;
  idBytes(id).copy(out, 2);
  return out;
}

function checkU32(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 0 || n > U32_MAX) throw invalid(`${what} out of range`);
}

/**
 * A CHUNK message with room for `length` bytes, and the view to fill them into: the sender
 * reads the file straight into the message (no copy).
 */
export function allocChunk(id: string, index: number, length: number): { message: Buffer; body: Buffer } {
  checkU32(index, 'chunk index');
  if (!Number.isInteger(length) || length < 1 || length > FILE_MAX_CHUNK_BYTES)
    throw invalid('chunk length out of range');
  const message = header(TransferMessageType.CHUNK, id, 4 + length);
  message.writeUInt32BE(index, COMMON_HEADER_BYTES);
  return { message, body: message.subarray(CHUNK_HEADER_BYTES) };
}

export function encodeTransferMessage(m: TransferMessage): Buffer {
  switch (m.type) {
    case TransferMessageType.OFFER: {
      checkOffer(m, invalid);
      const name = Buffer.from(m.name, 'utf8');
      const media = Buffer.from(m.mediaType, 'latin1');
      const note = Buffer.from(m.note, 'utf8');
      const out = header(
        m.type,
        m.id,
        OFFER_FIXED_BYTES - COMMON_HEADER_BYTES + name.length + media.length + note.length,
      );
      let o = COMMON_HEADER_BYTES;
      out.writeBigUInt64BE(BigInt(m.size), o);
      o = out.writeUInt32BE(m.chunkSize, o + 8);
      out.set(m.sha256, o);
      o += 32;
      o = out.writeUInt8(name.length, o);
      o += name.copy(out, o);
      o = out.writeUInt8(media.length, o);
      o += media.copy(out, o);
      o = out.writeUInt16BE(note.length, o);
      note.copy(out, o);
      return out;
    }
    case TransferMessageType.CHUNK: {
      const { message, body } = allocChunk(m.id, m.index, m.bytes.length);
      body.set(m.bytes);
      return message;
    }
    case TransferMessageType.CREDIT: {
      checkU32(m.next, 'next');
      checkU32(m.limit, 'limit');
      if (m.limit < m.next) throw invalid('limit below next');
      const out = header(m.type, m.id, 8);
      out.writeUInt32BE(m.next, COMMON_HEADER_BYTES);
      out.writeUInt32BE(m.limit, COMMON_HEADER_BYTES + 4);
      return out;
    }
    case TransferMessageType.DECLINE:
    case TransferMessageType.CANCEL:
    case TransferMessageType.FAILED: {
      const code = TransferReason[m.reason];
      if (code === undefined) throw invalid('unknown reason');
      const out = header(m.type, m.id, 1);
      out[COMMON_HEADER_BYTES] = code;
      return out;
    }
    case TransferMessageType.ACCEPT:
    case TransferMessageType.DONE:
      return header(m.type, m.id, 0);
    default:
      throw invalid('unknown transfer message type');
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function utf8(b: Uint8Array, what: string): string {
  try {
    return strictUtf8.decode(b);
  } catch {
    throw bad(`${what} is not UTF-8`);
  }
}

/**
 * Parse one message from a peer. The returned CHUNK bytes are a view into `bytes` (no copy):
 * the caller writes them out before it lets go of the buffer.
 */
export function decodeTransferMessage(bytes: Uint8Array): TransferMessage {
  if (bytes.length < COMMON_HEADER_BYTES) throw bad('shorter than the common header');
  if (bytes.length > MAX_TRANSFER_MESSAGE_BYTES) throw bad('longer than any transfer message');
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b[0] !== FILE_WIRE_VERSION) throw bad(`unsupported version ${b[0]}`);
  const type = b[1]!;
  const id = b.toString('hex', 2, COMMON_HEADER_BYTES);
  const rest = b.length - COMMON_HEADER_BYTES;
  const exact = (n: number) => {
    if (rest < n) throw bad('truncated');
    if (rest > n) throw bad('trailing bytes');
  };
  const reason = (): TransferReasonName => {
    exact(1);
    const r = REASON_BY_CODE.get(b[COMMON_HEADER_BYTES]!);
    if (r === undefined) throw bad('unknown reason');
    return r;
  };
  switch (type) {
    case TransferMessageType.OFFER: {
      if (rest < OFFER_FIXED_BYTES - COMMON_HEADER_BYTES) throw bad('truncated');
      let o = COMMON_HEADER_BYTES;
      const size64 = b.readBigUInt64BE(o);
      if (size64 > BigInt(FILE_MAX_BYTES)) throw bad('size out of range');
      const chunkSize = b.readUInt32BE(o + 8);
      o += 12;
      const sha256 = Uint8Array.from(b.subarray(o, o + 32));
      o += 32;
      const take = (len: number) => {
        if (o + len > b.length) throw bad('truncated');
        const s = b.subarray(o, o + len);
        o += len;
        return s;
      };
      const name = utf8(take(b.readUInt8(o++)), 'name');
      if (o + 1 > b.length) throw bad('truncated');
      const media = take(b.readUInt8(o++));
      if (o + 2 > b.length) throw bad('truncated');
      const noteLen = b.readUInt16BE(o);
      o += 2;
      const note = utf8(take(noteLen), 'note');
      if (o !== b.length) throw bad('trailing bytes');
      const offer: Offer = { size: Number(size64), chunkSize, sha256, name, mediaType: media.toString('latin1'), note };
      checkOffer(offer, bad);
      return { type, id, ...offer };
    }
    case TransferMessageType.CHUNK: {
      if (rest < 5) throw bad('truncated');
      if (rest - 4 > FILE_MAX_CHUNK_BYTES) throw bad('chunk too long');
      return { type, id, index: b.readUInt32BE(COMMON_HEADER_BYTES), bytes: b.subarray(CHUNK_HEADER_BYTES) };
    }
    case TransferMessageType.CREDIT: {
      exact(8);
      const next = b.readUInt32BE(COMMON_HEADER_BYTES);
      const limit = b.readUInt32BE(COMMON_HEADER_BYTES + 4);
      if (limit < next) throw bad('limit below next');
      return { type, id, next, limit };
    }
    case TransferMessageType.DECLINE:
    case TransferMessageType.CANCEL:
    case TransferMessageType.FAILED:
      return { type, id, reason: reason() };
    case TransferMessageType.ACCEPT:
    case TransferMessageType.DONE:
      exact(0);
      return { type, id };
    default:
      throw bad(`unknown type ${type}`);
  }
}
