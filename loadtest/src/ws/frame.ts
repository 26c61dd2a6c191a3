/**
 * Minimal RFC 6455 framing for the load generator. Client frames are masked with a mask key
 * fixed per connection, so a frame can be built once and re-sent with only a few bytes
 * patched (the frame id of RELAY/SIGNAL), which keeps the generator cheap next to the server
 * it measures. Server frames are unmasked; fragmentation is not used by any server under test.
 */
import { randomBytes } from 'node:crypto';
import { MAX_INBOUND_MESSAGE_BYTES } from '../constants.js';
import { LoadtestError } from '../errors.js';

export const Opcode = Object.freeze({ TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const);

/** A pre-built masked client frame; `payloadOffset` is where the (masked) payload starts. */
export interface ClientFrame {
  readonly bytes: Buffer;
  readonly payloadOffset: number;
  readonly mask: Buffer;
}

export function newMask(): Buffer {
  return randomBytes(4);
}

/** Build one masked, unfragmented client frame. */
export function buildClientFrame(opcode: number, payload: Uint8Array, mask: Buffer): ClientFrame {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = 2 + ext + 4;
  const bytes = Buffer.allocUnsafe(head + len);
  bytes[0] = 0x80 | opcode;
  if (ext === 0) bytes[1] = 0x80 | len;
  else if (ext === 2) {
    bytes[1] = 0x80 | 126;
    bytes.writeUInt16BE(len, 2);
  } else {
    bytes[1] = 0x80 | 127;
    bytes.writeBigUInt64BE(BigInt(len), 2);
  }
  mask.copy(bytes, 2 + ext);
  for (let i = 0; i < len; i++) bytes[head + i] = payload[i]! ^ mask[i & 3]!;
  return { bytes, payloadOffset: head, mask };
}

/** Overwrite payload bytes [at, at+src.length) of a built frame, masking them. */
export function patchPayload(frame: ClientFrame, at: number, src: Uint8Array): void {
  const base = frame.payloadOffset;
  for (let i = 0; i < src.length; i++) frame.bytes[base + at + i] = src[i]! ^ frame.mask[(at + i) & 3]!;
}

/** Write a big-endian u32 into the payload of a built frame at `at` (masked). */
export function patchU32(frame: ClientFrame, at: number, value: number): void {
  const b = frame.bytes;
  const m = frame.mask;
  const o = frame.payloadOffset + at;
  b[o] = ((value >>> 24) & 0xff) ^ m[at & 3]!;
  b[o + 1] = ((value >>> 16) & 0xff) ^ m[(at + 1) & 3]!;
  b[o + 2] = ((value >>> 8) & 0xff) ^ m[(at + 2) & 3]!;
  b[o + 3] = (value & 0xff) ^ m[(at + 3) & 3]!;
}

export type MessageHandler = (opcode: number, payload: Buffer) => void;

/**
 * Incremental parser of server→client frames. Feed it socket chunks; it calls `onMessage`
 * once per complete frame with a view of the payload (valid only during the call).
 */
export class ServerFrameParser {
  #buf: Buffer | null = null;
  constructor(private readonly onMessage: MessageHandler) {}

  push(chunk: Buffer): void {
    let data = chunk;
    if (this.#buf) {
      data = Buffer.concat([this.#buf, chunk]);
      this.#buf = null;
    }
    let off = 0;
    const n = data.length;
    while (n - off >= 2) {
      const b0 = data[off]!;
      const b1 = data[off + 1]!;
      if ((b0 & 0x80) === 0 || (b0 & 0x0f) === 0) throw new LoadtestError('LOAD_ERR_PROTOCOL', 'fragmented frame');
      if (b1 & 0x80) throw new LoadtestError('LOAD_ERR_PROTOCOL', 'masked server frame');
      let len = b1 & 0x7f;
      let head = 2;
      if (len === 126) {
        if (n - off < 4) break;
        len = data.readUInt16BE(off + 2);
        head = 4;
      } else if (len === 127) {
        if (n - off < 10) break;
        const big = data.readBigUInt64BE(off + 2);
        if (big > BigInt(MAX_INBOUND_MESSAGE_BYTES))
          throw new LoadtestError('LOAD_ERR_PROTOCOL', `message of ${big} bytes`);
        len = Number(big);
        head = 10;
      }
      if (len > MAX_INBOUND_MESSAGE_BYTES) throw new LoadtestError('LOAD_ERR_PROTOCOL', `message of ${len} bytes`);
      if (n - off < head + len) break;
      this.onMessage(b0 & 0x0f, data.subarray(off + head, off + head + len));
      off += head + len;
    }
    if (off < n) this.#buf = Buffer.from(data.subarray(off));
  }
}
