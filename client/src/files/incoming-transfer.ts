/** One incoming transfer while it is being received: where it stands, its file and its timer. */
import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { IncomingRecord } from './incoming-record.js';
import { chunkCount } from './wire.js';

export interface Incoming {
  key: string;
  rec: IncomingRecord;
  total: number;
  /** Chunks written in order (next to write). */
  next: number;
  /** Chunks taken in for writing (the next index accepted from the wire). */
  queuedNext: number;
  /** Credit: the sender may send indices below this. */
  limit: number;
  /** The limit the sender was last told. */
  advertised: number;
  /** When the last CREDIT went out, ms (Date.now); 0 before the first. */
  advertisedAt: number;
  /** Credit withdrawn after a long silence; restored when the sender probes. */
  paused: boolean;
  fh: FileHandle | null;
  hash: Hash;
  /** Chunks taken in and not yet written, in order from `next` (at most the granted credit). */
  queue: Uint8Array[];
  /** The running writer (one per transfer), resolved when the queue is empty. */
  writes: Promise<void>;
  writing: boolean;
  /**
   * The fdatasync that makes progress durable, while it runs. Writes go on meanwhile (waiting
   * for it stalled the credit loop for the whole flush); when it resolves, what was written
   * before it began is recorded as durable.
   */
  syncing: Promise<void> | null;
  /** Current silence interval before credit is re-sent, ms. */
  interval: number;
  timer: NodeJS.Timeout | null;
  closed: boolean;
}

/** The key of a transfer: ids are chosen by the sender, so they are only unique per peer. */
export const keyOf = (peer: string, id: string): string => `${peer}/${id}`;

/** A transfer resuming at chunk `next` (0 for a new one), its hash fed up to there. */
export function newIncoming(
  key: string,
  rec: IncomingRecord,
  next: number,
  hash: Hash,
  fh: FileHandle,
  resendMs: number,
): Incoming {
  return {
    key,
    rec,
    total: chunkCount(rec.offer.size, rec.chunkSize),
    next,
    queuedNext: next,
    limit: next,
    advertised: next,
    advertisedAt: 0,
    paused: false,
    fh,
    hash,
    queue: [],
    writes: Promise.resolve(),
    writing: false,
    syncing: null,
    interval: resendMs,
    timer: null,
    closed: false,
  };
}

/** Bytes written in order so far. */
export function receivedBytes(t: Incoming): number {
  return Math.min(t.rec.offer.size, t.next * t.rec.chunkSize);
}

/** Bytes still to come: what the transfer will yet need on disk. */
export function remainingBytes(t: Incoming): number {
  return t.rec.offer.size - receivedBytes(t);
}
