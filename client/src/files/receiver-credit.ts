/**
 * The recipient's side of flow control: hands out credit over all incoming transfers
 * (credit.ts, round-robin under one budget), tells each sender when its grant moved enough,
 * and watches for silence — re-sending the credit when a chunk or credit may have been lost,
 * and withdrawing it from the shared budget once a sender stays silent (a dead sender must
 * not hold it) until that sender probes again.
 */
import {
  FILE_CREDIT_BATCH_CHUNKS,
  FILE_CREDIT_BATCH_WINDOW_PARTS,
  FILE_CREDIT_MAX_INTERVAL_MS,
  FILE_WINDOW_BYTES,
} from './constants.js';
import { allocateCredit, type CreditDemand } from './credit.js';
import type { Incoming } from './incoming-transfer.js';
import { type TransferMessage, TransferMessageType } from './wire.js';

export interface ReceiverCreditOptions {
  /** The transfers in progress (a live view: read at every pass). */
  transfers: () => Iterable<Incoming>;
  send: (peer: string, m: TransferMessage) => void;
  /** Credit per transfer for a sender's key, bytes. */
  windowFor: (peer: string) => number;
  /**
   * Credit across all transfers for a sender's key, bytes. A pass uses the smallest over the
   * active transfers: a bigger budget for direct peers must never loosen the bound that keeps
   * relayed senders under the server's per-recipient queue.
   */
  budgetFor: (peer: string) => number;
  resendMs: number;
  resendMaxMs: number;
  /** Where CREDIT messages sent are counted (the receiver's counters). */
  counters: { creditsSent: number };
  /** The clock of FILE_CREDIT_MAX_INTERVAL_MS, ms. */
  now: () => number;
}

export class ReceiverCredit {
  readonly #o: ReceiverCreditOptions;
  #cursor = 0;

  constructor(o: ReceiverCreditOptions) {
    this.#o = o;
  }

  /** Hand out credit (credit.ts) and tell each sender whose grant moved enough. */
  schedule(): void {
    const active = [...this.#o.transfers()].filter((t) => !t.closed && !t.paused);
    for (const t of active) if (this.#clampToWindow(t)) this.advertise(t, true);
    const demands: CreditDemand[] = active.map((t) => ({
      key: t.key,
      next: t.next,
      limit: t.limit,
      total: t.total,
      chunkBytes: t.rec.chunkSize,
      windowBytes: this.#o.windowFor(t.rec.offer.peer),
    }));
    let budgetBytes = Number.POSITIVE_INFINITY;
    for (const t of active) budgetBytes = Math.min(budgetBytes, this.#o.budgetFor(t.rec.offer.peer));
    const pass = allocateCredit(
      demands,
      { windowBytes: FILE_WINDOW_BYTES, budgetBytes: active.length > 0 ? budgetBytes : 0 },
      this.#cursor,
    );
    this.#cursor = pass.cursor;
    for (const t of active) {
      const limit = pass.grants.get(t.key);
      if (limit !== undefined) t.limit = limit;
      this.advertise(t, false);
    }
  }

  /**
   * Take back credit beyond the sender's current window: its best path may have changed since
   * the grant (a direct link died and the relay carries on), and credit sized for a direct link
   * would let it push megabytes into the relay's per-recipient queue. The sender takes the lower
   * limit as it is; chunks it already sent past it are dropped here and sent again later.
   * True when the limit went down.
   */
  #clampToWindow(t: Incoming): boolean {
    const cap = Math.max(t.queuedNext, t.next + this.#windowChunks(t));
    if (t.limit <= cap) return false;
    t.limit = cap;
    return true;
  }

  /** The window of `t`'s sender now, chunks (at least one). */
  #windowChunks(t: Incoming): number {
    return Math.max(1, Math.floor(this.#o.windowFor(t.rec.offer.peer) / t.rec.chunkSize));
  }

  /** The sender probed (an offer again): restore withdrawn credit and tell it where we are. */
  probed(t: Incoming): void {
    t.paused = false;
    this.heard(t);
    this.schedule();
    this.advertise(t, true);
  }

  /**
   * Send CREDIT when the sender is close to running out of what it was told, the grant moved by
   * a batch (FILE_CREDIT_BATCH_CHUNKS, or 1/FILE_CREDIT_BATCH_WINDOW_PARTS of the window if
   * more) or at all after FILE_CREDIT_MAX_INTERVAL_MS, or it covers the last chunk; always with
   * `force`.
   */
  advertise(t: Incoming, force: boolean): void {
    const moved = t.limit - t.advertised;
    const left = t.advertised - t.queuedNext;
    const batch = Math.max(
      FILE_CREDIT_BATCH_CHUNKS,
      Math.floor(this.#windowChunks(t) / FILE_CREDIT_BATCH_WINDOW_PARTS),
    );
    const now = this.#o.now();
    if (
      !force &&
      (moved <= 0 ||
        (moved < batch && left > batch && t.limit < t.total && now - t.advertisedAt < FILE_CREDIT_MAX_INTERVAL_MS))
    )
      return;
    t.advertised = t.limit;
    t.advertisedAt = now;
    this.#o.counters.creditsSent++;
    this.#o.send(t.rec.offer.peer, {
      type: TransferMessageType.CREDIT,
      id: t.rec.offer.id,
      next: t.next,
      limit: t.limit,
    });
  }

  /** Something arrived from the sender: back to the shortest silence interval. */
  heard(t: Incoming): void {
    t.interval = this.#o.resendMs;
    this.arm(t);
  }

  /** (Re)start the silence timer of `t`. */
  arm(t: Incoming): void {
    if (t.timer) clearTimeout(t.timer);
    if (t.closed) return;
    t.timer = setTimeout(() => this.#silence(t), t.interval);
    t.timer.unref?.();
  }

  /**
   * No chunk for one interval while credit is out: tell the sender where we are again (a lost
   * credit or chunk). Once the interval reached its maximum, withdraw the credit from the
   * shared budget until the sender probes again.
   */
  #silence(t: Incoming): void {
    if (t.closed || t.paused) return;
    if (t.interval >= this.#o.resendMaxMs && t.limit > t.next) {
      t.paused = true;
      t.limit = t.next;
      this.advertise(t, true);
      this.schedule();
      return;
    }
    this.#clampToWindow(t);
    if (t.limit > t.queuedNext) this.advertise(t, true);
    t.interval = Math.min(t.interval * 2, this.#o.resendMaxMs);
    this.arm(t);
  }
}
