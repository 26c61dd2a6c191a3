// Byte helpers shared by every layer: hex, unpadded base64url, concatenation, big-endian
// integers and the length-prefixed encoding lp(x) that every signature and KDF input uses
// (docs/protocol.md: "lp(x) = u32 big-endian length ‖ x").

import { PeerError } from './errors.js';

const textEncoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, never silently replaced (docs/errors.md PROTO_ERR_BAD_ENCODING).
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

export function fromUtf8(bytes: Uint8Array): string {
  try {
    return textDecoder.decode(bytes);
  } catch {
    throw new PeerError('PROTO_ERR_BAD_ENCODING', 'invalid UTF-8');
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

export function fromHex(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new PeerError('PROTO_ERR_BAD_ENCODING', 'not a hex string');
  }
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** Unpadded base64url, the text form of keys (docs/protocol.md "Identity"). */
export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

export function fromBase64url(text: string): Uint8Array {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new PeerError('PROTO_ERR_BAD_ENCODING', 'not unpadded base64url');
  }
  const bytes = Uint8Array.from(Buffer.from(text, 'base64url'));
  // Refuse non-canonical encodings (unused low bits set): one key has one text form.
  if (toBase64url(bytes) !== text) throw new PeerError('PROTO_ERR_BAD_ENCODING', 'non-canonical base64url');
  return bytes;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function u8(value: number): Uint8Array {
  return Uint8Array.of(value);
}

export function u16(value: number): Uint8Array {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value);
  return out;
}

export function u32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

/** u64 big-endian; values are JavaScript integers ≤ 2^53 − 1 (docs/protocol.md "Decoding limits"). */
export function u64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(value));
  return out;
}

/** lp(x) = u32 BE length ‖ x. */
export function lp(bytes: Uint8Array): Uint8Array {
  return concat(u32(bytes.length), bytes);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Unsigned lexicographic comparison (used by the handshake tie-break). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * A cursor over received bytes. Every read checks the length first so a short input is
 * PROTO_ERR_TRUNCATED, never an exception from a typed array.
 */
export class Reader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  take(n: number): Uint8Array {
    if (n > this.remaining) throw new PeerError('PROTO_ERR_TRUNCATED', `needs ${n} bytes, has ${this.remaining}`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  rest(): Uint8Array {
    return this.take(this.remaining);
  }

  u8(): number {
    return this.take(1)[0] as number;
  }

  u16(): number {
    const b = this.take(2);
    return new DataView(b.buffer, b.byteOffset, 2).getUint16(0);
  }

  u32(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  /** u64 BE; above 2^53 − 1 is PROTO_ERR_BAD_ENCODING (docs/protocol.md "Decoding limits"). */
  u64(): number {
    const b = this.take(8);
    const value = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new PeerError('PROTO_ERR_BAD_ENCODING', 'u64 above 2^53 - 1');
    return Number(value);
  }

  /** The structure must end here (PROTO_ERR_TRAILING_BYTES otherwise). */
  end(): void {
    if (this.remaining !== 0)
      throw new PeerError('PROTO_ERR_TRAILING_BYTES', `${this.remaining} bytes after the structure`);
  }
}
