/**
 * Which chunks an incoming transfer takes in. Only the next chunk in order, inside the credit
 * granted, of exactly the length the offer implies, is queued for writing; everything else is
 * counted and dropped (a go-back-N sender rewinds), so what was not granted is never buffered.
 */
import type { Incoming } from './incoming-transfer.js';
import { chunkLength } from './wire.js';

export interface IntakeCounters {
  chunks: number;
  duplicates: number;
  outOfOrder: number;
  overCredit: number;
  badLength: number;
}

/** Queue `bytes` as chunk `index` of `t` if it is the one expected; true when taken in. */
export function admitChunk(t: Incoming, index: number, bytes: Uint8Array, counters: IntakeCounters): boolean {
  if (index < t.queuedNext) {
    counters.duplicates++;
    return false;
  }
  if (index >= t.limit) {
    counters.overCredit++;
    return false;
  }
  if (index !== t.queuedNext) {
    counters.outOfOrder++;
    return false;
  }
  if (bytes.length !== chunkLength(t.rec.offer.size, t.rec.chunkSize, index)) {
    counters.badLength++;
    return false;
  }
  counters.chunks++;
  t.queuedNext++;
  t.queue.push(bytes);
  return true;
}
