import { PENDING_CONSENT_MAX, PENDING_CONSENT_TTL_MS } from '../constants.js';

export interface PendingConsentsOptions {
  /** Requests kept at once, requests; default PENDING_CONSENT_MAX. */
  readonly max?: number;
  /** A request is dropped this long after it arrived, ms (read at each use); default PENDING_CONSENT_TTL_MS. */
  readonly ttlMs?: () => number;
  readonly now?: () => number;
}

/**
 * The consent requests waiting for the local user: bounded, expiring, and fair under pressure.
 *
 * - One entry per key (a resend is the same request), and a resend does not refresh it: a
 *   stranger's client re-asks every CONSENT_RETRY_MS on its own, so refreshing would let any
 *   live requester hold its slot for ever.
 * - Each entry expires `ttlMs` after it arrived; a requester still waiting asks again and is
 *   listed anew (with a new request id).
 * - When the list is full, expired entries go first, then the oldest. The newest request is
 *   always listed, so no set of earlier requests can lock out a real peer (on a9e1cb0, 64
 *   strangers did so for good). Since new prompts pass the consent rate limit first
 *   (CONSENT_RATE_GLOBAL per CONSENT_RATE_WINDOW_MS, however many keys send), every request
 *   stays listed at least PENDING_CONSENT_MAX / CONSENT_RATE_GLOBAL windows (6.4 min by
 *   default) or until its TTL, whichever is first, whatever an attacker sends.
 *
 * Keys are the only identity a stranger has here (relayed envelopes carry no address), so
 * there is no other "source" to share slots by.
 */
export class PendingConsents<T extends { readonly key: string; readonly requestId: string }> {
  /** key → entry and arrival time (ms); oldest first. */
  readonly #entries = new Map<string, { entry: T; at: number }>();
  readonly #max: number;
  readonly #ttlMs: () => number;
  readonly #now: () => number;

  constructor(opts: PendingConsentsOptions = {}) {
    this.#max = opts.max ?? PENDING_CONSENT_MAX;
    this.#ttlMs = opts.ttlMs ?? (() => PENDING_CONSENT_TTL_MS);
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    this.#sweep();
    return this.#entries.size;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  get(key: string): T | undefined {
    this.#sweep();
    return this.#entries.get(key)?.entry;
  }

  /** By key or request id. */
  find(ref: string): T | undefined {
    this.#sweep();
    const byKey = this.#entries.get(ref);
    if (byKey) return byKey.entry;
    for (const { entry } of this.#entries.values()) if (entry.requestId === ref) return entry;
    return undefined;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Oldest first. */
  list(): T[] {
    this.#sweep();
    return [...this.#entries.values()].map((e) => e.entry);
  }

  /** List a new request (its key must not be listed); returns the one evicted to make room, if any. */
  add(entry: T): T | undefined {
    this.#sweep();
    this.#entries.delete(entry.key);
    let evicted: T | undefined;
    if (this.#entries.size >= this.#max) {
      const [oldestKey, oldest] = this.#entries.entries().next().value as [string, { entry: T }];
      this.#entries.delete(oldestKey);
      evicted = oldest.entry;
    }
    this.#entries.set(entry.key, { entry, at: this.#now() });
    return evicted;
  }

  // Entries are in arrival order, so the expired ones are a prefix: O(expired).
  #sweep(): void {
    const cutoff = this.#now() - this.#ttlMs();
    for (const [key, e] of this.#entries) {
      if (e.at > cutoff) break;
      this.#entries.delete(key);
    }
  }
}
