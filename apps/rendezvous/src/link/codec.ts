/**
 * The instance-link wire format (docs/instance-links.md), version 2. The whole of it:
 *
 *   preamble   'p2pL' (4 bytes) ‖ version u8           — each side sends it first, once
 *   frame      length u32 (of type ‖ body) ‖ type u8 ‖ body
 *
 *   type  name       body                                                   direction
 *   1     CHALLENGE  nonce[32]                                              acceptor → dialer
 *   2     HELLO      nonce[32] ‖ stream[8] ‖ str8 dialerId ‖ str8 acceptorId ‖ mac[32]   dialer → acceptor
 *   3     WELCOME    stream[8] ‖ str8 acceptorId ‖ mac[32]                   acceptor → dialer
 *   4     BATCH      seq u32 ‖ ack u32 ‖ route records (route-codec.ts)    both, after WELCOME
 *   5     ACK        seq u32 (last batch processed; also the keepalive)     both, after WELCOME
 *
 * A BATCH carries the sender's ACK of the other direction (`ack`, the last batch it processed),
 * so under two-way traffic (routes one way, replies the other) no separate ACK frame is sent.
 *   6     ERROR      str8 code (RDV_ERR_LINK_*); the sender closes after it  both
 *
 * The preamble and the ERROR frame never change, so a peer of another version can always say
 * why it refuses. Version 2 (frames unchanged) means the route records may include DELIVERED
 * (route-codec.ts kind 6, one answer for a whole batch); a version 1 peer would drop a batch at
 * that record, so the versions refuse each other and such a pair talks through Redis. Sequence numbers count a direction's batches from 1; `stream` names that
 * direction, so a batch replayed through Redis after the link died is recognised (link/replay).
 */
import { createHmac } from 'node:crypto';
import { RendezvousError } from '../errors.js';
import { LINK_SPLIT_FRAME_MAX_PARTS } from './constants.js';

export const LINK_MAGIC = Buffer.from('p2pL', 'latin1');
export const LINK_VERSION = 2;
export const PREAMBLE_BYTES = 5;
export const NONCE_BYTES = 32;
export const STREAM_BYTES = 8;
export const MAC_BYTES = 32;

export const LinkFrame = Object.freeze({ CHALLENGE: 1, HELLO: 2, WELCOME: 3, BATCH: 4, ACK: 5, ERROR: 6 } as const);

/** Bytes before a BATCH's records: length u32, type u8, seq u32, ack u32. */
export const BATCH_HEADER_BYTES = 13;

export function preamble(version = LINK_VERSION): Buffer {
  const b = Buffer.allocUnsafe(PREAMBLE_BYTES);
  LINK_MAGIC.copy(b, 0);
  b[4] = version;
  return b;
}

/**
 * Check a received preamble. Wrong magic: RDV_ERR_LINK_MALFORMED (not a link at all); another
 * version: RDV_ERR_LINK_VERSION naming both.
 */
export function checkPreamble(b: Buffer): void {
  if (b.length !== PREAMBLE_BYTES || b.compare(LINK_MAGIC, 0, 4, 0, 4) !== 0)
    throw new RendezvousError('RDV_ERR_LINK_MALFORMED', 'not an instance link (bad preamble)');
  if (b[4] !== LINK_VERSION)
    throw new RendezvousError(
      'RDV_ERR_LINK_VERSION',
      `instance link version ${b[4]} is not spoken here (this instance speaks ${LINK_VERSION})`,
    );
}

function frame(type: number, body: readonly (Buffer | string)[]): Buffer {
  const parts = body.map((p) => (typeof p === 'string' ? str8(p) : p));
  let len = 1;
  for (const p of parts) len += p.length;
  const b = Buffer.allocUnsafe(4 + len);
  b.writeUInt32BE(len, 0);
  b[4] = type;
  let o = 5;
  for (const p of parts) o += p.copy(b, o);
  return b;
}

function str8(s: string): Buffer {
  const v = Buffer.from(s, 'latin1');
  if (v.length > 255) throw new RendezvousError('RDV_ERR_LINK_MALFORMED', 'string over 255 bytes');
  return Buffer.concat([Buffer.from([v.length]), v]);
}

export function challengeFrame(nonce: Buffer): Buffer {
  return frame(LinkFrame.CHALLENGE, [nonce]);
}

export function helloFrame(nonce: Buffer, stream: Buffer, dialerId: string, acceptorId: string, mac: Buffer): Buffer {
  return frame(LinkFrame.HELLO, [nonce, stream, dialerId, acceptorId, mac]);
}

export function welcomeFrame(stream: Buffer, acceptorId: string, mac: Buffer): Buffer {
  return frame(LinkFrame.WELCOME, [stream, acceptorId, mac]);
}

export function ackFrame(seq: number): Buffer {
  const b = Buffer.allocUnsafe(9);
  b.writeUInt32BE(5, 0);
  b[4] = LinkFrame.ACK;
  b.writeUInt32BE(seq, 5);
  return b;
}

export function errorFrame(code: string): Buffer {
  return frame(LinkFrame.ERROR, [code]);
}

/** The header of a BATCH number `seq` acknowledging `ack`, carrying `recordBytes` bytes of records. */
export function batchHeader(
  seq: number,
  ack: number,
  recordBytes: number,
  into = Buffer.allocUnsafe(BATCH_HEADER_BYTES),
): Buffer {
  into.writeUInt32BE(BATCH_HEADER_BYTES - 4 + recordBytes, 0);
  into[4] = LinkFrame.BATCH;
  into.writeUInt32BE(seq, 5);
  into.writeUInt32BE(ack, 9);
  return into;
}

/** A reader over one frame's body: every read checks the bounds and throws RDV_ERR_LINK_MALFORMED. */
export class BodyReader {
  private o = 1; // after the type byte
  constructor(private readonly f: Buffer) {}
  bytes(n: number): Buffer {
    if (this.o + n > this.f.length) throw malformed('frame too short');
    const v = this.f.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  str8(): string {
    const n = this.bytes(1)[0]!;
    return this.bytes(n).toString('latin1');
  }
  u32(): number {
    return this.bytes(4).readUInt32BE(0);
  }
  end(): void {
    if (this.o !== this.f.length) throw malformed('trailing bytes');
  }
}

export function malformed(why: string): RendezvousError {
  return new RendezvousError('RDV_ERR_LINK_MALFORMED', `instance link frame does not decode: ${why}`);
}

const DIAL_TAG = 'p2p-comm instance link v1 dial';
const ACCEPT_TAG = 'p2p-comm instance link v1 accept';

/**
 * The MAC each side proves the cluster secret with: HMAC-SHA256 over a role tag and every value
 * of the exchange, each length-prefixed (so no two tuples MAC the same bytes). The dialer MACs
 * the acceptor's fresh challenge, the acceptor the dialer's fresh nonce: neither answer can be
 * replayed on another connection, or reflected to the other role.
 */
export function linkMac(
  secret: Buffer,
  role: 'dial' | 'accept',
  theirNonce: Buffer,
  ourNonce: Buffer,
  stream: Buffer,
  ourId: string,
  theirId: string,
): Buffer {
  const h = createHmac('sha256', secret);
  for (const part of [role === 'dial' ? DIAL_TAG : ACCEPT_TAG, theirNonce, ourNonce, stream, ourId, theirId]) {
    const v = typeof part === 'string' ? Buffer.from(part, 'latin1') : part;
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16BE(v.length, 0);
    h.update(len);
    h.update(v);
  }
  return h.digest();
}

/**
 * Reassembles frames from a byte stream. A frame inside one read is handed on as a view (no
 * copy). A frame split across reads is gathered, once, into a buffer of its own length, unless
 * an `onSplitFrame` handler is given: then the reads' views are kept (at most
 * LINK_SPLIT_FRAME_MAX_PARTS of them; past that the frame is gathered after all) and handed on as
 * they are, so a BATCH of 16 KiB records is not copied a second time (splitBatchRecords).
 * Every length is checked against `maxFrame` before anything is allocated.
 */
export class FrameReader {
  private readonly hdr = Buffer.alloc(4);
  private hdrFilled = 0;
  /** The frame being gathered by copy, or null. */
  private partial: Buffer | null = null;
  private filled = 0;
  /** The views of a split frame being collected (onSplitFrame), and the bytes it still needs. */
  private parts: Buffer[] = [];
  private partsLength = 0;
  private partsNeed = 0;

  constructor(
    public maxFrame: number,
    private readonly onFrame: (frame: Buffer) => void,
    /** Receives a frame that spans reads as views of them, in order; `length` bytes in all. */
    public onSplitFrame: ((parts: Buffer[], length: number) => void) | null = null,
  ) {}

  /** Feed one read. Throws RDV_ERR_LINK_MALFORMED / RDV_ERR_LINK_LIMIT; the caller then closes the link. */
  push(chunk: Buffer): void {
    let o = 0;
    const n = chunk.length;
    while (o < n) {
      if (this.partsNeed > 0) {
        const take = Math.min(this.partsNeed, n - o);
        this.parts.push(chunk.subarray(o, o + take));
        this.partsNeed -= take;
        o += take;
        if (this.partsNeed === 0) {
          const parts = this.parts;
          this.parts = [];
          this.onSplitFrame!(parts, this.partsLength);
          continue;
        }
        if (this.parts.length >= LINK_SPLIT_FRAME_MAX_PARTS) {
          // Many tiny reads: gather what came, copy the rest as it comes.
          const f = Buffer.allocUnsafe(this.partsLength);
          let at = 0;
          for (const p of this.parts) at += p.copy(f, at);
          this.parts = [];
          this.partsNeed = 0;
          this.partial = f;
          this.filled = at;
        }
        return;
      }
      if (this.partial !== null) {
        const take = Math.min(this.partial.length - this.filled, n - o);
        chunk.copy(this.partial, this.filled, o, o + take);
        this.filled += take;
        o += take;
        if (this.filled < this.partial.length) return;
        const f = this.partial;
        this.partial = null;
        this.onFrame(f);
        continue;
      }
      let len: number;
      if (this.hdrFilled === 0 && n - o >= 4) {
        len = chunk.readUInt32BE(o);
        o += 4;
      } else {
        const take = Math.min(4 - this.hdrFilled, n - o);
        chunk.copy(this.hdr, this.hdrFilled, o, o + take);
        this.hdrFilled += take;
        o += take;
        if (this.hdrFilled < 4) return;
        this.hdrFilled = 0;
        len = this.hdr.readUInt32BE(0);
      }
      if (len === 0) throw malformed('empty frame');
      if (len > this.maxFrame)
        throw new RendezvousError('RDV_ERR_LINK_LIMIT', `instance link frame of ${len} bytes over ${this.maxFrame}`);
      if (n - o >= len) {
        const f = chunk.subarray(o, o + len);
        o += len;
        this.onFrame(f);
      } else if (this.onSplitFrame !== null && n - o > 0) {
        this.parts.push(chunk.subarray(o));
        this.partsLength = len;
        this.partsNeed = len - (n - o);
        o = n;
      } else {
        this.partial = Buffer.allocUnsafe(len);
        this.filled = 0;
      }
    }
  }
}

/** Reads across the views of a split frame; a read inside one view is a view, else a copy. */
class PartsCursor {
  private i = 0;
  private o = 0;
  constructor(private readonly parts: Buffer[]) {}

  /** Bytes left in the current view. */
  get inView(): number {
    return this.i < this.parts.length ? this.parts[this.i]!.length - this.o : 0;
  }
  get view(): Buffer {
    return this.parts[this.i]!;
  }
  get offset(): number {
    return this.o;
  }

  /** The next `n` bytes (the caller checked that they exist): a view when inside one view, else a copy. */
  take(n: number): Buffer {
    if (n <= this.inView) {
      const v = this.parts[this.i]!.subarray(this.o, this.o + n);
      this.skip(n);
      return v;
    }
    return this.copyInto(Buffer.allocUnsafe(n), 0);
  }

  /** Copy the next `into.length - at` bytes into `into` from `at` on (the caller checked that they exist). */
  copyInto(into: Buffer, at: number): Buffer {
    while (at < into.length) {
      const p = this.parts[this.i]!;
      const k = Math.min(into.length - at, p.length - this.o);
      p.copy(into, at, this.o, this.o + k);
      at += k;
      this.skip(k);
    }
    return into;
  }

  private skip(n: number): void {
    this.o += n;
    while (this.i < this.parts.length && this.o >= this.parts[this.i]!.length) {
      this.o -= this.parts[this.i]!.length;
      this.i++;
    }
  }

  /** Move `n` bytes on inside the current view (the caller checked inView). */
  advance(n: number): void {
    this.skip(n);
  }
}

/**
 * A BATCH frame that arrived as several views (FrameReader onSplitFrame), `length` bytes in all:
 * its seq, ack and records as regions of whole `u32 length ‖ record`s. Records inside one view
 * stay views of it; only a record that spans two views is copied (into a buffer of its own). So a
 * batch of large records is not copied as a whole. Throws RDV_ERR_LINK_MALFORMED when a record
 * length runs past the frame.
 */
export function splitBatchRecords(parts: Buffer[], length: number): { seq: number; ack: number; regions: Buffer[] } {
  if (length < BATCH_HEADER_BYTES - 4) throw malformed('short BATCH');
  const c = new PartsCursor(parts);
  const head = c.take(BATCH_HEADER_BYTES - 4);
  const seq = head.readUInt32BE(1);
  const ack = head.readUInt32BE(5);
  let left = length - (BATCH_HEADER_BYTES - 4);
  const regions: Buffer[] = [];
  let start = -1; // where the run of whole records in the current view began
  while (left > 0) {
    if (left < 4) throw malformed('record length past the BATCH');
    const inView = c.inView;
    const view = c.view;
    const at = c.offset;
    const recLen = inView >= 4 ? view.readUInt32BE(at) : -1;
    if (recLen >= 0 && 4 + recLen <= inView) {
      if (4 + recLen > left) throw malformed('record past the BATCH');
      if (start < 0) start = at;
      left -= 4 + recLen;
      if (4 + recLen === inView) {
        regions.push(view.subarray(start, at + 4 + recLen));
        start = -1;
      }
      c.advance(4 + recLen);
      continue;
    }
    if (start >= 0) regions.push(view.subarray(start, at));
    start = -1;
    // A record (or its length) across two views: copied, once, into a buffer of its own.
    const lenBytes = c.take(4);
    const whole = 4 + lenBytes.readUInt32BE(0);
    if (whole > left) throw malformed('record past the BATCH');
    const rec = Buffer.allocUnsafe(whole);
    lenBytes.copy(rec, 0);
    regions.push(c.copyInto(rec, 4));
    left -= whole;
  }
  if (start >= 0 && c.inView > 0) regions.push(c.view.subarray(start, c.offset));
  return { seq, ack, regions };
}
