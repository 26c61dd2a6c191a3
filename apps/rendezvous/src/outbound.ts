/**
 * Cross-instance batching: records for one destination instance are collected during an
 * event-loop turn and published as one message (one PUBLISH per destination per tick, not
 * per frame). A batch is flushed early when it reaches ROUTE_BATCH_MAX_BYTES. The sink is the
 * broker's pub/sub, or the instance links (link/manager.ts) with the broker as their fallback.
 */
import { ROUTE_BATCH_MAX_BYTES } from './constants.js';
import type { BatchSink } from './link/manager.js';
import type { Stats } from './stats.js';

interface Queue {
  chunks: Buffer[];
  bytes: number;
}

export class OutboundBatcher {
  // One entry per destination instance with records this tick; emptied on every flush.
  private readonly queues = new Map<string, Queue>();
  private scheduled = false;
  private readonly flushAll = (): void => {
    this.scheduled = false;
    for (const [instance, q] of this.queues) this.publish(instance, q);
    this.queues.clear();
  };

  constructor(
    private readonly sink: BatchSink,
    private readonly stats: Stats,
  ) {}

  /** Queue `head` (and optionally `body`, appended verbatim) for `instance`. */
  push(instance: string, head: Buffer, body?: Buffer): void {
    let q = this.queues.get(instance);
    if (q === undefined) {
      q = { chunks: [], bytes: 0 };
      this.queues.set(instance, q);
    }
    q.chunks.push(head);
    q.bytes += head.length;
    if (body !== undefined) {
      q.chunks.push(body);
      q.bytes += body.length;
    }
    if (q.bytes >= ROUTE_BATCH_MAX_BYTES) {
      this.publish(instance, q);
      this.queues.delete(instance);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushAll);
    }
  }

  private publish(instance: string, q: Queue): void {
    this.stats.batchesOut++;
    this.sink.send(instance, q.chunks, q.bytes);
  }

  /** Publish everything queued now (used at shutdown). */
  flush(): void {
    this.flushAll();
  }
}
