import { toBase64url } from './bytes.js';
import { DEFAULT_REPLAY_GUARD_MAX_ENTRIES, DEFAULT_TIMESTAMP_WINDOW_MS } from './constants.js';
import { ProtocolError } from './errors.js';

/** How far the window must advance before expired entries are swept, ms. */
const REPLAY_GUARD_PRUNE_INTERVAL_MS = 1000;

/** Persisted form of a guard: JSON-safe. */
export interface ReplayGuardState {
  readonly version: 1;
  /** Every envelope with timestamp <= floor is rejected as stale. */
  readonly floor: number;
  /** [sender‖nonce id, timestamp ms] pairs still inside the window. */
  readonly entries: ReadonlyArray<readonly [string, number]>;
}

export interface ReplayGuardOptions {
  /** Bound on remembered pairs (entries). Default 100,000. */
  maxEntries?: number;
  /** The timestamp window the verifier applies, ms; older entries are pruned. */
  windowMs?: number;
  /** Persistence hook: called for every accepted pair, so a store can append it durably. */
  onAccept?: (id: string, timestamp: number) => void;
}

/**
 * Remembers (sender, nonce) pairs of accepted envelopes within the timestamp window.
 * Bounded: when full, the oldest pair is evicted and the `floor` rises to its timestamp, so
 * anything that old is refused as stale rather than silently forgotten. Nothing that was
 * accepted can ever be accepted again, across restarts, as long as the state is restored.
 */
export class ReplayGuard {
  readonly #entries = new Map<string, number>();
  readonly #maxEntries: number;
  readonly #windowMs: number;
  readonly #onAccept: ((id: string, timestamp: number) => void) | undefined;
  #floor = -1;

  constructor(opts: ReplayGuardOptions = {}) {
    this.#maxEntries = opts.maxEntries ?? DEFAULT_REPLAY_GUARD_MAX_ENTRIES;
    this.#windowMs = opts.windowMs ?? DEFAULT_TIMESTAMP_WINDOW_MS;
    this.#onAccept = opts.onAccept;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'maxEntries must be a positive integer');
  }

  static restore(state: ReplayGuardState, opts: ReplayGuardOptions = {}): ReplayGuard {
    const guard = new ReplayGuard(opts);
    if (state?.version !== 1 || !Array.isArray(state.entries) || typeof state.floor !== 'number')
      throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'replay guard state');
    guard.#floor = state.floor;
    for (const entry of state.entries) {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number')
        throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'replay guard entry');
      guard.#insert(entry[0], entry[1]);
    }
    return guard;
  }

  /** Re-apply one persisted accept (from an append log). */
  replay(id: string, timestamp: number): void {
    if (timestamp > this.#floor && !this.#entries.has(id)) this.#insert(id, timestamp);
  }

  /** The timestamp window this guard covers, ms; verifiers must not accept a wider one. */
  get windowMs(): number {
    return this.#windowMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  static id(sender: Uint8Array, nonce: Uint8Array): string {
    return toBase64url(sender) + '.' + toBase64url(nonce);
  }

  /** Throws PROTO_ERR_REPLAY or PROTO_ERR_STALE; otherwise remembers the pair. */
  checkAndRecord(sender: Uint8Array, nonce: Uint8Array, timestamp: number, now: number = Date.now()): void {
    this.#prune(now);
    if (timestamp <= this.#floor)
      throw new ProtocolError('PROTO_ERR_STALE', `timestamp ${timestamp} <= ${this.#floor}`);
    const id = ReplayGuard.id(sender, nonce);
    if (this.#entries.has(id)) throw new ProtocolError('PROTO_ERR_REPLAY');
    this.#insert(id, timestamp);
    this.#onAccept?.(id, timestamp);
  }

  snapshot(): ReplayGuardState {
    return { version: 1, floor: this.#floor, entries: [...this.#entries] };
  }

  #insert(id: string, timestamp: number): void {
    while (this.#entries.size >= this.#maxEntries) {
      const [oldestId, oldestTs] = this.#entries.entries().next().value as [string, number];
      this.#entries.delete(oldestId);
      if (oldestTs > this.#floor) this.#floor = oldestTs;
    }
    this.#entries.set(id, timestamp);
  }

  // Entries older than the window can go: the timestamp check refuses them anyway, and the
  // floor makes sure of it even if a caller used a wider window.
  #prune(now: number): void {
    const cutoff = now - this.#windowMs;
    // Scanning is O(entries): do it at most once per REPLAY_GUARD_PRUNE_INTERVAL_MS.
    if (cutoff - this.#floor < REPLAY_GUARD_PRUNE_INTERVAL_MS) return;
    for (const [id, ts] of this.#entries) {
      if (ts <= cutoff) this.#entries.delete(id);
    }
    this.#floor = cutoff;
  }
}
