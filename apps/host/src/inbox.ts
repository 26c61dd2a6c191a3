/**
 * Per-plugin inbox: items a plugin has been cleared to receive, held until it reads them with a
 * long-poll. Bounded in count and bytes; on overflow the oldest item is dropped and counted.
 * The byte bound (message-limits.ts inboxBytes) holds one largest message plus 4 MiB, so a
 * message is never dropped for its own size on arrival; the newest item is always kept.
 */
import { MAX_INBOX_MESSAGES, MAX_READ_BATCH, MAX_WAITERS_PER_PLUGIN } from './constants.js';
import { HostError } from './errors.js';
import { DEFAULT_MESSAGE_LIMITS } from './message-limits.js';

export type InboxItem =
  | {
      type: 'message';
      messageId: string;
      from: string;
      fromName?: string;
      fingerprint: string;
      /** Text, or base64 when `encoding` is "base64". */
      body: string;
      encoding: 'text' | 'base64';
      receivedAt: string;
    }
  | { type: 'delivered'; messageId: string; to?: string }
  /** A sent message the extension gave up on; `code` is its CLIENT_ERR_… code. */
  | { type: 'failed'; messageId: string; to?: string; code: string }
  | {
      /** A file the gates let in, landed and hash-checked by the extension (fetch it by transferId). */
      type: 'file';
      /** The transfer id (as `messageId`, so every item has one). */
      messageId: string;
      transferId: string;
      from: string;
      fromName?: string;
      fingerprint: string;
      name: string;
      size: number;
      mediaType: string;
      sha256: string;
      note: string;
      receivedAt: string;
    };

interface Waiter {
  resolve: (items: InboxItem[]) => void;
  timer: NodeJS.Timeout;
  max: number;
}

function sizeOf(item: InboxItem): number {
  return item.type === 'message' ? Buffer.byteLength(item.body) : 0;
}

export class Inbox {
  private readonly items: InboxItem[] = [];
  private bytes = 0;
  private readonly waiters = new Set<Waiter>();
  /** Items dropped because the plugin did not read in time. */
  dropped = 0;

  constructor(
    private readonly maxItems = MAX_INBOX_MESSAGES,
    private readonly maxBytes = DEFAULT_MESSAGE_LIMITS.inboxBytes,
  ) {}

  /** Adds an item; returns how many old items were dropped to make room. */
  push(item: InboxItem): number {
    this.items.push(item);
    this.bytes += sizeOf(item);
    let dropped = 0;
    while (this.items.length > this.maxItems || (this.bytes > this.maxBytes && this.items.length > 1)) {
      const old = this.items.shift()!;
      this.bytes -= sizeOf(old);
      dropped++;
    }
    this.dropped += dropped;
    this.wake();
    return dropped;
  }

  /** Takes up to `max` items, waiting up to `waitMs` for the first one. */
  take(max: number, waitMs: number): Promise<InboxItem[]> {
    const n = Math.max(1, Math.min(max, MAX_READ_BATCH));
    if (this.items.length > 0 || waitMs <= 0) return Promise.resolve(this.drain(n));
    if (this.waiters.size >= MAX_WAITERS_PER_PLUGIN) return Promise.reject(new HostError('HOST_ERR_TOO_MANY_WAITERS'));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        max: n,
        resolve,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          resolve([]);
        }, waitMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Resolves every waiter with nothing (shutdown or client gone). */
  cancelWaiters(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.resolve([]);
    }
    this.waiters.clear();
  }

  get size(): number {
    return this.items.length;
  }

  private drain(n: number): InboxItem[] {
    const out = this.items.splice(0, n);
    for (const item of out) this.bytes -= sizeOf(item);
    return out;
  }

  private wake(): void {
    for (const w of this.waiters) {
      if (this.items.length === 0) return;
      clearTimeout(w.timer);
      this.waiters.delete(w);
      w.resolve(this.drain(w.max));
    }
  }
}
