// File-transfer messages, wire format version 1 (docs/protocol.md "Files and streams"). The
// minimal peer accepts no transfers (FILE is MAY); it only decodes the messages so that the
// inner kind 0x12 is judged like the spec says. Big-endian; every message is exactly as long as
// its fields; anything else is CLIENT_ERR_FILE_BAD_MESSAGE.
//
//   common header  u8 version = 1 ‖ u8 type ‖ 16 bytes transfer id
//   1 OFFER   u64 size ‖ u32 chunk size (1,024 … 57,344) ‖ 32 SHA-256 ‖ u8 n ‖ name ‖ u8 m ‖ media type ‖ u16 k ‖ note
//   2 ACCEPT  3 DECLINE u8 reason  4 CHUNK u32 index ‖ bytes  5 CREDIT u32 next ‖ u32 limit
//   6 CANCEL u8 reason  7 DONE  8 FAILED u8 reason

import { concat, fromHex, fromUtf8, Reader, toHex, u8 } from './bytes.js';
import { PeerError } from './errors.js';

const FILE_MAX_BYTES = 2 ** 40;
const MIN_CHUNK_BYTES = 1024;
const MAX_CHUNK_BYTES = 57_344;
const MAX_NOTE_BYTES = 1024;
const TYPES = ['', 'OFFER', 'ACCEPT', 'DECLINE', 'CHUNK', 'CREDIT', 'CANCEL', 'DONE', 'FAILED'];
const REASONS = [
  '',
  'declined',
  'timeout',
  'cancelled',
  'hash-mismatch',
  'disk-full',
  'quota',
  'too-large',
  'bad-name',
  'unknown-transfer',
  'source-changed',
  'internal',
  'too-many',
];
/** RFC 6838 `type/subtype` (restricted-name characters). */
const MEDIA_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;

function bad(why: string): never {
  throw new PeerError('CLIENT_ERR_FILE_BAD_MESSAGE', why);
}

export function decodeFileMessage(message: Uint8Array): Record<string, unknown> {
  try {
    return decode(message);
  } catch (error) {
    if (error instanceof PeerError && error.code === 'CLIENT_ERR_FILE_BAD_MESSAGE') throw error;
    bad(error instanceof Error ? error.message : String(error));
  }
}

function decode(message: Uint8Array): Record<string, unknown> {
  const reader = new Reader(message);
  if (reader.u8() !== 1) bad('file message version is not 1');
  const typeByte = reader.u8();
  const type = TYPES[typeByte];
  if (type === undefined || type === '') bad(`unknown file message type ${typeByte}`);
  const file: Record<string, unknown> = { type, id: toHex(reader.take(16)) };
  const reason = () => {
    const code = reader.u8();
    const name = REASONS[code];
    if (name === undefined || name === '') bad(`unknown reason ${code}`);
    file.reason = name;
    file.reasonCode = code;
  };
  switch (type) {
    case 'OFFER': {
      file.size = reader.u64();
      if ((file.size as number) > FILE_MAX_BYTES) bad('size over FILE_MAX_BYTES');
      file.chunkSize = reader.u32();
      if ((file.chunkSize as number) < MIN_CHUNK_BYTES || (file.chunkSize as number) > MAX_CHUNK_BYTES)
        bad('chunk size');
      file.sha256 = toHex(reader.take(32));
      file.name = fromUtf8(reader.take(reader.u8()));
      if (file.name === '') bad('empty name');
      file.mediaType = fromUtf8(reader.take(reader.u8()));
      if (!MEDIA_TYPE.test(file.mediaType as string)) bad('media type is not type/subtype');
      const noteLength = reader.u16();
      if (noteLength > MAX_NOTE_BYTES) bad('note over 1,024 bytes');
      file.note = fromUtf8(reader.take(noteLength));
      break;
    }
    case 'CHUNK':
      file.index = reader.u32();
      file.bytes = toHex(reader.rest());
      if (message.length === 22) bad('empty chunk');
      if (message.length - 22 > MAX_CHUNK_BYTES) bad('chunk over 57,344 bytes');
      break;
    case 'CREDIT':
      file.next = reader.u32();
      file.limit = reader.u32();
      if ((file.limit as number) < (file.next as number)) bad('limit below next');
      break;
    case 'DECLINE':
    case 'CANCEL':
    case 'FAILED':
      reason();
      break;
    default:
      break; // ACCEPT, DONE: the header only
  }
  reader.end();
  return file;
}

/** DECLINE (type 3) with reason 1 "declined": our answer to every OFFER (we take no transfers). */
export function encodeDeclineDeclined(transferIdHex: string): Uint8Array {
  return concat(u8(1), u8(3), fromHex(transferIdHex), u8(1));
}
