/**
 * Redis broker for a fleet of rendezvous instances, on one Redis or a Redis Cluster.
 *
 * Keys (P = REDIS_KEY_PREFIX). Every key of one peer shares the hash tag `{<key>}`, so every
 * multi-key script stays in one cluster slot:
 *   P{<key>}:at    presence claim "instance|since|nonce", PX = PRESENCE_TTL_S
 *   P{<key>}:mb    mailbox list; item = 15-digit expiry ms ‖ peer packet (envelope v1 or PREKEY)
 *   P{<key>}:mbb   mailbox bytes counter
 *   P{<key>}:mbs   mailbox per-sender share: hash of 'n'‖sender → envelopes, 'b'‖sender → bytes
 *   P{<key>}:mbi   mailbox dedupe index: hash of sender‖message id → the 15-digit expiry of the
 *                  item holding it (one field per item; removed with it, expires with the list)
 *   P{mbg}:<B>:<b> mailbox budget: accounted bytes of the envelopes expiring in time bucket b of
 *                  B ms (B = MAILBOX_TTL_S / MAILBOX_BUDGET_BUCKETS); each expires with its
 *                  envelopes, so the total is the sum of the live buckets (one cluster slot)
 *   P{<key>}:pk    the key's prekey bundle (1,333 bytes), PX = until its expires, capped by
 *                  PREKEY_STORE_MAX_TTL_MS (the caller's ttl); every instance reads the same one
 *   P{c:<name>}:<window>  fixed-window rate counter
 *   P{v:<id>}:use  the key that redeemed single-use invite <id>, PX = until the token expires
 *   P{i:<id>}:ch   an instance's channel: PUBLISH on one Redis, SPUBLISH (sharded) on a cluster
 *   P{i:<id>}:link an instance's link address host:port (docs/instance-links.md), PX = LINK_ANNOUNCE_TTL_MS
 *
 * Outage behaviour: commands fail fast while disconnected (no offline queue), so callers answer
 * RDV_ERR_UNAVAILABLE at once instead of hanging; ioredis reconnects by itself, re-subscribes,
 * and `onReadyChange(true)` lets the hub re-claim presence.
 */
import {
  ENVELOPE_MESSAGE_ID_OFFSET,
  ENVELOPE_SENDER_OFFSET,
  MESSAGE_ID_BYTES,
  PREKEY_PACKET_MESSAGE_ID_OFFSET,
  PREKEY_PACKET_SENDER_OFFSET,
  PUBLIC_KEY_BYTES,
  SESSION_VERSION,
} from '@p2p-comm/protocol';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import {
  DEFAULT_MAILBOX_TTL_S,
  MAILBOX_BUDGET_BUCKETS,
  MAILBOX_ITEM_OVERHEAD_BYTES,
  PRESENCE_REFRESH_BATCH_KEYS,
} from '../constants.js';
import {
  type Broker,
  type ClaimAndTake,
  type MailboxLimits,
  type MailboxPushResult,
  mailboxDedupeKey,
  mailboxPacketReadable,
  PREKEY_ORDER_FIELDS,
  type PrekeyPutResult,
  storedPacketSenderKey,
} from './broker.js';

/** Interval of the latency probe (PING), ms. */
export const REDIS_PING_INTERVAL_MS = 5_000;
/** Cap of the reconnect backoff, ms. */
export const REDIS_RECONNECT_MAX_DELAY_MS = 2_000;
/** Per-command timeout, ms: a hung Redis must not hold frames forever. */
export const REDIS_COMMAND_TIMEOUT_MS = 2_000;
const EXPIRY_DIGITS = 15;
/*
 * A mailbox item is expiry ‖ peer packet; the packet's sender and message id sit at its kind's
 * offsets (byte 0 = 1: envelope v1; 2: PREKEY; broker.ts mailboxDedupeKey). Lua positions are 1-based.
 */
const ITEM_VERSION_AT = EXPIRY_DIGITS + 1;
const ENV_SENDER_AT = EXPIRY_DIGITS + ENVELOPE_SENDER_OFFSET + 1;
const ENV_ID_AT = EXPIRY_DIGITS + ENVELOPE_MESSAGE_ID_OFFSET + 1;
const PREKEY_SENDER_AT = EXPIRY_DIGITS + PREKEY_PACKET_SENDER_OFFSET + 1;
const PREKEY_ID_AT = EXPIRY_DIGITS + PREKEY_PACKET_MESSAGE_ID_OFFSET + 1;
/** Lua: an item's sender key and its dedupe key, sender ‖ message id (the same bytes as mailboxDedupeKey). */
const DEDUPE_KEY = `local function senderof(item)
  if string.byte(item, ${ITEM_VERSION_AT}) == ${SESSION_VERSION} then return string.sub(item, ${PREKEY_SENDER_AT}, ${PREKEY_SENDER_AT + PUBLIC_KEY_BYTES - 1}) end
  return string.sub(item, ${ENV_SENDER_AT}, ${ENV_SENDER_AT + PUBLIC_KEY_BYTES - 1})
end
local function dedupekey(item)
  if string.byte(item, ${ITEM_VERSION_AT}) == ${SESSION_VERSION} then return senderof(item) .. string.sub(item, ${PREKEY_ID_AT}, ${PREKEY_ID_AT + MESSAGE_ID_BYTES - 1}) end
  return senderof(item) .. string.sub(item, ${ENV_ID_AT}, ${ENV_ID_AT + MESSAGE_ID_BYTES - 1})
end
`;
/** Lua: forget an expired item's dedupe entry (KEYS[4]) unless a newer item holds that key now. */
const UNINDEX = `${DEDUPE_KEY}local function unindex(item)
  local k = dedupekey(item)
  if redis.call('HGET', KEYS[4], k) == string.sub(item, 1, ${EXPIRY_DIGITS}) then redis.call('HDEL', KEYS[4], k) end
end
`;
/** Lua (after DEDUPE_KEY): forget one expired/taken item's share of its sender (KEYS[3] = the share hash). */
const UNSHARE = `local function unshare(item)
  local s = senderof(item)
  if redis.call('HINCRBY', KEYS[3], 'n' .. s, -1) <= 0 then redis.call('HDEL', KEYS[3], 'n' .. s, 'b' .. s)
  else redis.call('HINCRBY', KEYS[3], 'b' .. s, ${EXPIRY_DIGITS} - string.len(item)) end
end
`;
/** Lua: the 12 bytes that order a prekey bundle (created, then bundle id; comparePrekeyBundles), compared as numbers byte by byte. */
const PREKEY_OLDER = `local function older(a, b)
  for _, r in ipairs({${PREKEY_ORDER_FIELDS.map(([from, to]) => `{${from + 1}, ${to}}`).join(', ')}}) do
    for i = r[1], r[2] do
      local x, y = string.byte(a, i), string.byte(b, i)
      if x ~= y then return x < y end
    end
  end
  return false
end
`;

const SCRIPTS = {
  release: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
  },
  refresh: {
    numberOfKeys: 1,
    // Extend our own claim; re-create it if Redis lost it (restart without persistence).
    lua: `local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return 0`,
  },
  refreshmany: {
    // Single Redis only (every key on one server): `refresh` for up to PRESENCE_REFRESH_BATCH_KEYS
    // keys in one call. KEYS: presence keys; ARGV: ttl ms, then each key's claim in KEYS order.
    lua: `local ttl = ARGV[1]
for i, k in ipairs(KEYS) do
local v = redis.call('GET', k)
if v == ARGV[i + 1] then redis.call('PEXPIRE', k, ttl)
elseif not v then redis.call('SET', k, ARGV[i + 1], 'PX', ttl) end
end
return #KEYS`,
  },
  mbpush: {
    numberOfKeys: 4,
    // KEYS: list, bytes, share, dedupe index. ARGV: item, envelope length, now ms, max messages, max bytes,
    // ttl ms, max messages per sender, max bytes per sender, sender key, dedupe key.
    // 1 = queued, 0 = full, 2 = sender's share full, 3 = duplicate (an unexpired copy is held; nothing stored).
    lua: `${UNINDEX}${UNSHARE}local now = tonumber(ARGV[3])
local bytes = tonumber(redis.call('GET', KEYS[2]) or '0')
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  if tonumber(string.sub(head, 1, ${EXPIRY_DIGITS})) > now then break end
  redis.call('LPOP', KEYS[1])
  bytes = bytes - (string.len(head) - ${EXPIRY_DIGITS})
  unshare(head)
  unindex(head)
end
if bytes < 0 then bytes = 0 end
local n = redis.call('LLEN', KEYS[1])
local len = tonumber(ARGV[2])
local verdict = 1
local held = redis.call('HGET', KEYS[4], ARGV[10])
if held and tonumber(held) > now then verdict = 3
elseif n >= tonumber(ARGV[4]) or bytes + len > tonumber(ARGV[5]) then verdict = 0
else
  local s = ARGV[9]
  local sn = tonumber(redis.call('HGET', KEYS[3], 'n' .. s) or '0')
  local sb = tonumber(redis.call('HGET', KEYS[3], 'b' .. s) or '0')
  if sn >= tonumber(ARGV[7]) or sb + len > tonumber(ARGV[8]) then verdict = 2 end
end
if verdict ~= 1 then
  if n > 0 then redis.call('SET', KEYS[2], bytes, 'KEEPTTL') end
  return verdict
end
-- A sender-chosen TTL (RELAY_TTL) may be shorter than items already held: never shorten the keys.
local keep = math.max(tonumber(ARGV[6]), redis.call('PTTL', KEYS[1]))
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], bytes + len)
redis.call('HINCRBY', KEYS[3], 'n' .. ARGV[9], 1)
redis.call('HINCRBY', KEYS[3], 'b' .. ARGV[9], len)
redis.call('HSET', KEYS[4], ARGV[10], string.sub(ARGV[1], 1, ${EXPIRY_DIGITS}))
redis.call('PEXPIRE', KEYS[1], keep)
redis.call('PEXPIRE', KEYS[2], keep)
redis.call('PEXPIRE', KEYS[3], keep)
redis.call('PEXPIRE', KEYS[4], keep)
return 1`,
  },
  mbrestore: {
    numberOfKeys: 4,
    // KEYS: list, bytes, share, dedupe index. ARGV: ttl ms, then items (expiry ‖ envelope) in mailbox order.
    lua: `${DEDUPE_KEY}local bytes = tonumber(redis.call('GET', KEYS[2]) or '0')
for i = #ARGV, 2, -1 do
  local item = ARGV[i]
  local len = string.len(item) - ${EXPIRY_DIGITS}
  local s = senderof(item)
  redis.call('LPUSH', KEYS[1], item)
  bytes = bytes + len
  redis.call('HINCRBY', KEYS[3], 'n' .. s, 1)
  redis.call('HINCRBY', KEYS[3], 'b' .. s, len)
  redis.call('HSET', KEYS[4], dedupekey(item), string.sub(item, 1, ${EXPIRY_DIGITS}))
end
redis.call('SET', KEYS[2], bytes)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[4], ARGV[1])
return 1`,
  },
  // The budget scripts take their bucket keys as KEYS (all in the {mbg} slot); numberOfKeys is the first argument.
  mbreserve: {
    // KEYS: the live buckets, the new envelope's last. ARGV: cost, total max, expiry of the last bucket (ms).
    // Returns 1 when reserved, 0 when the budget is used up.
    lua: `local total = 0
for _, v in ipairs(redis.call('MGET', unpack(KEYS))) do if v then total = total + tonumber(v) end end
if total + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[#KEYS], ARGV[1])
redis.call('PEXPIREAT', KEYS[#KEYS], ARGV[3])
return 1`,
  },
  mbunreserve: {
    // KEYS: buckets. ARGV: the amount to give back to each (a bucket already expired is skipped).
    lua: `for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if redis.call('DECRBY', KEYS[i], ARGV[i]) <= 0 then redis.call('DEL', KEYS[i]) end
  end
end
return 1`,
  },
  mbforce: {
    numberOfKeys: 1,
    // KEYS: one bucket. ARGV: amount, expiry of the bucket (ms). Restored envelopes are never refused.
    lua: `redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`,
  },
  claimtake: {
    numberOfKeys: 5,
    // KEYS: presence, mailbox list, mailbox bytes, mailbox share, dedupe index. ARGV: claim, ttl ms.
    // Returns {previous claim, items}.
    lua: `local prev = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'GET')
local items = redis.call('LRANGE', KEYS[2], 0, -1)
if #items > 0 then redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5]) end
return {prev, items}`,
  },
  mbtake: {
    numberOfKeys: 4,
    lua: `local items = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return items`,
  },
  pkput: {
    numberOfKeys: 1,
    // KEYS: the owner's prekey key. ARGV: bundle, ttl ms. 1 = stored, 0 = the held bundle is newer.
    lua: `${PREKEY_OLDER}local held = redis.call('GET', KEYS[1])
if held and older(ARGV[1], held) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`,
  },
  hit: {
    numberOfKeys: 1,
    lua: `local n = redis.call('INCR', KEYS[1]) if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n`,
  },
  invite: {
    numberOfKeys: 1,
    // KEYS: the invite's use key. ARGV: holder, ms until the token expires. 1 = redeemed by holder.
    lua: `local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then return 1 end
return 0`,
  },
} as const;

interface ScriptClient {
  release(key: string, claim: string): Promise<number>;
  refresh(key: string, claim: string, ttlMs: number): Promise<number>;
  refreshmany(numberOfKeys: number, ...keysTtlClaims: Array<string | number>): Promise<number>;
  mbpushBuffer(
    list: string,
    bytes: string,
    share: string,
    ids: string,
    item: Buffer,
    len: number,
    now: number,
    maxN: number,
    maxB: number,
    ttl: number,
    maxNs: number,
    maxBs: number,
    sender: Buffer,
    dedupe: Buffer,
  ): Promise<number>;
  mbrestore(list: string, bytes: string, share: string, ids: string, ttl: number, ...items: Buffer[]): Promise<number>;
  mbreserve(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  mbunreserve(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
  mbforce(bucket: string, amount: number, expireAt: number): Promise<number>;
  mbtakeBuffer(list: string, bytes: string, share: string, ids: string): Promise<Buffer[]>;
  claimtakeBuffer(
    at: string,
    list: string,
    bytes: string,
    share: string,
    ids: string,
    claim: string,
    ttlMs: number,
  ): Promise<[Buffer | null, Buffer[]]>;
  pkput(key: string, bundle: Buffer, ttlMs: number): Promise<number>;
  hit(key: string, ttlMs: number): Promise<number>;
  invite(key: string, holder: string, ttlMs: number): Promise<number>;
}

type Client = (Redis | Cluster) & ScriptClient;

export interface RedisBrokerOptions {
  /** redis://… for a single Redis (ignored when clusterNodes is non-empty). */
  url: string | null;
  /** host:port seeds; non-empty = cluster mode with sharded pub/sub. */
  clusterNodes: readonly string[];
  prefix: string;
  log: Logger;
  /** MAILBOX_TTL_S in ms: the mailbox budget's buckets are a MAILBOX_BUDGET_BUCKETS-th of it. Default 7 days. */
  mailboxTtlMs?: number;
}

export class RedisBroker implements Broker {
  readonly kind: string;
  private cmd: Client | null = null;
  /** Single-Redis mode: a dedicated subscriber connection. Cluster mode uses ioredis's sharded subscribers. */
  private sub: Redis | null = null;
  /**
   * Single-Redis mode: a dedicated publisher. Batches are already one per destination per tick,
   * so auto-pipelining would only add a Pipeline and a timer per PUBLISH; this connection sends
   * each one directly, with no per-command timeout (a lost batch ends as RDV_ERR_ROUTE_TIMEOUT).
   */
  private pub: Redis | null = null;
  private ready = false;
  private subscribed = false;
  private channel = '';
  private readonly listeners: ((ready: boolean) => void)[] = [];
  private lastLatency: number | null = null;
  private pubErrors = 0;
  private pingTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  /** Length of one mailbox-budget bucket, ms. */
  private readonly span: number;

  constructor(private readonly opts: RedisBrokerOptions) {
    this.kind = opts.clusterNodes.length > 0 ? 'redis-cluster' : 'redis';
    this.span = Math.max(1, Math.ceil((opts.mailboxTtlMs ?? DEFAULT_MAILBOX_TTL_S * 1000) / MAILBOX_BUDGET_BUCKETS));
  }

  private key(peer: string, suffix: string): string {
    return `${this.opts.prefix}{${peer}}:${suffix}`;
  }

  private channelOf(instanceId: string): string {
    return `${this.opts.prefix}{i:${instanceId}}:ch`;
  }

  isReady(): boolean {
    return this.ready;
  }

  onReadyChange(listener: (ready: boolean) => void): void {
    this.listeners.push(listener);
  }

  private setReady(): void {
    const now =
      this.cmd !== null &&
      this.cmd.status === 'ready' &&
      this.subscribed &&
      (this.sub === null || this.sub.status === 'ready') &&
      (this.pub === null || this.pub.status === 'ready');
    if (now === this.ready) return;
    this.ready = now;
    for (const l of this.listeners) l(now);
  }

  async start(instanceId: string, onBatch: (batch: Buffer) => void): Promise<void> {
    const log = this.opts.log;
    this.channel = this.channelOf(instanceId);
    const base: RedisOptions = {
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), REDIS_RECONNECT_MAX_DELAY_MS),
      lazyConnect: true,
    };
    const onErr = (err: Error): void => log.debug({ err: err.message }, 'redis error');
    let cmd: Redis | Cluster;
    if (this.opts.clusterNodes.length > 0) {
      const nodes = this.opts.clusterNodes.map((n) => {
        const i = n.lastIndexOf(':');
        return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
      });
      const cluster = new Cluster(nodes, {
        enableAutoPipelining: true,
        enableOfflineQueue: false,
        shardedSubscribers: true,
        lazyConnect: true,
        clusterRetryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), REDIS_RECONNECT_MAX_DELAY_MS),
        redisOptions: { maxRetriesPerRequest: 0, commandTimeout: REDIS_COMMAND_TIMEOUT_MS },
      });
      cluster.on('smessageBuffer', (_ch: Buffer, message: Buffer) => onBatch(message));
      cmd = cluster;
    } else {
      const url = this.opts.url ?? 'redis://127.0.0.1:6379';
      cmd = new Redis(url, base);
      const sub = new Redis(url, { ...base, enableAutoPipelining: false });
      sub.on('messageBuffer', (_ch: Buffer, message: Buffer) => onBatch(message));
      sub.on('error', onErr);
      sub.on('ready', () => {
        // ioredis re-subscribes by itself after a reconnect; we only track readiness.
        if (this.subscribed) this.setReady();
      });
      sub.on('close', () => this.setReady());
      this.sub = sub;
      const pub = new Redis(url, { ...base, enableAutoPipelining: false, commandTimeout: undefined });
      pub.on('error', onErr);
      pub.on('ready', () => this.setReady());
      pub.on('close', () => this.setReady());
      this.pub = pub;
    }
    for (const [name, s] of Object.entries(SCRIPTS))
      cmd.defineCommand(name, s as { lua: string; numberOfKeys?: number });
    cmd.on('error', onErr);
    cmd.on('ready', () => {
      if (this.opts.clusterNodes.length > 0 && this.subscribed)
        // Re-assert the sharded subscription after the cluster comes back.
        (cmd as Cluster).ssubscribe(this.channel).then(
          () => this.setReady(),
          () => {},
        );
      this.setReady();
    });
    cmd.on('close', () => this.setReady());
    cmd.on('end', () => this.setReady());
    this.cmd = cmd as Client;

    // Connect now, but a Redis that is down at start is an outage, not a crash: keep retrying.
    try {
      await cmd.connect();
      if (this.sub) {
        await this.pub?.connect();
        await this.sub.connect();
        await this.sub.subscribe(this.channel);
      } else {
        await (cmd as Cluster).ssubscribe(this.channel);
      }
      this.subscribed = true;
    } catch (err) {
      log.warn({ err: String(err) }, 'redis unreachable at start; serving locally until it is back');
      this.retrySubscribe();
    }
    this.setReady();
    this.pingTimer = setInterval(() => this.probe(), REDIS_PING_INTERVAL_MS);
    this.pingTimer.unref();
    this.probe();
  }

  private retrySubscribe(): void {
    const t = setTimeout(async () => {
      if (this.stopped || this.subscribed) return;
      try {
        if (this.cmd?.status === 'wait') await this.cmd.connect();
        if (this.sub) {
          if (this.pub?.status === 'wait') await this.pub.connect();
          if (this.sub.status === 'wait') await this.sub.connect();
          await this.sub.subscribe(this.channel);
        } else await (this.cmd as Cluster).ssubscribe(this.channel);
        this.subscribed = true;
        this.setReady();
      } catch {
        this.retrySubscribe();
      }
    }, REDIS_RECONNECT_MAX_DELAY_MS / 2);
    t.unref();
  }

  private probe(): void {
    const c = this.cmd;
    if (c === null || c.status !== 'ready') return;
    const t0 = performance.now();
    c.ping().then(
      () => {
        this.lastLatency = performance.now() - t0;
      },
      () => {},
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    const c = this.cmd;
    const s = this.sub;
    const p = this.pub;
    this.cmd = null;
    this.sub = null;
    this.pub = null;
    this.subscribed = false;
    this.ready = false;
    await Promise.all([
      c?.quit().catch(() => c.disconnect()),
      s?.quit().catch(() => s.disconnect()),
      p?.quit().catch(() => p.disconnect()),
    ]);
  }

  private client(): Client {
    if (this.cmd === null) throw new Error('redis broker not started');
    return this.cmd;
  }

  async claim(key: string, claimValue: string, ttlMs: number): Promise<string | null> {
    const prev = await this.client().set(this.key(key, 'at'), claimValue, 'PX', ttlMs, 'GET');
    return prev ?? null;
  }

  async claimAndTake(key: string, claimValue: string, ttlMs: number, now: number): Promise<ClaimAndTake> {
    const [prev, items] = await this.client().claimtakeBuffer(
      this.key(key, 'at'),
      this.key(key, 'mb'),
      this.key(key, 'mbb'),
      this.key(key, 'mbs'),
      this.key(key, 'mbi'),
      claimValue,
      ttlMs,
    );
    this.unbudget(items);
    return { prev: prev === null ? null : prev.toString('latin1'), mail: this.unexpired(items, now) };
  }

  async release(key: string, claimValue: string): Promise<void> {
    await this.client().release(this.key(key, 'at'), claimValue);
  }

  async lookup(key: string): Promise<string | null> {
    return this.client().get(this.key(key, 'at'));
  }

  async refresh(entries: ReadonlyArray<readonly [string, string]>, ttlMs: number): Promise<void> {
    const c = this.client();
    if (this.sub === null) {
      // Cluster: keys live in different slots. Auto-pipelining groups these per node.
      await Promise.all(entries.map(([key, claim]) => c.refresh(this.key(key, 'at'), claim, ttlMs)));
      return;
    }
    // One Redis: one script call per PRESENCE_REFRESH_BATCH_KEYS keys instead of one per key (a
    // heartbeat round refreshes every local key; per-key commands were ~40 % of the instance's
    // heartbeat CPU and most of Redis's idle load).
    const calls: Promise<number>[] = [];
    for (let i = 0; i < entries.length; i += PRESENCE_REFRESH_BATCH_KEYS) {
      const chunk = entries.slice(i, i + PRESENCE_REFRESH_BATCH_KEYS);
      const args: Array<string | number> = chunk.map(([key]) => this.key(key, 'at'));
      args.push(ttlMs);
      for (const [, claim] of chunk) args.push(claim);
      calls.push(c.refreshmany(chunk.length, ...args));
    }
    await Promise.all(calls);
  }

  async linkAnnounce(instanceId: string, addr: string, ttlMs: number): Promise<void> {
    await this.client().set(this.linkKey(instanceId), addr, 'PX', ttlMs);
  }

  async linkWithdraw(instanceId: string, addr: string): Promise<void> {
    // The same compare-and-delete as a presence release.
    await this.client().release(this.linkKey(instanceId), addr);
  }

  async linkLookup(instanceId: string): Promise<string | null> {
    return this.client().get(this.linkKey(instanceId));
  }

  private linkKey(instanceId: string): string {
    return `${this.opts.prefix}{i:${instanceId}}:link`;
  }

  publish(instanceId: string, batch: Buffer): void {
    const c = this.cmd;
    if (c === null) {
      this.pubErrors++;
      return;
    }
    const ch = this.channelOf(instanceId);
    const p = this.sub === null ? (c as Cluster).spublish(ch, batch) : (this.pub ?? c).publish(ch, batch);
    p.catch(() => {
      // The sender's pending frame times out with RDV_ERR_ROUTE_TIMEOUT: still exactly one answer.
      this.pubErrors++;
    });
  }

  /**
   * Budget first (its own slot, so not atomic with the mailbox in a cluster), then the mailbox;
   * a refused push gives its reservation back. A crash between the two over-counts until the
   * bucket expires: the budget errs on the side of refusing.
   */
  async mailboxPush(key: string, envelope: Buffer, limits: MailboxLimits, now: number): Promise<MailboxPushResult> {
    if (!mailboxPacketReadable(envelope)) return 'full';
    const c = this.client();
    const expiresAt = now + limits.ttlMs;
    const charge = envelope.length + MAILBOX_ITEM_OVERHEAD_BYTES;
    const span = this.span;
    const first = Math.floor(now / span);
    const last = Math.floor(expiresAt / span);
    const buckets: string[] = [];
    for (let b = first; b <= last; b++) buckets.push(this.bucketKey(span, b));
    const dedupe = Buffer.from(mailboxDedupeKey(envelope), 'latin1');
    const ok = await c.mbreserve(buckets.length, ...buckets, charge, limits.totalMaxBytes, (last + 1) * span);
    if (Number(ok) !== 1) {
      // A resend of a copy already held is answered as queued even when the budget is used up.
      const held = await c.hget(this.key(key, 'mbi'), dedupe);
      return held !== null && Number(held) > now ? 'duplicate' : 'budget';
    }
    const giveBack = () => c.mbunreserve(1, buckets[buckets.length - 1]!, charge).catch(() => {});
    const item = Buffer.concat([Buffer.from(String(expiresAt).padStart(EXPIRY_DIGITS, '0'), 'latin1'), envelope]);
    let r: number;
    try {
      r = Number(
        await c.mbpushBuffer(
          this.key(key, 'mb'),
          this.key(key, 'mbb'),
          this.key(key, 'mbs'),
          this.key(key, 'mbi'),
          item,
          envelope.length,
          now,
          limits.maxMessages,
          limits.maxBytes,
          limits.ttlMs,
          limits.maxMessagesPerSender,
          limits.maxBytesPerSender,
          storedPacketSenderKey(envelope),
          dedupe,
        ),
      );
    } catch (err) {
      await giveBack();
      throw err;
    }
    if (r === 1) return 'queued';
    await giveBack();
    if (r === 3) return 'duplicate';
    return r === 2 ? 'sender_full' : 'full';
  }

  async mailboxRestore(key: string, envelopes: readonly Buffer[], limits: MailboxLimits, now: number): Promise<void> {
    if (envelopes.length === 0) return;
    const c = this.client();
    const expiresAt = now + limits.ttlMs;
    const expiry = Buffer.from(String(expiresAt).padStart(EXPIRY_DIGITS, '0'), 'latin1');
    const items = envelopes.filter((e) => mailboxPacketReadable(e)).map((e) => Buffer.concat([expiry, e]));
    await c.mbrestore(
      this.key(key, 'mb'),
      this.key(key, 'mbb'),
      this.key(key, 'mbs'),
      this.key(key, 'mbi'),
      limits.ttlMs,
      ...items,
    );
    const span = this.span;
    const b = Math.floor(expiresAt / span);
    let charge = 0;
    for (const i of items) charge += i.length - EXPIRY_DIGITS + MAILBOX_ITEM_OVERHEAD_BYTES;
    await c.mbforce(this.bucketKey(span, b), charge, (b + 1) * span);
  }

  async mailboxTake(key: string, now: number): Promise<Buffer[]> {
    const items = await this.client().mbtakeBuffer(
      this.key(key, 'mb'),
      this.key(key, 'mbb'),
      this.key(key, 'mbs'),
      this.key(key, 'mbi'),
    );
    this.unbudget(items);
    return this.unexpired(items, now);
  }

  private bucketKey(span: number, bucket: number): string {
    return `${this.opts.prefix}{mbg}:${span}:${bucket}`;
  }

  /**
   * Give taken items' charge back to the buckets they were counted in. Fire-and-forget: a
   * failure only over-counts until those buckets expire.
   */
  private unbudget(items: Buffer[]): void {
    if (items.length === 0 || this.cmd === null) return;
    const byBucket = new Map<string, number>();
    for (const item of items) {
      if (item.length <= EXPIRY_DIGITS) continue;
      const expiresAt = Number(item.toString('latin1', 0, EXPIRY_DIGITS));
      // The span is not stored with the item: every instance derives it from the same MAILBOX_TTL_S.
      const span = this.span;
      const k = this.bucketKey(span, Math.floor(expiresAt / span));
      byBucket.set(k, (byBucket.get(k) ?? 0) + item.length - EXPIRY_DIGITS + MAILBOX_ITEM_OVERHEAD_BYTES);
    }
    if (byBucket.size === 0) return;
    this.cmd.mbunreserve(byBucket.size, ...byBucket.keys(), ...byBucket.values()).catch(() => {});
  }

  /** Mailbox items (expiry ‖ envelope) → the envelopes not yet expired. */
  private unexpired(items: Buffer[], now: number): Buffer[] {
    const out: Buffer[] = [];
    for (const item of items) {
      if (item.length <= EXPIRY_DIGITS) continue;
      if (Number(item.toString('latin1', 0, EXPIRY_DIGITS)) <= now) continue;
      out.push(item.subarray(EXPIRY_DIGITS));
    }
    return out;
  }

  async prekeyPut(key: string, bundle: Buffer, ttlMs: number, _now: number): Promise<PrekeyPutResult> {
    const r = await this.client().pkput(this.key(key, 'pk'), bundle, Math.max(1, Math.floor(ttlMs)));
    return Number(r) === 1 ? 'stored' : 'stale';
  }

  async prekeyGet(key: string, _now: number): Promise<Buffer | null> {
    // PX expiry: Redis forgets the bundle when it expires, on every instance at once.
    return this.client().getBuffer(this.key(key, 'pk'));
  }

  async hit(name: string, windowMs: number, now: number): Promise<number> {
    const n = await this.client().hit(`${this.opts.prefix}{c:${name}}:${Math.floor(now / windowMs)}`, windowMs);
    return Number(n);
  }

  async isMember(setKey: string, member: string): Promise<boolean> {
    return (await this.client().sismember(setKey, member)) === 1;
  }

  async redeemInvite(id: string, holder: string, expiresAt: number, now: number): Promise<boolean> {
    // The key lives as long as the token can be presented, then Redis forgets it by itself.
    const ttl = Math.max(1, expiresAt - now);
    return Number(await this.client().invite(`${this.opts.prefix}{v:${id}}:use`, holder, ttl)) === 1;
  }

  latencyMs(): number | null {
    return this.lastLatency;
  }

  publishErrors(): number {
    return this.pubErrors;
  }
}
