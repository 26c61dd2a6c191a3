/**
 * Incoming transfers that ended, remembered (bounded by FILE_FINISHED_REMEMBERED, oldest
 * forgotten first, in memory and in the store) so a re-sent offer or a last chunk — our
 * answer was lost — is answered again instead of being put to the host a second time.
 */
import { FILE_FINISHED_REMEMBERED } from './constants.js';
import type { IncomingRecord } from './incoming-record.js';
import type { TransferStore } from './transfer-store.js';
import { chunkCount, type TransferMessage, TransferMessageType } from './wire.js';

export class FinishedTransfers {
  readonly #store: TransferStore<IncomingRecord>;
  /** key → finished record, oldest first. */
  readonly #records = new Map<string, IncomingRecord>();

  constructor(store: TransferStore<IncomingRecord>) {
    this.#store = store;
  }

  get(key: string): IncomingRecord | undefined {
    return this.#records.get(key);
  }

  /** Record the end durably and remember it. */
  finish(key: string, rec: IncomingRecord): void {
    this.#store.put(key, rec);
    this.remember(key, rec);
  }

  /** Remember without writing (already in the store, or never worth writing). */
  remember(key: string, rec: IncomingRecord): void {
    this.#records.delete(key);
    this.#records.set(key, rec);
    while (this.#records.size > FILE_FINISHED_REMEMBERED) {
      const oldest = this.#records.keys().next().value as string;
      this.#records.delete(oldest);
      this.#store.delete(oldest);
    }
  }

  /** The answer to a re-sent offer for a finished transfer. */
  static answerOffer(rec: IncomingRecord, id: string): TransferMessage {
    const reason = rec.reason ?? 'internal';
    if (rec.state === 'done') return { type: TransferMessageType.DONE, id };
    if (rec.declined) return { type: TransferMessageType.DECLINE, id, reason };
    return { type: TransferMessageType.FAILED, id, reason };
  }

  /** True when a chunk for a finished transfer means our DONE was lost (it is the last one). */
  static lostDone(rec: IncomingRecord | undefined, index: number): boolean {
    return rec?.state === 'done' && index === chunkCount(rec.offer.size, rec.chunkSize) - 1;
  }
}
