// Client ⇄ server frames v1 (docs/protocol.md "Client ⇄ server frames v1"): one WebSocket
// binary message is one frame, byte 0 is its type, every integer is big-endian.
// The layouts are the table of that section (GAP 1, SETTLED 1); each frame decodes exactly:
// short → PROTO_ERR_TRUNCATED, long → PROTO_ERR_TRAILING_BYTES.

import { concat, fromUtf8, Reader, u8, u16, u32, u64, utf8 } from './bytes.js';
import { PeerError } from './errors.js';

export const FRAME = {
  CHALLENGE: 0x01,
  HELLO: 0x02,
  WELCOME: 0x03,
  SIGNAL: 0x10,
  RELAY: 0x11,
  DELIVER: 0x12,
  ACK: 0x13,
  PEER_OFFLINE: 0x14,
  PREKEY_PUBLISH: 0x15,
  PREKEY_FETCH: 0x16,
  RELAY_TTL: 0x17,
  ERROR: 0x20,
  PING: 0x21,
  PONG: 0x22,
  RESTARTING: 0x23,
  PREKEY_BUNDLE: 0x24,
} as const;

/** docs/limits.md "Protocol". */
export const MAX_ORIGIN_BYTES = 512;
export const MAX_TOKEN_BYTES = 1024;
export const MAX_WELCOME_BYTES = 16_384;
export const MAX_ERROR_CODE_BYTES = 64;
export const MAX_ERROR_MESSAGE_BYTES = 1024;
export const PREKEY_BUNDLE_BYTES = 1333;

/** Byte 1 of CHALLENGE: the frame-protocol version; another one is PROTO_ERR_BAD_VERSION. */
export const FRAME_PROTOCOL_VERSION = 1;

/** ACK status byte. */
export const ACK_STATUS = { DELIVERED: 0, QUEUED: 1 } as const;

/** DELIVER channel byte: which frame carried the packet to the server. */
export const CHANNEL = { SIGNAL: 0, RELAY: 1 } as const;

export type Frame =
  | { type: 'challenge'; version: number; challenge: Uint8Array; serverTime: number; origin: string }
  | { type: 'hello'; key: Uint8Array; timestamp: number; signature: Uint8Array; token: string }
  | { type: 'welcome'; infoText: string; info: Record<string, unknown> }
  | { type: 'signal' | 'relay'; frameId: number; to: Uint8Array; packet: Uint8Array }
  | { type: 'relay-ttl'; frameId: number; ttlS: number; to: Uint8Array; packet: Uint8Array }
  | { type: 'deliver'; channel: number; from: Uint8Array; packet: Uint8Array }
  | { type: 'ack'; frameId: number; status: number }
  | { type: 'peer-offline'; frameId: number; key: Uint8Array }
  | { type: 'prekey-publish'; frameId: number; bundle: Uint8Array }
  | { type: 'prekey-fetch'; frameId: number; key: Uint8Array }
  | { type: 'prekey-bundle'; frameId: number; key: Uint8Array; bundle: Uint8Array }
  | { type: 'error'; frameId: number; code: string; message: string }
  | { type: 'ping' | 'pong'; nonce: number }
  | { type: 'restarting'; retryAfterMs: number };

function boundedText(text: string, max: number, lengthBytes: 1 | 2): Uint8Array {
  const bytes = utf8(text);
  if (bytes.length > max) throw new PeerError('PROTO_ERR_TOO_LARGE', `text over ${max} bytes`);
  return concat(lengthBytes === 1 ? u8(bytes.length) : u16(bytes.length), bytes);
}

export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.type) {
    case 'challenge':
      return concat(
        u8(FRAME.CHALLENGE),
        u8(frame.version),
        frame.challenge,
        u64(frame.serverTime),
        boundedText(frame.origin, MAX_ORIGIN_BYTES, 2),
      );
    case 'hello':
      return concat(
        u8(FRAME.HELLO),
        frame.key,
        u64(frame.timestamp),
        frame.signature,
        boundedText(frame.token, MAX_TOKEN_BYTES, 2),
      );
    case 'welcome':
      return concat(u8(FRAME.WELCOME), boundedText(frame.infoText, MAX_WELCOME_BYTES, 2));
    case 'signal':
    case 'relay':
      return concat(
        u8(frame.type === 'signal' ? FRAME.SIGNAL : FRAME.RELAY),
        u32(frame.frameId),
        frame.to,
        frame.packet,
      );
    case 'relay-ttl':
      return concat(u8(FRAME.RELAY_TTL), u32(frame.frameId), u32(frame.ttlS), frame.to, frame.packet);
    case 'deliver':
      return concat(u8(FRAME.DELIVER), u8(frame.channel), frame.from, frame.packet);
    case 'ack':
      return concat(u8(FRAME.ACK), u32(frame.frameId), u8(frame.status));
    case 'peer-offline':
      return concat(u8(FRAME.PEER_OFFLINE), u32(frame.frameId), frame.key);
    case 'prekey-publish':
      return concat(u8(FRAME.PREKEY_PUBLISH), u32(frame.frameId), frame.bundle);
    case 'prekey-fetch':
      return concat(u8(FRAME.PREKEY_FETCH), u32(frame.frameId), frame.key);
    case 'prekey-bundle':
      return concat(u8(FRAME.PREKEY_BUNDLE), u32(frame.frameId), frame.key, frame.bundle);
    case 'error':
      return concat(
        u8(FRAME.ERROR),
        u32(frame.frameId),
        boundedText(frame.code, MAX_ERROR_CODE_BYTES, 1),
        boundedText(frame.message, MAX_ERROR_MESSAGE_BYTES, 2),
      );
    case 'ping':
    case 'pong':
      return concat(u8(frame.type === 'ping' ? FRAME.PING : FRAME.PONG), u64(frame.nonce));
    case 'restarting':
      return concat(u8(FRAME.RESTARTING), u32(frame.retryAfterMs));
  }
}

function readText(reader: Reader, lengthBytes: 1 | 2, max: number): string {
  const length = lengthBytes === 1 ? reader.u8() : reader.u16();
  if (length > max) throw new PeerError('PROTO_ERR_TOO_LARGE', `text of ${length} bytes, limit ${max}`);
  return fromUtf8(reader.take(length));
}

function readBundle(reader: Reader, allowEmpty: boolean): Uint8Array {
  const rest = reader.rest();
  if (allowEmpty && rest.length === 0) return rest;
  if (rest.length < PREKEY_BUNDLE_BYTES) throw new PeerError('PROTO_ERR_TRUNCATED', 'bundle shorter than 1,333 bytes');
  if (rest.length > PREKEY_BUNDLE_BYTES)
    throw new PeerError('PROTO_ERR_TRAILING_BYTES', 'bundle longer than 1,333 bytes');
  return rest;
}

export function decodeFrame(bytes: Uint8Array): Frame {
  const reader = new Reader(bytes);
  // An empty message has no type byte (docs/protocol.md "Decoding limits"): PROTO_ERR_TRUNCATED.
  const type = reader.u8();
  let frame: Frame;
  switch (type) {
    case FRAME.CHALLENGE: {
      const version = reader.u8();
      if (version !== FRAME_PROTOCOL_VERSION) {
        throw new PeerError('PROTO_ERR_BAD_VERSION', `frame protocol version ${version} (this client speaks 1)`);
      }
      frame = {
        type: 'challenge',
        version,
        challenge: reader.take(32),
        serverTime: reader.u64(),
        origin: readText(reader, 2, MAX_ORIGIN_BYTES),
      };
      break;
    }
    case FRAME.HELLO:
      frame = {
        type: 'hello',
        key: reader.take(32),
        timestamp: reader.u64(),
        signature: reader.take(64),
        token: readText(reader, 2, MAX_TOKEN_BYTES),
      };
      break;
    case FRAME.WELCOME: {
      const text = readText(reader, 2, MAX_WELCOME_BYTES);
      let info: unknown;
      try {
        info = JSON.parse(text);
      } catch {
        throw new PeerError('PROTO_ERR_BAD_ENCODING', 'WELCOME info is not JSON');
      }
      if (typeof info !== 'object' || info === null || Array.isArray(info)) {
        throw new PeerError('PROTO_ERR_BAD_ENCODING', 'WELCOME info is not a JSON object');
      }
      frame = { type: 'welcome', infoText: text, info: info as Record<string, unknown> };
      break;
    }
    case FRAME.SIGNAL:
    case FRAME.RELAY:
      frame = {
        type: type === FRAME.SIGNAL ? 'signal' : 'relay',
        frameId: reader.u32(),
        to: reader.take(32),
        packet: reader.rest(),
      };
      break;
    case FRAME.RELAY_TTL:
      frame = {
        type: 'relay-ttl',
        frameId: reader.u32(),
        ttlS: reader.u32(),
        to: reader.take(32),
        packet: reader.rest(),
      };
      break;
    case FRAME.DELIVER:
      frame = { type: 'deliver', channel: reader.u8(), from: reader.take(32), packet: reader.rest() };
      if (frame.channel > CHANNEL.RELAY)
        throw new PeerError('PROTO_ERR_BAD_ENCODING', `DELIVER channel ${frame.channel}`);
      break;
    case FRAME.ACK:
      frame = { type: 'ack', frameId: reader.u32(), status: reader.u8() };
      if (frame.status > ACK_STATUS.QUEUED) throw new PeerError('PROTO_ERR_BAD_ENCODING', `ACK status ${frame.status}`);
      break;
    case FRAME.PEER_OFFLINE:
      frame = { type: 'peer-offline', frameId: reader.u32(), key: reader.take(32) };
      break;
    case FRAME.PREKEY_PUBLISH:
      frame = { type: 'prekey-publish', frameId: reader.u32(), bundle: readBundle(reader, false) };
      break;
    case FRAME.PREKEY_FETCH:
      frame = { type: 'prekey-fetch', frameId: reader.u32(), key: reader.take(32) };
      break;
    case FRAME.PREKEY_BUNDLE:
      frame = { type: 'prekey-bundle', frameId: reader.u32(), key: reader.take(32), bundle: readBundle(reader, true) };
      break;
    case FRAME.ERROR:
      frame = {
        type: 'error',
        frameId: reader.u32(),
        code: readText(reader, 1, MAX_ERROR_CODE_BYTES),
        message: readText(reader, 2, MAX_ERROR_MESSAGE_BYTES),
      };
      break;
    case FRAME.PING:
    case FRAME.PONG:
      frame = { type: type === FRAME.PING ? 'ping' : 'pong', nonce: reader.u64() };
      break;
    case FRAME.RESTARTING:
      frame = { type: 'restarting', retryAfterMs: reader.u32() };
      break;
    default:
      throw new PeerError('PROTO_ERR_BAD_TYPE', `unknown frame type 0x${type.toString(16)}`);
  }
  reader.end();
  return frame;
}
