/**
 * The receiving side's memory of each link direction (a "stream"): the last batch sequence it
 * processed. A batch arrives either over the link or, after the link died unacknowledged, as a
 * REPLAY record through Redis; whichever comes second is skipped, so no record is processed
 * twice and none is lost (the replay covers every batch from the last ACK on, in order).
 */
import { LINK_STREAM_MEMORY_MS, LINK_STREAMS_MAX } from './constants.js';

interface StreamState {
  last: number;
  /** When the link carrying the stream closed, ms; 0 while it is open. */
  closedAt: number;
}

export class StreamLedger {
  // Insertion order = age: the oldest closed streams are evicted first when full.
  private readonly streams = new Map<string, StreamState>();

  get size(): number {
    return this.streams.size;
  }

  /** A link opened with the peer's outgoing stream `id`. */
  opened(id: string): void {
    this.make(id, 0);
  }

  closed(id: string, now: number): void {
    const s = this.streams.get(id);
    if (s !== undefined) s.closedAt = now;
  }

  /**
   * Whether to process batch `seq` of stream `id` now (and record it as processed). A stream this
   * instance never saw (or forgot after LINK_STREAM_MEMORY_MS) is processed: better delivered than
   * lost; the sender's pending timeout bounds how late a replay can come.
   */
  take(id: string, seq: number, now: number): boolean {
    let s = this.streams.get(id);
    if (s === undefined) s = this.make(id, now);
    if (seq <= s.last) return false;
    s.last = seq;
    return true;
  }

  /** Forget streams closed longer than LINK_STREAM_MEMORY_MS ago. */
  sweep(now: number): void {
    for (const [id, s] of this.streams)
      if (s.closedAt !== 0 && now - s.closedAt > LINK_STREAM_MEMORY_MS) this.streams.delete(id);
  }

  private make(id: string, closedAt: number): StreamState {
    if (this.streams.size >= LINK_STREAMS_MAX) {
      for (const [old, s] of this.streams)
        if (s.closedAt !== 0) {
          this.streams.delete(old);
          break;
        }
    }
    const s = { last: 0, closedAt };
    this.streams.set(id, s);
    return s;
  }
}
