/**
 * The one interface the rendezvous core needs from shared state: presence (key → instance),
 * routing (opaque batches to another instance's channel), mailboxes, rate-limit counters and
 * allowlist membership. MemoryBroker serves one process; RedisBroker serves a fleet over a
 * single Redis or a Redis Cluster. Both pass test/broker-contract.ts.
 *
 * Keys are base64url public keys (43 chars). Presence values are opaque "claims" written by
 * `claim`; `instanceOf` extracts the instance id from one.
 */

import { MESSAGE_ID_BYTES, PUBLIC_KEY_BYTES, storedPacketOffsets } from '@p2p-comm/protocol';

/**
 * `full`: the recipient's mailbox is at its count or byte limit; `sender_full`: this sender's
 * share of it is; `budget`: all mailboxes together hold `totalMaxBytes`; `duplicate`: an
 * unexpired envelope with the same (sender, message id) is already in this recipient's
 * mailbox, so nothing was stored (the sender is told QUEUED: its message is stored).
 */
export type MailboxPushResult = 'queued' | 'full' | 'sender_full' | 'budget' | 'duplicate';

/**
 * True when a stored peer packet is long enough to read its sender and message id at the
 * offsets of its kind (envelope v1: 18 and 2; PREKEY: 3 and 1,199; peer-packet.ts). The server
 * stores only packets that passed checkPeerPacket; this guards the brokers' own reads.
 */
export function mailboxPacketReadable(packet: Buffer): boolean {
  const at = storedPacketOffsets(packet);
  return packet.length >= at.sender + PUBLIC_KEY_BYTES && packet.length >= at.messageId + MESSAGE_ID_BYTES;
}

/** The sender key of a stored peer packet (mailboxPacketReadable), as latin1: the per-sender share's key. */
export function mailboxSender(packet: Buffer): string {
  const at = storedPacketOffsets(packet).sender;
  return packet.toString('latin1', at, at + PUBLIC_KEY_BYTES);
}

/** The sender key of a stored peer packet (mailboxPacketReadable), as a view (Redis takes it as an argument). */
export function storedPacketSenderKey(packet: Buffer): Buffer {
  const at = storedPacketOffsets(packet).sender;
  return packet.subarray(at, at + PUBLIC_KEY_BYTES);
}

/**
 * The mailbox dedupe key of a stored peer packet (envelope v1 or PREKEY, mailboxPacketReadable):
 * its sender key ‖ message id (32 + 16 bytes) as latin1, each read at its kind's offsets. Redis
 * builds the same key in Lua.
 *
 * Why the sender is part of the key: the server stores a packet only from its authenticated
 * sender (and checks an envelope's signature too), so only the holder of sender S's secret key
 * can put a packet from S in a mailbox. Keyed on (S, id), the only one who can occupy S's ids
 * is S itself. Keyed on the id alone, a stranger who saw one of S's ids (a message S relayed
 * live, or one S will resend) could store its own junk under that id first, and S's real copy
 * would then be answered QUEUED and dropped: a silent suppression that lasts until S's long
 * resend timeout. Ids are 16 random bytes chosen by S, so S never collides with itself by
 * chance; an attacker who replays a captured packet of S gets only S's own message
 * deduplicated against itself.
 */
export function mailboxDedupeKey(packet: Buffer): string {
  const at = storedPacketOffsets(packet);
  return (
    packet.toString('latin1', at.sender, at.sender + PUBLIC_KEY_BYTES) +
    packet.toString('latin1', at.messageId, at.messageId + MESSAGE_ID_BYTES)
  );
}

/** What `prekeyPut` did: stored (newer than, or the same as, the held bundle) or refused as older. */
export type PrekeyPutResult = 'stored' | 'stale';

/**
 * The order of two bundles of one owner: created (u64 BE at 37), then bundle id (u32 BE at 33),
 * compared as 12 big-endian bytes. Negative when `a` is older than `b`. Redis compares the same
 * bytes in Lua. The bundles were decoded and verified by the caller.
 */
export function comparePrekeyBundles(a: Uint8Array, b: Uint8Array): number {
  for (const [from, to] of PREKEY_ORDER_FIELDS) for (let i = from; i < to; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** Byte ranges of a bundle that order it: created [37, 45), then bundle id [33, 37). */
export const PREKEY_ORDER_FIELDS: readonly (readonly [number, number])[] = Object.freeze([
  Object.freeze([37, 45] as const),
  Object.freeze([33, 37] as const),
]);

export interface MailboxLimits {
  /** Envelopes per recipient. */
  readonly maxMessages: number;
  /** Bytes of envelopes per recipient. */
  readonly maxBytes: number;
  /** Envelopes one sender may hold in one recipient's mailbox. */
  readonly maxMessagesPerSender: number;
  /** Bytes one sender may hold in one recipient's mailbox. */
  readonly maxBytesPerSender: number;
  /**
   * Accounted bytes (envelope length + MAILBOX_ITEM_OVERHEAD_BYTES each) of every mailbox
   * together: per process (memory) or per deployment (Redis).
   */
  readonly totalMaxBytes: number;
  /** Lifetime of one envelope, ms. */
  readonly ttlMs: number;
}

/** What `claimAndTake` returns: the previous claim (if any) and the envelopes taken from the mailbox. */
export interface ClaimAndTake {
  prev: string | null;
  mail: Buffer[];
}

export interface Broker {
  /** 'memory' | 'redis' | 'redis-cluster' — shown in logs and /readyz. */
  readonly kind: string;
  /** True when presence and routing through this broker work right now. */
  isReady(): boolean;
  /** Subscribe to this instance's channel; `onBatch` gets every batch published to it. */
  start(instanceId: string, onBatch: (batch: Buffer) => void): Promise<void>;
  /** Unsubscribe and disconnect. Idempotent. */
  stop(): Promise<void>;
  /** Called when readiness changes (e.g. Redis lost / back). `ready` true after re-subscribing. */
  onReadyChange(listener: (ready: boolean) => void): void;

  /** Record that `key` is now served by `claimValue` (see makeClaim). Returns the previous claim, if any. */
  claim(key: string, claimValue: string, ttlMs: number): Promise<string | null>;
  /**
   * `claim`, then `mailboxTake`, in one round trip (atomically on Redis): the connect path.
   * Reading the mailbox after the claim closes the race with a sender that mailboxed meanwhile.
   */
  claimAndTake(key: string, claimValue: string, ttlMs: number, now: number): Promise<ClaimAndTake>;
  /** Remove the presence of `key` only if it still holds `claimValue`. */
  release(key: string, claimValue: string): Promise<void>;
  /** Current claim for `key`, or null when offline. */
  lookup(key: string): Promise<string | null>;
  /** Extend the presence TTL of these keys (they must still hold the given claims). */
  refresh(entries: ReadonlyArray<readonly [key: string, claimValue: string]>, ttlMs: number): Promise<void>;

  /**
   * Record `addr` (host:port) as `instanceId`'s instance-link address for `ttlMs`
   * (docs/instance-links.md); every instance of the fleet can look it up.
   */
  linkAnnounce(instanceId: string, addr: string, ttlMs: number): Promise<void>;
  /** Remove `instanceId`'s link address, only if it is still `addr`. */
  linkWithdraw(instanceId: string, addr: string): Promise<void>;
  /** `instanceId`'s announced link address, or null (no links, or expired). */
  linkLookup(instanceId: string): Promise<string | null>;

  /** Send one batch to `instanceId`'s channel. Fire-and-forget; failures are counted by the broker. */
  publish(instanceId: string, batch: Buffer): void;

  /**
   * Append an envelope to `key`'s mailbox within `limits`: the recipient's count and bytes, the
   * sender's share of them (the sender is read from the envelope, which the caller has verified)
   * and the total budget. Envelopes shorter than a sender key are refused as `full`.
   * An envelope whose (sender, message id) the mailbox already holds answers `duplicate` before
   * any limit is looked at, and stores nothing: the id index lives and expires with the mailbox.
   */
  mailboxPush(key: string, envelope: Buffer, limits: MailboxLimits, now: number): Promise<MailboxPushResult>;
  /**
   * Put envelopes taken by `mailboxTake` back at the head of `key`'s mailbox, in order, with a
   * fresh TTL (a delivery that could not finish). No limit refuses them: they were already counted
   * once, and refusing would lose them.
   */
  mailboxRestore(key: string, envelopes: readonly Buffer[], limits: MailboxLimits, now: number): Promise<void>;
  /** Remove and return `key`'s unexpired envelopes, oldest first. */
  mailboxTake(key: string, now: number): Promise<Buffer[]>;

  /**
   * Keep `bundle` (a verified 1,333-byte prekey bundle of `key`, owned by the broker from now on:
   * the caller passes a copy, never a view into a socket's read) as `key`'s prekey bundle for
   * `ttlMs`, unless the bundle held now is newer (comparePrekeyBundles): then nothing changes
   * and the answer is `stale`. One bundle per key, visible to every instance of the fleet.
   */
  prekeyPut(key: string, bundle: Buffer, ttlMs: number, now: number): Promise<PrekeyPutResult>;
  /** `key`'s unexpired prekey bundle, or null. */
  prekeyGet(key: string, now: number): Promise<Buffer | null>;

  /** Increment a fixed-window counter (`name` within the current `windowMs` window); returns its new value. */
  hit(name: string, windowMs: number, now: number): Promise<number>;
  /** Whether `member` is in the set `setKey` (allowlist). */
  isMember(setKey: string, member: string): Promise<boolean>;
  /**
   * Redeem the single-use invite `id` for `holder` (a base64url key) until `expiresAt` (ms):
   * true when it is now, or already was, redeemed by `holder`; false when another holder has
   * it. Shared by every instance, so single use holds cluster-wide. Rejects (never answers
   * true) when the broker cannot record the use.
   */
  redeemInvite(id: string, holder: string, expiresAt: number, now: number): Promise<boolean>;

  /** Last measured round trip to the backing store, ms, or null. */
  latencyMs(): number | null;
  /** Publish failures since start (counted, never thrown). */
  publishErrors(): number;
}

/** A presence claim: `instanceId|sinceMs|nonce`. The nonce keeps two sessions' claims distinct. */
export function makeClaim(instanceId: string, sinceMs: number, nonce: number): string {
  return `${instanceId}|${sinceMs}|${nonce}`;
}

/** The instance id inside a claim. */
export function instanceOf(claim: string): string {
  const i = claim.indexOf('|');
  return i < 0 ? claim : claim.slice(0, i);
}

/** The connect time (ms) inside a claim, or 0. */
export function sinceOf(claim: string): number {
  const parts = claim.split('|');
  const n = Number(parts[1]);
  return Number.isFinite(n) ? n : 0;
}
