/**
 * In-process broker: one instance (or several instances in one process sharing a MemoryBus,
 * which the contract tests use). Every map is bounded: presence by connected keys (each key
 * is one connection, bounded by MAX_CONNECTIONS), mailboxes by MAILBOX_MAX_KEYS, counters by
 * COUNTER_MAX_ENTRIES.
 */
import type { Broker, ClaimAndTake, MailboxLimits, MailboxPushResult } from './broker.js';

/** Distinct rate-limit counters held at once, entries; the oldest window is evicted first. */
export const COUNTER_MAX_ENTRIES = 100_000;

interface Mailbox {
  items: { at: number; env: Buffer }[];
  bytes: number;
}

/** Shared state of the memory brokers of one process. */
export class MemoryBus {
  readonly presence = new Map<string, { claim: string; expires: number }>();
  readonly mailboxes = new Map<string, Mailbox>();
  readonly counters = new Map<string, number>();
  readonly sets = new Map<string, Set<string>>();
  readonly channels = new Map<string, (batch: Buffer) => void>();
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
    let box = this.bus.mailboxes.get(key);
    if (box) this.expire(box, now, limits.ttlMs);
    if (!box) {
      if (this.bus.mailboxes.size >= this.bus.maxMailboxKeys) return 'full';
      box = { items: [], bytes: 0 };
      this.bus.mailboxes.set(key, box);
    }
    if (box.items.length >= limits.maxMessages || box.bytes + envelope.length > limits.maxBytes) return 'full';
    // Copy: the caller's buffer may be a view into a larger socket read.
    box.items.push({ at: now + limits.ttlMs, env: Buffer.from(envelope) });
    box.bytes += envelope.length;
    return 'queued';
  }

  private expire(box: Mailbox, now: number, _ttl: number): void {
    while (box.items.length > 0 && box.items[0]!.at <= now) {
      box.bytes -= box.items[0]!.env.length;
      box.items.shift();
    }
  }

  async mailboxTake(key: string, now: number): Promise<Buffer[]> {
    const box = this.bus.mailboxes.get(key);
    if (!box) return [];
    this.bus.mailboxes.delete(key);
    return box.items.filter((i) => i.at > now).map((i) => i.env);
  }

  /** Envelopes and recipients currently held (for the mailbox-depth metric). */
  mailboxStats(): { keys: number; messages: number } {
    let messages = 0;
    for (const b of this.bus.mailboxes.values()) messages += b.items.length;
    return { keys: this.bus.mailboxes.size, messages };
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

  latencyMs(): number | null {
    return 0;
  }
  publishErrors(): number {
    return 0;
  }
}
