/**
 * The replay guard: remembers the (sender, nonce) pair of every accepted envelope within the
 * timestamp window, so nothing accepted once is accepted again, also after a restart.
 *
 * Memory is bounded, so pairs must sometimes be forgotten; a forgotten pair is covered by a
 * floor (everything at or below it is refused as stale). Version 1 kept one global floor, so a
 * stranger filling the guard with envelopes dated now+290 s made every peer's next message
 * stale for five minutes. This version holds three rules instead:
 *
 * 1. State is per sender: each sender has its own pairs and its own floor, and only that
 *    sender's own budget overflow raises its floor. One sender cannot age another's pairs out.
 * 2. Senders live in two pools with separate budgets: `trusted` (what `isTrusted` says: the
 *    keys the local user chose) and `untrusted` (everyone else; callers only let consent
 *    requests reach the guard from them). A pool is full only of its own senders, and a pool's
 *    floor (raised when a whole idle sender is forgotten) applies only to that pool's senders
 *    without state. Nothing an untrusted key sends changes how a trusted sender is judged.
 * 3. No floor ever rises above the current time: only pairs dated at or before `now` are
 *    forgotten. When a sender (or a pool) holds nothing forgettable, the new envelope is refused
 *    with PROTO_ERR_REPLAY_BUDGET and not recorded: the flooder waits, nobody else does.
 */
import { toBase64url } from './bytes.js';
import {
  DEFAULT_REPLAY_TRUSTED_MAX_ENTRIES_PER_SENDER,
  DEFAULT_REPLAY_TRUSTED_MAX_SENDERS,
  DEFAULT_REPLAY_UNTRUSTED_MAX_ENTRIES_PER_SENDER,
  DEFAULT_REPLAY_UNTRUSTED_MAX_SENDERS,
  DEFAULT_TIMESTAMP_WINDOW_MS,
} from './constants.js';
import { ProtocolError } from './errors.js';

/** How far the window must advance before expired entries are swept, ms. */
const REPLAY_GUARD_PRUNE_INTERVAL_MS = 1000;

/** Version of the persisted form written by `snapshot()`. */
export const REPLAY_GUARD_STATE_VERSION = 2;

export type ReplayPoolName = 'trusted' | 'untrusted';

/** One sender in a persisted pool: [sender key (base64url), sender floor, [nonce (base64url), timestamp ms][]]. */
export type ReplaySenderState = readonly [string, number, ReadonlyArray<readonly [string, number]>];

/** Persisted form of a guard (version 2): JSON-safe. */
export interface ReplayGuardState {
  readonly version: 2;
  readonly trusted: ReplayPoolState;
  readonly untrusted: ReplayPoolState;
}
export interface ReplayPoolState {
  /** Senders of this pool without state are refused at or below this timestamp, ms. */
  readonly floor: number;
  /** Least recently accepted first. */
  readonly senders: readonly ReplaySenderState[];
}
/** The format version 1 wrote: one global floor. Still read (and migrated) by `restore`. */
export interface ReplayGuardStateV1 {
  readonly version: 1;
  readonly floor: number;
  readonly entries: ReadonlyArray<readonly [string, number]>;
}

export interface ReplayPoolBudget {
  /** Senders with state at once, senders. */
  readonly maxSenders: number;
  /** Pairs remembered per sender, entries. */
  readonly maxEntriesPerSender: number;
}

export interface ReplayGuardOptions {
  /** The timestamp window the verifier applies, ms; older entries are pruned. */
  windowMs?: number;
  /**
   * Which pool a sender (base64url public key) belongs to, asked at every check: true for the
   * keys the local user chose. Default: every sender is trusted (one pool), which suits callers
   * that only open envelopes from known keys. A caller that opens envelopes from strangers must
   * pass this, or strangers share the trusted budget.
   */
  isTrusted?: (senderKey: string) => boolean;
  trusted?: Partial<ReplayPoolBudget>;
  untrusted?: Partial<ReplayPoolBudget>;
  /** Persistence hook: called for every accepted pair, so a store can append it durably. */
  onAccept?: (senderKey: string, nonce: string, timestamp: number) => void;
}

interface SenderState {
  /** This sender's pairs at or below this timestamp are refused (forgotten ones are), ms. */
  floor: number;
  /** Largest timestamp among `entries`, ms. */
  newest: number;
  /** Entries were accepted in timestamp order (the usual case): the oldest is the first. */
  sorted: boolean;
  /** nonce (base64url) → timestamp ms, in acceptance order. */
  readonly entries: Map<string, number>;
}

class SenderPool {
  /** sender key → state; least recently accepted first. */
  readonly senders = new Map<string, SenderState>();
  floor = -1;
  constructor(
    readonly name: ReplayPoolName,
    readonly budget: ReplayPoolBudget,
  ) {}

  /** Forget the least recently active sender whose pairs are all dated at or before `now`. */
  evictSender(now: number): boolean {
    for (const [key, s] of this.senders) {
      if (s.newest > now) continue;
      this.senders.delete(key);
      if (s.newest > this.floor) this.floor = s.newest;
      return true;
    }
    return false;
  }
}

function checkBudget(b: Partial<ReplayPoolBudget> | undefined, dflt: ReplayPoolBudget, name: string): ReplayPoolBudget {
  const out = { ...dflt, ...b };
  for (const [k, v] of Object.entries(out))
    if (!Number.isInteger(v) || v < 1)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `${name}.${k} must be a positive integer`);
  return out;
}

/**
 * @example
 *   const guard = new ReplayGuard({ isTrusted: (key) => trust.get(key)?.state === 'trusted' });
 *   openEnvelope(suite, bytes, { recipient: me, replayGuard: guard });
 */
export class ReplayGuard {
  readonly #trusted: SenderPool;
  readonly #untrusted: SenderPool;
  readonly #windowMs: number;
  readonly #isTrusted: (senderKey: string) => boolean;
  readonly #onAccept: ReplayGuardOptions['onAccept'];
  /** Everything at or below now - windowMs is refused anyway; updated by the prune sweep, ms. */
  #cutoff = -1;

  constructor(opts: ReplayGuardOptions = {}) {
    this.#windowMs = opts.windowMs ?? DEFAULT_TIMESTAMP_WINDOW_MS;
    if (!Number.isInteger(this.#windowMs) || this.#windowMs < 0)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'windowMs must be a non-negative integer');
    this.#isTrusted = opts.isTrusted ?? (() => true);
    this.#onAccept = opts.onAccept;
    this.#trusted = new SenderPool(
      'trusted',
      checkBudget(
        opts.trusted,
        {
          maxSenders: DEFAULT_REPLAY_TRUSTED_MAX_SENDERS,
          maxEntriesPerSender: DEFAULT_REPLAY_TRUSTED_MAX_ENTRIES_PER_SENDER,
        },
        'trusted',
      ),
    );
    this.#untrusted = new SenderPool(
      'untrusted',
      checkBudget(
        opts.untrusted,
        {
          maxSenders: DEFAULT_REPLAY_UNTRUSTED_MAX_SENDERS,
          maxEntriesPerSender: DEFAULT_REPLAY_UNTRUSTED_MAX_ENTRIES_PER_SENDER,
        },
        'untrusted',
      ),
    );
  }

  /**
   * Rebuild a guard from `snapshot()` output. Version 1 state (one global floor) is migrated:
   * its pairs are kept, its floor is capped at `now` (a v1 floor in the future can only come
   * from the poisoning this version fixes) and applied to every sender, so nothing v1 forgot
   * can come back. Any other version throws PROTO_ERR_BAD_VERSION; a malformed state
   * PROTO_ERR_BAD_ENCODING.
   */
  static restore(state: unknown, opts: ReplayGuardOptions = {}, now: number = Date.now()): ReplayGuard {
    const guard = new ReplayGuard(opts);
    const s = state as Record<string, unknown> | null;
    if (typeof s !== 'object' || s === null) throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'replay guard state');
    if (s.version === 1) {
      const v1 = s as unknown as ReplayGuardStateV1;
      if (!Array.isArray(v1.entries) || typeof v1.floor !== 'number')
        throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'replay guard state v1');
      const floor = Math.min(v1.floor, now);
      guard.#trusted.floor = floor;
      guard.#untrusted.floor = floor;
      for (const e of v1.entries) {
        if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number')
          throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'replay guard v1 entry');
        const dot = e[0].indexOf('.');
        if (dot <= 0) throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'replay guard v1 entry id');
        guard.replay(e[0].slice(0, dot), e[0].slice(dot + 1), e[1], now);
      }
      return guard;
    }
    if (s.version !== REPLAY_GUARD_STATE_VERSION)
      throw new ProtocolError(
        'PROTO_ERR_BAD_VERSION',
        `replay guard state version ${String(s.version)} (this build reads 1 and ${REPLAY_GUARD_STATE_VERSION})`,
      );
    for (const name of ['trusted', 'untrusted'] as const) {
      const p = s[name] as Record<string, unknown> | undefined;
      if (typeof p !== 'object' || p === null || typeof p.floor !== 'number' || !Array.isArray(p.senders))
        throw new ProtocolError('PROTO_ERR_BAD_ENCODING', `replay guard pool ${name}`);
      const pool = name === 'trusted' ? guard.#trusted : guard.#untrusted;
      // A restored floor keeps the no-floor-in-the-future rule, whatever the file says.
      pool.floor = Math.min(p.floor, now);
      for (const sender of p.senders as unknown[]) {
        if (
          !Array.isArray(sender) ||
          typeof sender[0] !== 'string' ||
          typeof sender[1] !== 'number' ||
          !Array.isArray(sender[2])
        )
          throw new ProtocolError('PROTO_ERR_BAD_ENCODING', `replay guard sender in ${name}`);
        for (const e of sender[2] as unknown[]) {
          if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number')
            throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'replay guard entry');
          guard.replay(sender[0], e[0], e[1], now, Math.min(sender[1], now));
        }
      }
    }
    return guard;
  }

  /**
   * Re-apply one persisted accept (from a snapshot or an append log), in its original order.
   * It goes to the pool `isTrusted` names now. A pair that no longer fits (its sender changed
   * pools, and the new pool's budget is full of pairs dated after `now`) is dropped: only
   * pool moves the local user made can cause that.
   */
  replay(senderKey: string, nonce: string, timestamp: number, now: number = Date.now(), senderFloor?: number): void {
    const pool = this.#isTrusted(senderKey) ? this.#trusted : this.#untrusted;
    let s = pool.senders.get(senderKey);
    if (!s) {
      if (pool.senders.size >= pool.budget.maxSenders && !pool.evictSender(now)) return;
      // A sender from a snapshot keeps its own floor; one first seen in the log starts where
      // any sender without state starts: at its pool's floor.
      s = { floor: senderFloor ?? pool.floor, newest: -1, sorted: true, entries: new Map() };
      pool.senders.set(senderKey, s);
    } else if (senderFloor !== undefined && senderFloor > s.floor) s.floor = senderFloor;
    if (timestamp <= s.floor || s.entries.has(nonce)) return;
    if (!this.#makeRoom(s, pool, timestamp, now)) return;
    this.#record(pool, senderKey, s, nonce, timestamp);
  }

  /** The timestamp window this guard covers, ms; verifiers must not accept a wider one. */
  get windowMs(): number {
    return this.#windowMs;
  }

  /** Pairs remembered, entries (both pools). */
  get size(): number {
    let n = 0;
    for (const pool of [this.#trusted, this.#untrusted]) for (const s of pool.senders.values()) n += s.entries.size;
    return n;
  }

  /** Senders with state per pool, for status and tests. */
  get senders(): { trusted: number; untrusted: number } {
    return { trusted: this.#trusted.senders.size, untrusted: this.#untrusted.senders.size };
  }

  /**
   * Throws PROTO_ERR_REPLAY, PROTO_ERR_STALE or PROTO_ERR_REPLAY_BUDGET; otherwise remembers
   * the pair (and tells `onAccept`).
   */
  checkAndRecord(sender: Uint8Array, nonce: Uint8Array, timestamp: number, now: number = Date.now()): void {
    this.#prune(now);
    if (timestamp <= this.#cutoff)
      throw new ProtocolError('PROTO_ERR_STALE', `timestamp ${timestamp} <= ${this.#cutoff}`);
    const senderKey = toBase64url(sender);
    const nonceKey = toBase64url(nonce);
    const pool = this.#isTrusted(senderKey) ? this.#trusted : this.#untrusted;
    const other = pool === this.#trusted ? this.#untrusted : this.#trusted;
    let s = pool.senders.get(senderKey);
    let moved: SenderState | undefined;
    if (!s) {
      // A sender that changed pools (consent given or revoked) keeps its pairs and floor.
      moved = other.senders.get(senderKey);
      const floor = moved ? moved.floor : pool.floor;
      if (timestamp <= floor) throw new ProtocolError('PROTO_ERR_STALE', `timestamp ${timestamp} <= ${floor}`);
      if (moved?.entries.has(nonceKey)) throw new ProtocolError('PROTO_ERR_REPLAY');
      if (pool.senders.size >= pool.budget.maxSenders && !pool.evictSender(now))
        throw new ProtocolError('PROTO_ERR_REPLAY_BUDGET', `${pool.name} senders`);
      if (moved) other.senders.delete(senderKey);
      s = moved ?? { floor, newest: -1, sorted: true, entries: new Map() };
      pool.senders.set(senderKey, s);
    } else {
      if (timestamp <= s.floor) throw new ProtocolError('PROTO_ERR_STALE', `timestamp ${timestamp} <= ${s.floor}`);
      if (s.entries.has(nonceKey)) throw new ProtocolError('PROTO_ERR_REPLAY');
    }
    if (!this.#makeRoom(s, pool, timestamp, now)) {
      if (s.entries.size === 0) pool.senders.delete(senderKey);
      throw new ProtocolError(
        timestamp <= s.floor ? 'PROTO_ERR_STALE' : 'PROTO_ERR_REPLAY_BUDGET',
        `${pool.name} sender holds ${s.entries.size} pairs`,
      );
    }
    this.#record(pool, senderKey, s, nonceKey, timestamp);
    this.#onAccept?.(senderKey, nonceKey, timestamp);
  }

  snapshot(): ReplayGuardState {
    const pool = (p: SenderPool): ReplayPoolState => ({
      floor: p.floor,
      senders: [...p.senders].map(([key, s]): ReplaySenderState => [key, s.floor, [...s.entries]]),
    });
    return { version: REPLAY_GUARD_STATE_VERSION, trusted: pool(this.#trusted), untrusted: pool(this.#untrusted) };
  }

  /**
   * Make room for one more pair of sender `s`: while it is at its budget, forget its oldest pair
   * dated at or before `now` and raise its own floor to it. False when that is impossible, or
   * when the new pair would itself be the oldest (then it is refused, not recorded: the floor
   * already covers it).
   */
  #makeRoom(s: SenderState, pool: SenderPool, timestamp: number, now: number): boolean {
    // Bounded: each round removes one entry.
    while (s.entries.size >= pool.budget.maxEntriesPerSender) {
      let oldest: [string, number] | undefined;
      if (s.sorted) {
        // O(1) for in-order senders; if the first is in the future, so are all the others.
        const first = s.entries.entries().next().value as [string, number];
        if (first[1] <= now) oldest = first;
      } else {
        let inOrder = true;
        let last = -Infinity;
        for (const e of s.entries) {
          if (e[1] <= now && (!oldest || e[1] < oldest[1])) oldest = e;
          if (e[1] < last) inOrder = false;
          last = e[1];
        }
        s.sorted = inOrder;
      }
      if (!oldest) return false;
      s.entries.delete(oldest[0]);
      if (oldest[1] > s.floor) s.floor = oldest[1];
      if (timestamp <= s.floor) return false;
    }
    return true;
  }

  #record(pool: SenderPool, senderKey: string, s: SenderState, nonce: string, timestamp: number): void {
    s.entries.set(nonce, timestamp);
    if (timestamp < s.newest) s.sorted = false;
    else s.newest = timestamp;
    // Most recently accepted last: idle senders are the ones forgotten first.
    pool.senders.delete(senderKey);
    pool.senders.set(senderKey, s);
  }

  // Pairs older than the window can go: the timestamp check refuses them anyway, and the
  // cutoff makes sure of it even if a caller used a wider window.
  #prune(now: number): void {
    const cutoff = now - this.#windowMs;
    // At most once per REPLAY_GUARD_PRUNE_INTERVAL_MS; O(senders + pairs removed), since each
    // sender's pairs are scanned in acceptance order and the scan stops at the first live one.
    // A late pair hiding behind a newer one stays until its sender's budget evicts it.
    if (cutoff - this.#cutoff < REPLAY_GUARD_PRUNE_INTERVAL_MS) return;
    this.#cutoff = cutoff;
    for (const pool of [this.#trusted, this.#untrusted]) {
      for (const [key, s] of pool.senders) {
        if (s.newest <= cutoff) {
          pool.senders.delete(key);
          continue;
        }
        for (const [nonce, ts] of s.entries) {
          if (ts > cutoff) break;
          s.entries.delete(nonce);
        }
      }
    }
  }
}
