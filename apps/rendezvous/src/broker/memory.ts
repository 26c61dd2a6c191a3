/**
 * In-process broker: one instance (or several instances in one process sharing a MemoryBus,
 * which the contract tests use). Every map is bounded: presence by connected keys (each key
 * is one connection, bounded by MAX_CONNECTIONS), mailboxes by MAILBOX_MAX_KEYS and, in bytes,
 * by the total budget (MAILBOX_TOTAL_MAX_BYTES), counters by COUNTER_MAX_ENTRIES, prekey
 * bundles by PREKEY_STORE_MAX_KEYS.
 */
import { INVITE_USES_MAX_ENTRIES, MAILBOX_ITEM_OVERHEAD_BYTES, PREKEY_STORE_MAX_KEYS } from '../constants.js';
import {
  type Broker,
  type ClaimAndTake,
  comparePrekeyBundles,
  type MailboxLimits,
  type MailboxPushResult,
  mailboxDedupeKey,
  mailboxPacketReadable,
  mailboxSender,
  type PrekeyPutResult,
} from './broker.js';

/** Distinct rate-limit counters held at once, entries; the oldest window is evicted first. */
export const COUNTER_MAX_ENTRIES = 100_000;

/** Least time between two full sweeps of expired envelopes (run only when the budget is reached), ms. */
const BUDGET_SWEEP_MIN_INTERVAL_MS = 1_000;

interface MailItem {
  at: number;
  env: Buffer;
  /** Sender key as latin1 (the per-sender share's key). */
  sender: string;
  /** Sender key ‖ message id as latin1 (the dedupe key, see mailboxDedupeKey). */
  id: string;
}

interface Mailbox {
  items: MailItem[];
  bytes: number;
  /** Per sender: envelopes and bytes held. Entries leave with their last envelope. */
  senders: Map<string, { n: number; bytes: number }>;
  /** (sender, message id) → the item holding it: at most one entry per item, gone with it. */
  ids: Map<string, MailItem>;
}

/** What an envelope costs the total budget, accounted bytes. */
function cost(env: Buffer): number {
  return env.length + MAILBOX_ITEM_OVERHEAD_BYTES;
}

/** Shared state of the memory brokers of one process. */
export class MemoryBus {
  readonly presence = new Map<string, { claim: string; expires: number }>();
  readonly mailboxes = new Map<string, Mailbox>();
  readonly counters = new Map<string, number>();
  readonly sets = new Map<string, Set<string>>();
  /** Redeemed single-use invites: id → holder key and expiry (ms); at most INVITE_USES_MAX_ENTRIES. */
  readonly inviteUses = new Map<string, { holder: string; expires: number }>();
  readonly channels = new Map<string, (batch: Buffer) => void>();
  /** Instance-link addresses by instance id (one per instance of the process). */
  readonly linkAddrs = new Map<string, { addr: string; expires: number }>();
  /** Prekey bundles by owner key: at most PREKEY_STORE_MAX_KEYS; the soonest to expire goes first. */
  readonly prekeys = new Map<string, { bundle: Buffer; expires: number }>();
  /** Accounted bytes of every mailbox (envelope + MAILBOX_ITEM_OVERHEAD_BYTES each). */
  mailboxBytes = 0;
  lastBudgetSweep = 0;
  constructor(readonly maxMailboxKeys: number) {}
}

export class MemoryBroker implements Broker {
  readonly kind = 'memory';
  readonly bus: MemoryBus;
  private instanceId: string | null = null;

  constructor(opts: { maxMailboxKeys: number; bus?: MemoryBus }) {
    this.bus = opts.bus ?? new MemoryBus(opts.maxMailboxKeys);
  }

  isReady(): boolean {
    return true;
  }
  onReadyChange(): void {}

  async start(instanceId: string, onBatch: (batch: Buffer) => void): Promise<void> {
    this.instanceId = instanceId;
    this.bus.channels.set(instanceId, onBatch);
  }

  async stop(): Promise<void> {
    if (this.instanceId !== null) this.bus.channels.delete(this.instanceId);
    this.instanceId = null;
  }

  async claim(key: string, claimValue: string, ttlMs: number): Promise<string | null> {
    const prev = this.live(key);
    this.bus.presence.set(key, { claim: claimValue, expires: Date.now() + ttlMs });
    return prev;
  }

  async claimAndTake(key: string, claimValue: string, ttlMs: number, now: number): Promise<ClaimAndTake> {
    const prev = await this.claim(key, claimValue, ttlMs);
    return { prev, mail: await this.mailboxTake(key, now) };
  }

  async release(key: string, claimValue: string): Promise<void> {
    if (this.bus.presence.get(key)?.claim === claimValue) this.bus.presence.delete(key);
  }

  async linkAnnounce(instanceId: string, addr: string, ttlMs: number): Promise<void> {
    this.bus.linkAddrs.set(instanceId, { addr, expires: Date.now() + ttlMs });
  }

  async linkWithdraw(instanceId: string, addr: string): Promise<void> {
    if (this.bus.linkAddrs.get(instanceId)?.addr === addr) this.bus.linkAddrs.delete(instanceId);
  }

  async linkLookup(instanceId: string): Promise<string | null> {
    const e = this.bus.linkAddrs.get(instanceId);
    if (e === undefined) return null;
    if (e.expires <= Date.now()) {
      this.bus.linkAddrs.delete(instanceId);
      return null;
    }
    return e.addr;
  }

  async lookup(key: string): Promise<string | null> {
    return this.live(key);
  }

  async refresh(entries: ReadonlyArray<readonly [string, string]>, ttlMs: number): Promise<void> {
    const expires = Date.now() + ttlMs;
    for (const [key, claim] of entries) {
      const p = this.bus.presence.get(key);
      if (p && p.claim === claim) p.expires = expires;
      else if (!p) this.bus.presence.set(key, { claim, expires });
    }
  }

  private live(key: string): string | null {
    const p = this.bus.presence.get(key);
    if (!p) return null;
    if (p.expires <= Date.now()) {
      this.bus.presence.delete(key);
      return null;
    }
    return p.claim;
  }

  publish(instanceId: string, batch: Buffer): void {
    const target = this.bus.channels.get(instanceId);
    // Delivered on a later tick, like a real channel, so callers never re-enter themselves.
    if (target) setImmediate(target, batch);
  }

  async mailboxPush(key: string, envelope: Buffer, limits: MailboxLimits, now: number): Promise<MailboxPushResult> {
    if (!mailboxPacketReadable(envelope)) return 'full';
    let box = this.bus.mailboxes.get(key);
    if (box) this.expire(box, now);
    // A copy already held (a resend) is answered as queued before any limit: it is stored.
    const id = mailboxDedupeKey(envelope);
    const held = box?.ids.get(id);
    if (held !== undefined && held.at > now) return 'duplicate';
    if (box && (box.items.length >= limits.maxMessages || box.bytes + envelope.length > limits.maxBytes)) return 'full';
    const sender = mailboxSender(envelope);
    const share = box?.senders.get(sender);
    if (
      share !== undefined &&
      (share.n >= limits.maxMessagesPerSender || share.bytes + envelope.length > limits.maxBytesPerSender)
    )
      return 'sender_full';
    if (this.bus.mailboxBytes + cost(envelope) > limits.totalMaxBytes) {
      // Mailboxes nobody pushes to again keep their expired envelopes until their recipient
      // connects: sweep them all before refusing (at most once a second, it is O(envelopes)).
      if (now - this.bus.lastBudgetSweep < BUDGET_SWEEP_MIN_INTERVAL_MS) return 'budget';
      this.bus.lastBudgetSweep = now;
      for (const [k, b] of this.bus.mailboxes) {
        this.expire(b, now);
        if (b.items.length === 0) this.bus.mailboxes.delete(k);
      }
      if (this.bus.mailboxBytes + cost(envelope) > limits.totalMaxBytes) return 'budget';
      box = this.bus.mailboxes.get(key);
    }
    if (!box) {
      if (this.bus.mailboxes.size >= this.bus.maxMailboxKeys) return 'full';
      box = { items: [], bytes: 0, senders: new Map(), ids: new Map() };
      this.bus.mailboxes.set(key, box);
    }
    // Copy: the caller's buffer may be a view into a larger socket read.
    this.add(box, { at: now + limits.ttlMs, env: Buffer.from(envelope), sender, id }, false);
    return 'queued';
  }

  async mailboxRestore(key: string, envelopes: readonly Buffer[], limits: MailboxLimits, now: number): Promise<void> {
    if (envelopes.length === 0) return;
    let box = this.bus.mailboxes.get(key);
    if (!box) {
      // Over MAILBOX_MAX_KEYS only by the few recipients whose delivery was cut short.
      box = { items: [], bytes: 0, senders: new Map(), ids: new Map() };
      this.bus.mailboxes.set(key, box);
    }
    for (let i = envelopes.length - 1; i >= 0; i--) {
      const env = envelopes[i]!;
      if (!mailboxPacketReadable(env)) continue;
      this.add(box, { at: now + limits.ttlMs, env, sender: mailboxSender(env), id: mailboxDedupeKey(env) }, true);
    }
  }

  private add(box: Mailbox, item: MailItem, atHead: boolean): void {
    if (atHead) box.items.unshift(item);
    else box.items.push(item);
    box.bytes += item.env.length;
    box.ids.set(item.id, item);
    const share = box.senders.get(item.sender);
    if (share === undefined) box.senders.set(item.sender, { n: 1, bytes: item.env.length });
    else {
      share.n++;
      share.bytes += item.env.length;
    }
    this.bus.mailboxBytes += cost(item.env);
  }

  private remove(box: Mailbox, item: MailItem): void {
    box.bytes -= item.env.length;
    if (box.ids.get(item.id) === item) box.ids.delete(item.id);
    const share = box.senders.get(item.sender);
    if (share !== undefined) {
      share.n--;
      share.bytes -= item.env.length;
      if (share.n <= 0) box.senders.delete(item.sender);
    }
    this.bus.mailboxBytes -= cost(item.env);
  }

  /** Drop expired envelopes. A restored envelope at the head may outlive later ones: stop at the first live one. */
  private expire(box: Mailbox, now: number): void {
    while (box.items.length > 0 && box.items[0]!.at <= now) this.remove(box, box.items.shift()!);
  }

  async mailboxTake(key: string, now: number): Promise<Buffer[]> {
    const box = this.bus.mailboxes.get(key);
    if (!box) return [];
    this.bus.mailboxes.delete(key);
    for (const i of box.items) this.bus.mailboxBytes -= cost(i.env);
    return box.items.filter((i) => i.at > now).map((i) => i.env);
  }

  /** Envelopes and recipients currently held (for the mailbox-depth metric). */
  mailboxStats(): { keys: number; messages: number } {
    let messages = 0;
    for (const b of this.bus.mailboxes.values()) messages += b.items.length;
    return { keys: this.bus.mailboxes.size, messages };
  }

  async prekeyPut(key: string, bundle: Buffer, ttlMs: number, now: number): Promise<PrekeyPutResult> {
    const store = this.bus.prekeys;
    const held = store.get(key);
    if (held !== undefined && held.expires > now && comparePrekeyBundles(bundle, held.bundle) < 0) return 'stale';
    if (held === undefined && store.size >= PREKEY_STORE_MAX_KEYS) this.evictPrekey(now);
    store.set(key, { bundle, expires: now + ttlMs }); // the caller's own copy (Broker.prekeyPut)
    return 'stored';
  }

  /**
   * Make room for one bundle: drop every expired one, or else the one that expires soonest
   * (its owner republishes before then anyway). O(bundles), only when the store is full.
   */
  private evictPrekey(now: number): void {
    const store = this.bus.prekeys;
    let soonest: string | null = null;
    let soonestAt = Number.POSITIVE_INFINITY;
    for (const [k, v] of store) {
      if (v.expires <= now) store.delete(k);
      else if (v.expires < soonestAt) {
        soonest = k;
        soonestAt = v.expires;
      }
    }
    if (store.size >= PREKEY_STORE_MAX_KEYS && soonest !== null) store.delete(soonest);
  }

  async prekeyGet(key: string, now: number): Promise<Buffer | null> {
    const held = this.bus.prekeys.get(key);
    if (held === undefined) return null;
    if (held.expires <= now) {
      this.bus.prekeys.delete(key);
      return null;
    }
    return held.bundle;
  }

  async hit(name: string, windowMs: number, now: number): Promise<number> {
    const k = `${name}@${Math.floor(now / windowMs)}`;
    const n = (this.bus.counters.get(k) ?? 0) + 1;
    if (n === 1 && this.bus.counters.size >= COUNTER_MAX_ENTRIES) {
      const oldest = this.bus.counters.keys().next().value;
      if (oldest !== undefined) this.bus.counters.delete(oldest);
    }
    this.bus.counters.set(k, n);
    return n;
  }

  async isMember(setKey: string, member: string): Promise<boolean> {
    return this.bus.sets.get(setKey)?.has(member) ?? false;
  }

  async redeemInvite(id: string, holder: string, expiresAt: number, now: number): Promise<boolean> {
    const uses = this.bus.inviteUses;
    const used = uses.get(id);
    if (used !== undefined && used.expires > now) return used.holder === holder;
    if (used === undefined && uses.size >= INVITE_USES_MAX_ENTRIES) {
      for (const [k, u] of uses) if (u.expires <= now) uses.delete(k);
      // Forgetting a live redemption would make the token reusable: refuse new ones instead.
      if (uses.size >= INVITE_USES_MAX_ENTRIES) throw new Error('invite use table full');
    }
    uses.set(id, { holder, expires: expiresAt });
    return true;
  }

  latencyMs(): number | null {
    return 0;
  }
  publishErrors(): number {
    return 0;
  }
}
