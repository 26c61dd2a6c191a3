/**
 * Instance ⇄ instance records, carried in batches over the broker (one publish per
 * destination per event-loop tick). A batch is a sequence of `u32 length ‖ record`.
 *
 *   kind  name   body
 *   1     ROUTE  pendingId u32, hops u8, replyTo str8, to[32], 0x12, channel u8, from[32], envelope rest
 *   2     REPLY  pendingId u32, result u8 (0 delivered, 1 queued, 2 offline, 3 error), code str8
 *   3     KICK   key[32], since u64 (ms; close local sessions of key that started earlier)
 *   4     MAIL   key[32] (something was just mailboxed for key: deliver it if key is connected here)
 *   5     REPLAY stream[8], seq u32, records (a batch first sent over an instance link that died before
 *                the peer acknowledged it, published through Redis instead; the receiver skips it when
 *                it already processed that stream's `seq` from the link: link/streams.ts)
 *   6     DELIVERED runs of (first pendingId u32, count u16): every pendingId first … first+count−1 was
 *                delivered, the batched form of REPLY result 0. One record answers a whole batch, so a
 *                frame crossing back costs 6 bytes per run, not an 11-byte record, a buffer and a parsed
 *                object per frame. Sent only to an instance with an open instance link (link version 2
 *                knows it); an instance of an older version stops its walk at kind 6, so the Redis path
 *                to instances without links keeps answering with REPLY records.
 *   7     ROUTE_TTL ttlS u32 (≥ 1), then a ROUTE's body: a RELAY_TTL's frame, whose copy is mailboxed for
 *                ttlS seconds (already clamped to MAILBOX_TTL_S) wherever it ends up, also on an
 *                instance reached by a stale route. Plain RELAYs stay ROUTE records. An instance of an
 *                older version stops its walk at kind 7 (the rest of that batch times out and is resent
 *                by its clients), so RELAY_TTL across instances wants the fleet on this version.
 *
 * ROUTE ends with a ready-made DELIVER frame (0x12, channel, from, envelope), so the receiving
 * instance sends `record.subarray(deliverOffset)` without copying.
 */
import { FrameType } from '@p2p-comm/protocol';

export const RecordKind = Object.freeze({
  ROUTE: 1,
  REPLY: 2,
  KICK: 3,
  MAIL: 4,
  REPLAY: 5,
  DELIVERED: 6,
  ROUTE_TTL: 7,
} as const);
export const ReplyResult = Object.freeze({ DELIVERED: 0, QUEUED: 1, OFFLINE: 2, ERROR: 3 } as const);
export type ReplyResult = (typeof ReplyResult)[keyof typeof ReplyResult];

const KEY = 32;

/**
 * Header of a ROUTE record up to (not including) the DELIVER frame; the caller appends deliver
 * header + envelope. `ttlMs` > 0 (a RELAY_TTL's mailbox TTL, whole seconds: RELAY_TTL counts in
 * seconds, and MAILBOX_TTL_S can pass what u32 milliseconds hold) makes it a ROUTE_TTL record.
 */
export function encodeRouteHeader(
  pendingId: number,
  hops: number,
  replyTo: Buffer,
  to: Uint8Array,
  channel: number,
  from: Uint8Array,
  envelopeLength: number,
  ttlMs = 0,
): Buffer {
  const ttlBytes = ttlMs > 0 ? 4 : 0;
  const bodyLen = 1 + ttlBytes + 4 + 1 + 1 + replyTo.length + KEY + 2 + KEY + envelopeLength;
  const b = Buffer.allocUnsafe(4 + bodyLen - envelopeLength);
  let o = b.writeUInt32BE(bodyLen, 0);
  o = b.writeUInt8(ttlBytes > 0 ? RecordKind.ROUTE_TTL : RecordKind.ROUTE, o);
  if (ttlBytes > 0) o = b.writeUInt32BE(Math.min(0xffff_ffff, Math.ceil(ttlMs / 1000)), o);
  o = b.writeUInt32BE(pendingId, o);
  o = b.writeUInt8(hops, o);
  o = b.writeUInt8(replyTo.length, o);
  o += replyTo.copy(b, o);
  b.set(to, o);
  o += KEY;
  b[o++] = FrameType.DELIVER;
  b[o++] = channel;
  b.set(from, o);
  return b;
}

export function encodeReply(pendingId: number, result: ReplyResult, code = ''): Buffer {
  // Codes are ASCII registry names; '' for every non-error answer (the common case).
  const bodyLen = 1 + 4 + 1 + 1 + code.length;
  const b = Buffer.allocUnsafe(4 + bodyLen);
  b.writeUInt32BE(bodyLen, 0);
  b[4] = RecordKind.REPLY;
  b.writeUInt32BE(pendingId, 5);
  b[9] = result;
  b[10] = code.length;
  if (code.length > 0) b.write(code, 11, 'latin1');
  return b;
}

export function encodeKick(key: Uint8Array, since: number): Buffer {
  const bodyLen = 1 + KEY + 8;
  const b = Buffer.allocUnsafe(4 + bodyLen);
  let o = b.writeUInt32BE(bodyLen, 0);
  o = b.writeUInt8(RecordKind.KICK, o);
  b.set(key, o);
  o += KEY;
  b.writeBigUInt64BE(BigInt(since), o);
  return b;
}

export function encodeMailHint(key: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(4 + 1 + KEY);
  b.writeUInt32BE(1 + KEY, 0);
  b[4] = RecordKind.MAIL;
  b.set(key, 5);
  return b;
}

/** Bytes of a REPLAY record before its records: length u32, kind u8, stream[8], seq u32. */
export const REPLAY_HEADER_BYTES = 4 + 1 + 8 + 4;

/** The header of a REPLAY record wrapping `recordBytes` bytes of records (the caller appends them). */
export function encodeReplayHeader(stream: Uint8Array, seq: number, recordBytes: number): Buffer {
  const b = Buffer.allocUnsafe(REPLAY_HEADER_BYTES);
  b.writeUInt32BE(REPLAY_HEADER_BYTES - 4 + recordBytes, 0);
  b[4] = RecordKind.REPLAY;
  b.set(stream, 5);
  b.writeUInt32BE(seq, 13);
  return b;
}

/** Bytes of one run in a DELIVERED record: first pendingId u32, count u16. */
export const DELIVERED_RUN_BYTES = 6;
/** Most pendingIds one run names (count is u16); a longer stretch starts a new run. */
export const DELIVERED_RUN_MAX = 0xffff;

/**
 * A DELIVERED record of `runs` (flat pairs: first pendingId, count; count ≥ 1). The caller bounds
 * the runs: they come from the records of one batch, so the record is smaller than that batch.
 */
export function encodeDelivered(runs: readonly number[]): Buffer {
  const n = runs.length >> 1;
  const b = Buffer.allocUnsafe(4 + 1 + n * DELIVERED_RUN_BYTES);
  b.writeUInt32BE(1 + n * DELIVERED_RUN_BYTES, 0);
  b[4] = RecordKind.DELIVERED;
  let o = 5;
  for (let i = 0; i < runs.length; i += 2) {
    b.writeUInt32BE(runs[i]!, o);
    b.writeUInt16BE(runs[i + 1]!, o + 4);
    o += DELIVERED_RUN_BYTES;
  }
  return b;
}

export interface RouteRecord {
  /** ROUTE_TTL records are visited as ROUTE records with their ttlMs. */
  kind: typeof RecordKind.ROUTE;
  /** A RELAY_TTL's mailbox TTL, ms (clamped by the sending instance); 0 = MAILBOX_TTL_S. */
  ttlMs: number;
  pendingId: number;
  hops: number;
  replyTo: string;
  /** Recipient key as latin1: the local routing map key. */
  toId: string;
  channel: number;
  /** Ready DELIVER frame (view): 0x12, channel, from[32], envelope. */
  deliver: Buffer;
}

/** Sender key of a ROUTE record (view). */
export function routeFrom(r: RouteRecord): Buffer {
  return r.deliver.subarray(2, 2 + KEY);
}

/** Envelope of a ROUTE record (view). */
export function routeEnvelope(r: RouteRecord): Buffer {
  return r.deliver.subarray(2 + KEY);
}

export interface ReplyRecord {
  kind: typeof RecordKind.REPLY;
  pendingId: number;
  result: number;
  code: string;
}
export interface KickRecord {
  kind: typeof RecordKind.KICK;
  key: Buffer;
  since: number;
}
export interface MailRecord {
  kind: typeof RecordKind.MAIL;
  key: Buffer;
}
export interface ReplayRecord {
  kind: typeof RecordKind.REPLAY;
  /** The link direction the batch was first sent on, latin1 of 8 bytes. */
  stream: string;
  seq: number;
  /** The batch's records (a view); never another REPLAY (forEachRecord refuses nesting). */
  records: Buffer;
}
export interface DeliveredRecord {
  kind: typeof RecordKind.DELIVERED;
  /** The runs (a view): DELIVERED_RUN_BYTES each, first pendingId u32 ‖ count u16 (≥ 1). */
  runs: Buffer;
}
export type RouteBatchRecord = RouteRecord | ReplyRecord | KickRecord | MailRecord | ReplayRecord | DeliveredRecord;

/**
 * Walk a batch, calling `visit` per record. Malformed records end the walk (returns false):
 * batches come from our own instances, but a bad one must never crash the process.
 */
export function forEachRecord(batch: Buffer, visit: (r: RouteBatchRecord) => void, allowReplay = true): boolean {
  let o = 0;
  while (o < batch.length) {
    if (o + 4 > batch.length) return false;
    const len = batch.readUInt32BE(o);
    o += 4;
    const end = o + len;
    if (len < 1 || end > batch.length) return false;
    const kind = batch[o]!;
    if (kind === RecordKind.ROUTE || kind === RecordKind.ROUTE_TTL) {
      const t = kind === RecordKind.ROUTE_TTL ? 4 : 0; // the ttlMs field
      if (len < 1 + t + 4 + 1 + 1) return false;
      const ttlS = t > 0 ? batch.readUInt32BE(o + 1) : 0;
      if (t > 0 && ttlS === 0) return false;
      const b = o + t; // ROUTE_TTL's body is a ROUTE's, 4 bytes on
      const pendingId = batch.readUInt32BE(b + 1);
      const hops = batch[b + 5]!;
      const rl = batch[b + 6]!;
      let p = b + 7;
      if (p + rl + KEY + 2 + KEY > end) return false;
      const replyTo = batch.toString('latin1', p, p + rl);
      p += rl;
      const toId = batch.toString('latin1', p, p + KEY);
      p += KEY;
      if (batch[p] !== FrameType.DELIVER) return false;
      visit({
        kind: RecordKind.ROUTE,
        ttlMs: ttlS * 1000,
        pendingId,
        hops,
        replyTo,
        toId,
        channel: batch[p + 1]!,
        deliver: batch.subarray(p, end),
      });
    } else if (kind === RecordKind.REPLY) {
      if (len < 7) return false;
      const cl = batch[o + 6]!;
      if (7 + cl > len) return false;
      visit({
        kind,
        pendingId: batch.readUInt32BE(o + 1),
        result: batch[o + 5]!,
        code: batch.toString('latin1', o + 7, o + 7 + cl),
      });
    } else if (kind === RecordKind.KICK) {
      if (len !== 1 + KEY + 8) return false;
      const since = batch.readBigUInt64BE(o + 1 + KEY);
      visit({
        kind,
        key: batch.subarray(o + 1, o + 1 + KEY),
        since: since > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(since),
      });
    } else if (kind === RecordKind.MAIL) {
      if (len !== 1 + KEY) return false;
      visit({ kind, key: batch.subarray(o + 1, o + 1 + KEY) });
    } else if (kind === RecordKind.REPLAY) {
      if (!allowReplay || len < REPLAY_HEADER_BYTES - 4) return false;
      visit({
        kind,
        stream: batch.toString('latin1', o + 1, o + 9),
        seq: batch.readUInt32BE(o + 9),
        records: batch.subarray(o + 13, end),
      });
    } else if (kind === RecordKind.DELIVERED) {
      const runBytes = len - 1;
      if (runBytes === 0 || runBytes % DELIVERED_RUN_BYTES !== 0) return false;
      for (let r = o + 1; r < end; r += DELIVERED_RUN_BYTES) if (batch.readUInt16BE(r + 4) === 0) return false;
      visit({ kind, runs: batch.subarray(o + 1, end) });
    } else {
      return false;
    }
    o = end;
  }
  return true;
}
