/**
 * Client ⇄ rendezvous frames, protocol version 1. One WebSocket binary message = one frame.
 * Byte 0 is the frame type; all integers are big-endian; `str8`/`str16` are UTF-8 with a
 * u8/u16 length prefix; "rest" runs to the end of the message.
 *
 *   type  name          dir  body
 *   0x01  CHALLENGE     S→C  version u8, challenge[32], serverTime u64, origin str16
 *   0x02  HELLO         C→S  key[32], timestamp u64, signature[64], token str16
 *   0x03  WELCOME       S→C  info str16 (JSON: instance id, heartbeat, limits, ICE servers)
 *   0x10  SIGNAL        C→S  frameId u32, to[32], envelope rest      (never stored)
 *   0x11  RELAY         C→S  frameId u32, to[32], envelope rest      (mailboxed if offline)
 *   0x12  DELIVER       S→C  channel u8 (0 signal, 1 relay), from[32], envelope rest
 *   0x13  ACK           S→C  frameId u32, status u8 (0 delivered to socket, 1 queued)
 *   0x14  PEER_OFFLINE  S→C  frameId u32, to[32]
 *   0x15  PREKEY_PUBLISH C→S frameId u32, bundle rest (exactly PREKEY_BUNDLE_BYTES)
 *   0x16  PREKEY_FETCH  C→S  frameId u32, key[32]
 *   0x17  RELAY_TTL     C→S  frameId u32, ttlS u32, to[32], envelope rest  (RELAY; mailboxed for ttlS)
 *   0x20  ERROR         S→C  frameId u32 (0 = none), code str8, message str16
 *   0x21  PING          both nonce u64
 *   0x22  PONG          both nonce u64
 *   0x23  RESTARTING    S→C  retryAfterMs u32
 *   0x24  PREKEY_BUNDLE S→C  frameId u32, key[32], bundle rest (empty = none held, else PREKEY_BUNDLE_BYTES)
 *
 * The server forwards peer packets (peer-packet.ts) untouched; it checks only that their sender
 * equals the authenticated key, that `to` equals their recipient, and sizes. It keeps one signed
 * prekey bundle per key (PREKEY_PUBLISH, answered ACK) and hands it out (PREKEY_FETCH →
 * PREKEY_BUNDLE).
 */
import { fromUtf8, lengthPrefixed, utf8 } from './bytes.js';
import { DOMAIN, FRAME_PROTOCOL_VERSION, PREKEY_BUNDLE_BYTES, PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from './constants.js';
import { ProtocolError } from './errors.js';

export const FrameType = Object.freeze({
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
} as const);
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Challenge length, bytes. */
export const CHALLENGE_BYTES = 32;
/** Longest origin string in a challenge, bytes. */
export const MAX_ORIGIN_BYTES = 512;
/** Longest invite token in a hello, bytes. */
export const MAX_TOKEN_BYTES = 1024;
/** Longest WELCOME JSON, bytes. */
export const MAX_WELCOME_BYTES = 16 * 1024;
/** Longest error code / message, bytes. */
export const MAX_ERROR_CODE_BYTES = 64;
export const MAX_ERROR_MESSAGE_BYTES = 1024;
/** Default largest frame a server accepts, bytes (rendezvous MAX_FRAME_BYTES). */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
/** Bytes before the envelope in SIGNAL/RELAY frames: type + frameId + to. */
export const ROUTED_FRAME_HEADER_BYTES = 1 + 4 + PUBLIC_KEY_BYTES;
/** Bytes before the envelope in RELAY_TTL frames: type + frameId + ttlS + to. */
export const RELAY_TTL_FRAME_HEADER_BYTES = 1 + 4 + 4 + PUBLIC_KEY_BYTES;
/** Bytes before the envelope in DELIVER frames: type + channel + from. */
export const DELIVER_FRAME_HEADER_BYTES = 1 + 1 + PUBLIC_KEY_BYTES;

/** PREKEY_PUBLISH frame, bytes: type + frameId + bundle. */
export const PREKEY_PUBLISH_FRAME_BYTES = 1 + 4 + PREKEY_BUNDLE_BYTES;
/** PREKEY_FETCH frame, bytes: type + frameId + key. */
export const PREKEY_FETCH_FRAME_BYTES = 1 + 4 + PUBLIC_KEY_BYTES;
/** Bytes before the bundle in a PREKEY_BUNDLE frame: type + frameId + key. */
export const PREKEY_BUNDLE_FRAME_HEADER_BYTES = 1 + 4 + PUBLIC_KEY_BYTES;

export const DeliverChannel = Object.freeze({ SIGNAL: 0, RELAY: 1 } as const);
export type DeliverChannel = (typeof DeliverChannel)[keyof typeof DeliverChannel];
export const AckStatus = Object.freeze({ DELIVERED: 0, QUEUED: 1 } as const);
export type AckStatus = (typeof AckStatus)[keyof typeof AckStatus];

export type Frame =
  | { type: typeof FrameType.CHALLENGE; version: number; challenge: Uint8Array; serverTime: number; origin: string }
  | { type: typeof FrameType.HELLO; key: Uint8Array; timestamp: number; signature: Uint8Array; token: string }
  | { type: typeof FrameType.WELCOME; info: string }
  | { type: typeof FrameType.SIGNAL; frameId: number; to: Uint8Array; envelope: Uint8Array }
  | { type: typeof FrameType.RELAY; frameId: number; to: Uint8Array; envelope: Uint8Array }
  /** A RELAY whose mailboxed copy lives min(ttlS, the server's mailbox TTL) seconds; ttlS 0 is refused by servers. */
  | { type: typeof FrameType.RELAY_TTL; frameId: number; ttlS: number; to: Uint8Array; envelope: Uint8Array }
  | { type: typeof FrameType.DELIVER; channel: DeliverChannel; from: Uint8Array; envelope: Uint8Array }
  | { type: typeof FrameType.ACK; frameId: number; status: AckStatus }
  | { type: typeof FrameType.PEER_OFFLINE; frameId: number; to: Uint8Array }
  | { type: typeof FrameType.PREKEY_PUBLISH; frameId: number; bundle: Uint8Array }
  | { type: typeof FrameType.PREKEY_FETCH; frameId: number; key: Uint8Array }
  /** `bundle` is empty when the server holds none for `key`. */
  | { type: typeof FrameType.PREKEY_BUNDLE; frameId: number; key: Uint8Array; bundle: Uint8Array }
  | { type: typeof FrameType.ERROR; frameId: number; code: string; message: string }
  | { type: typeof FrameType.PING; nonce: number }
  | { type: typeof FrameType.PONG; nonce: number }
  | { type: typeof FrameType.RESTARTING; retryAfterMs: number };

class Writer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  off = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): this {
    this.view.setUint8(this.off, v);
    this.off += 1;
    return this;
  }
  u16(v: number): this {
    this.view.setUint16(this.off, v);
    this.off += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.off, v);
    this.off += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.off, BigInt(v));
    this.off += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.off);
    this.off += b.length;
    return this;
  }
}

class Reader {
  readonly view: DataView;
  off = 0;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number): void {
    if (this.off + n > this.bytes.length) throw new ProtocolError('PROTO_ERR_TRUNCATED', 'frame ends early');
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.off++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.off);
    this.off += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.off);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'u64 beyond 2^53');
    return Number(v);
  }
  raw(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  str(lenBytes: 1 | 2, max: number): string {
    const n = lenBytes === 1 ? this.u8() : this.u16();
    if (n > max) throw new ProtocolError('PROTO_ERR_TOO_LARGE', `string ${n} > ${max}`);
    const s = fromUtf8(this.raw(n));
    if (s === null) throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'invalid UTF-8');
    return s;
  }
  rest(): Uint8Array {
    const v = this.bytes.subarray(this.off);
    this.off = this.bytes.length;
    return v;
  }
  end(): void {
    if (this.off !== this.bytes.length) throw new ProtocolError('PROTO_ERR_TRAILING_BYTES', 'frame has extra bytes');
  }
}

function checkedUtf8(s: string, max: number, name: string): Uint8Array {
  const b = utf8(s);
  if (b.length > max) throw new ProtocolError('PROTO_ERR_TOO_LARGE', `${name} ${b.length} > ${max}`);
  return b;
}

/** An encoded bundle is exactly PREKEY_BUNDLE_BYTES (`emptyAllowed`: a PREKEY_BUNDLE saying "none"). */
function checkBundleLength(length: number, emptyAllowed: boolean): void {
  if (length === PREKEY_BUNDLE_BYTES || (emptyAllowed && length === 0)) return;
  if (length < PREKEY_BUNDLE_BYTES)
    throw new ProtocolError('PROTO_ERR_TRUNCATED', `prekey bundle of ${length} bytes, expected ${PREKEY_BUNDLE_BYTES}`);
  throw new ProtocolError(
    'PROTO_ERR_TRAILING_BYTES',
    `prekey bundle of ${length} bytes, expected ${PREKEY_BUNDLE_BYTES}`,
  );
}

function checkKey(k: Uint8Array, name: string): void {
  if (!(k instanceof Uint8Array) || k.length !== PUBLIC_KEY_BYTES)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `${name} must be ${PUBLIC_KEY_BYTES} bytes`);
}

/** Encode a frame. Throws ProtocolError on out-of-range fields. */
export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.type) {
    case FrameType.CHALLENGE: {
      const origin = checkedUtf8(frame.origin, MAX_ORIGIN_BYTES, 'origin');
      if (frame.challenge.length !== CHALLENGE_BYTES)
        throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'challenge');
      return new Writer(1 + 1 + CHALLENGE_BYTES + 8 + 2 + origin.length)
        .u8(frame.type)
        .u8(frame.version)
        .raw(frame.challenge)
        .u64(frame.serverTime)
        .u16(origin.length)
        .raw(origin).bytes;
    }
    case FrameType.HELLO: {
      checkKey(frame.key, 'key');
      if (frame.signature.length !== SIGNATURE_BYTES)
        throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'signature');
      const token = checkedUtf8(frame.token, MAX_TOKEN_BYTES, 'token');
      return new Writer(1 + 32 + 8 + 64 + 2 + token.length)
        .u8(frame.type)
        .raw(frame.key)
        .u64(frame.timestamp)
        .raw(frame.signature)
        .u16(token.length)
        .raw(token).bytes;
    }
    case FrameType.WELCOME: {
      const info = checkedUtf8(frame.info, MAX_WELCOME_BYTES, 'info');
      return new Writer(1 + 2 + info.length).u8(frame.type).u16(info.length).raw(info).bytes;
    }
    case FrameType.SIGNAL:
    case FrameType.RELAY:
      checkKey(frame.to, 'to');
      return new Writer(ROUTED_FRAME_HEADER_BYTES + frame.envelope.length)
        .u8(frame.type)
        .u32(frame.frameId)
        .raw(frame.to)
        .raw(frame.envelope).bytes;
    case FrameType.RELAY_TTL:
      checkKey(frame.to, 'to');
      if (!Number.isInteger(frame.ttlS) || frame.ttlS < 0 || frame.ttlS > 0xffff_ffff)
        throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'ttlS must be a u32');
      return new Writer(RELAY_TTL_FRAME_HEADER_BYTES + frame.envelope.length)
        .u8(frame.type)
        .u32(frame.frameId)
        .u32(frame.ttlS)
        .raw(frame.to)
        .raw(frame.envelope).bytes;
    case FrameType.DELIVER:
      checkKey(frame.from, 'from');
      return new Writer(DELIVER_FRAME_HEADER_BYTES + frame.envelope.length)
        .u8(frame.type)
        .u8(frame.channel)
        .raw(frame.from)
        .raw(frame.envelope).bytes;
    case FrameType.ACK:
      return new Writer(6).u8(frame.type).u32(frame.frameId).u8(frame.status).bytes;
    case FrameType.PEER_OFFLINE:
      checkKey(frame.to, 'to');
      return new Writer(37).u8(frame.type).u32(frame.frameId).raw(frame.to).bytes;
    case FrameType.PREKEY_PUBLISH:
      if (!(frame.bundle instanceof Uint8Array)) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'bundle');
      checkBundleLength(frame.bundle.length, false);
      return new Writer(PREKEY_PUBLISH_FRAME_BYTES).u8(frame.type).u32(frame.frameId).raw(frame.bundle).bytes;
    case FrameType.PREKEY_FETCH:
      checkKey(frame.key, 'key');
      return new Writer(PREKEY_FETCH_FRAME_BYTES).u8(frame.type).u32(frame.frameId).raw(frame.key).bytes;
    case FrameType.PREKEY_BUNDLE:
      checkKey(frame.key, 'key');
      if (!(frame.bundle instanceof Uint8Array)) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'bundle');
      checkBundleLength(frame.bundle.length, true);
      return new Writer(PREKEY_BUNDLE_FRAME_HEADER_BYTES + frame.bundle.length)
        .u8(frame.type)
        .u32(frame.frameId)
        .raw(frame.key)
        .raw(frame.bundle).bytes;
    case FrameType.ERROR: {
      const code = checkedUtf8(frame.code, MAX_ERROR_CODE_BYTES, 'code');
      const message = utf8(frame.message.slice(0, MAX_ERROR_MESSAGE_BYTES / 4));
      return new Writer(1 + 4 + 1 + code.length + 2 + message.length)
        .u8(frame.type)
        .u32(frame.frameId)
        .u8(code.length)
        .raw(code)
        .u16(message.length)
        .raw(message).bytes;
    }
    case FrameType.PING:
    case FrameType.PONG:
      return new Writer(9).u8(frame.type).u64(frame.nonce).bytes;
    case FrameType.RESTARTING:
      return new Writer(5).u8(frame.type).u32(frame.retryAfterMs).bytes;
    default:
      throw new ProtocolError('PROTO_ERR_BAD_TYPE', `frame type ${String((frame as { type: unknown }).type)}`);
  }
}

/**
 * Decode one frame. Throws ProtocolError only. `maxBytes` bounds the whole frame.
 * Envelope bodies are returned as views: copy them if the input buffer is reused.
 */
export function decodeFrame(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_FRAME_BYTES): Frame {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'frame must be bytes');
  if (bytes.length > maxBytes) throw new ProtocolError('PROTO_ERR_TOO_LARGE', `frame ${bytes.length} > ${maxBytes}`);
  const r = new Reader(bytes);
  const type = r.u8();
  let frame: Frame;
  switch (type) {
    case FrameType.CHALLENGE: {
      const version = r.u8();
      if (version !== FRAME_PROTOCOL_VERSION)
        throw new ProtocolError('PROTO_ERR_BAD_VERSION', `frame protocol ${version}`);
      frame = {
        type,
        version,
        challenge: r.raw(CHALLENGE_BYTES),
        serverTime: r.u64(),
        origin: r.str(2, MAX_ORIGIN_BYTES),
      };
      break;
    }
    case FrameType.HELLO:
      frame = {
        type,
        key: r.raw(PUBLIC_KEY_BYTES),
        timestamp: r.u64(),
        signature: r.raw(SIGNATURE_BYTES),
        token: r.str(2, MAX_TOKEN_BYTES),
      };
      break;
    case FrameType.WELCOME:
      frame = { type, info: r.str(2, MAX_WELCOME_BYTES) };
      break;
    case FrameType.SIGNAL:
    case FrameType.RELAY:
      frame = { type, frameId: r.u32(), to: r.raw(PUBLIC_KEY_BYTES), envelope: r.rest() };
      break;
    case FrameType.RELAY_TTL:
      frame = { type, frameId: r.u32(), ttlS: r.u32(), to: r.raw(PUBLIC_KEY_BYTES), envelope: r.rest() };
      break;
    case FrameType.DELIVER: {
      const channel = r.u8();
      if (channel !== DeliverChannel.SIGNAL && channel !== DeliverChannel.RELAY)
        throw new ProtocolError('PROTO_ERR_BAD_ENCODING', `deliver channel ${channel}`);
      frame = { type, channel, from: r.raw(PUBLIC_KEY_BYTES), envelope: r.rest() };
      break;
    }
    case FrameType.ACK: {
      const frameId = r.u32();
      const status = r.u8();
      if (status !== AckStatus.DELIVERED && status !== AckStatus.QUEUED)
        throw new ProtocolError('PROTO_ERR_BAD_ENCODING', `ack status ${status}`);
      frame = { type, frameId, status };
      break;
    }
    case FrameType.PEER_OFFLINE:
      frame = { type, frameId: r.u32(), to: r.raw(PUBLIC_KEY_BYTES) };
      break;
    case FrameType.PREKEY_PUBLISH: {
      const frameId = r.u32();
      const bundle = r.rest();
      checkBundleLength(bundle.length, false);
      frame = { type, frameId, bundle };
      break;
    }
    case FrameType.PREKEY_FETCH:
      frame = { type, frameId: r.u32(), key: r.raw(PUBLIC_KEY_BYTES) };
      break;
    case FrameType.PREKEY_BUNDLE: {
      const frameId = r.u32();
      const key = r.raw(PUBLIC_KEY_BYTES);
      const bundle = r.rest();
      checkBundleLength(bundle.length, true);
      frame = { type, frameId, key, bundle };
      break;
    }
    case FrameType.ERROR:
      frame = {
        type,
        frameId: r.u32(),
        code: r.str(1, MAX_ERROR_CODE_BYTES),
        message: r.str(2, MAX_ERROR_MESSAGE_BYTES),
      };
      break;
    case FrameType.PING:
    case FrameType.PONG:
      frame = { type, nonce: r.u64() };
      break;
    case FrameType.RESTARTING:
      frame = { type, retryAfterMs: r.u32() };
      break;
    default:
      throw new ProtocolError('PROTO_ERR_BAD_TYPE', `frame type 0x${type.toString(16)}`);
  }
  r.end();
  return frame;
}

const SERVER_AUTH_TAG = utf8(DOMAIN.serverAuth);

/**
 * The bytes a client signs to authenticate to a rendezvous server: the domain tag, the
 * one-time challenge, the origin the client dialed (host[:port], so a hello can't be replayed
 * to another server) and the client's timestamp.
 */
export function serverAuthMessage(challenge: Uint8Array, origin: string, timestamp: number): Uint8Array {
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(timestamp));
  return lengthPrefixed(SERVER_AUTH_TAG, challenge, utf8(origin), ts);
}
