/**
 * Every default limit of the rendezvous service, with its unit. Each one is configurable
 * through the env variable named next to it (see config.ts) and listed in docs/limits.md.
 */

/** Largest client frame, bytes (MAX_FRAME_BYTES). Larger frames close the socket with 1009. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
/** Per-key sustained frame rate, frames/s (RATE_MSGS_PER_S). */
export const DEFAULT_RATE_MSGS_PER_S = 1_000;
/** Per-key frame burst, frames (RATE_BURST_MSGS). */
export const DEFAULT_RATE_BURST_MSGS = 2_000;
/** Per-key sustained byte rate, bytes/s (RATE_BYTES_PER_S). */
export const DEFAULT_RATE_BYTES_PER_S = 4 * 1024 * 1024;
/** Per-key byte burst, bytes (RATE_BURST_BYTES). */
export const DEFAULT_RATE_BURST_BYTES = 8 * 1024 * 1024;
/** Per-IP sustained frame rate across all of that IP's connections, frames/s (RATE_IP_MSGS_PER_S). */
export const DEFAULT_RATE_IP_MSGS_PER_S = 20_000;
/** Per-IP sustained byte rate across all of that IP's connections, bytes/s (RATE_IP_BYTES_PER_S). */
export const DEFAULT_RATE_IP_BYTES_PER_S = 64 * 1024 * 1024;
/** Concurrent connections from one IP on one instance, connections (MAX_CONNS_PER_IP). */
export const DEFAULT_MAX_CONNS_PER_IP = 1_000;
/** Concurrent connections on one instance, connections (MAX_CONNECTIONS). */
export const DEFAULT_MAX_CONNECTIONS = 100_000;
/** Time from upgrade to a verified hello, ms (AUTH_DEADLINE_MS). */
export const DEFAULT_AUTH_DEADLINE_MS = 10_000;
/** Interval between server pings, ms (HEARTBEAT_INTERVAL_MS). Two missed pongs terminate. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/** Pings a peer may leave unanswered before it is terminated, count. */
export const HEARTBEAT_MAX_MISSED = 2;
/** Bytes buffered towards one socket before the slow reader is dropped, bytes (SEND_QUEUE_MAX_BYTES). */
export const DEFAULT_SEND_QUEUE_MAX_BYTES = 1024 * 1024;
/** Envelopes held for one offline recipient, messages (MAILBOX_MAX_MESSAGES). */
export const DEFAULT_MAILBOX_MAX_MESSAGES = 256;
/** Bytes held for one offline recipient, bytes (MAILBOX_MAX_BYTES). */
export const DEFAULT_MAILBOX_MAX_BYTES = 4 * 1024 * 1024;
/** How long a mailboxed envelope is kept, s (MAILBOX_TTL_S). */
export const DEFAULT_MAILBOX_TTL_S = 7 * 24 * 3600;
/** Recipients with a non-empty mailbox in the memory broker, keys (MAILBOX_MAX_KEYS). */
export const DEFAULT_MAILBOX_MAX_KEYS = 100_000;
/**
 * Envelopes one sender may hold in one recipient's mailbox, messages (MAILBOX_MAX_MESSAGES_PER_SENDER):
 * a quarter of MAILBOX_MAX_MESSAGES, so one stranger cannot fill a victim's mailbox on its own.
 */
export const DEFAULT_MAILBOX_MAX_MESSAGES_PER_SENDER = 64;
/** Bytes one sender may hold in one recipient's mailbox, bytes (MAILBOX_MAX_BYTES_PER_SENDER). */
export const DEFAULT_MAILBOX_MAX_BYTES_PER_SENDER = 1024 * 1024;
/**
 * Bytes held by all mailboxes together, accounted bytes (MAILBOX_TOTAL_MAX_BYTES): per instance
 * with the memory broker, per cluster (counted in Redis) with Redis. Keep it well under Redis
 * `maxmemory` so mailboxes can never take the memory presence and routing need.
 */
export const DEFAULT_MAILBOX_TOTAL_MAX_BYTES = 256 * 1024 * 1024;
/**
 * Bytes charged to the mailbox budget per stored envelope on top of its length, bytes: Redis
 * keeps a list entry, a per-sender counter, a dedupe index entry and (for a new mailbox) four
 * keys per recipient, so tiny envelopes cost far more memory than their length. Measured: a
 * 223-byte envelope alone in its mailbox took 986 bytes of Redis used_memory, 1,290 bytes since
 * the dedupe index (test/adversarial/item-02-mailbox-abuse.test.ts).
 */
export const MAILBOX_ITEM_OVERHEAD_BYTES = 1280;
/** Time buckets the Redis mailbox budget is counted in over one MAILBOX_TTL_S, buckets; each expires with its envelopes. */
export const MAILBOX_BUDGET_BUCKETS = 16;
/**
 * RECIPIENT_BUSY_BYTES defaults to SEND_QUEUE_MAX_BYTES divided by this, divisor: above it, frames
 * relayed to a recipient are refused to their sender with RDV_ERR_RECIPIENT_BUSY instead of
 * queued, so one sender's burst is paid for by that sender, never by cutting the recipient.
 */
export const RECIPIENT_BUSY_QUEUE_SHARE = 2;
/**
 * RELAY_ALLOWANCE_BYTES (bytes queued towards one recipient up to which relayed frames are still
 * accepted while the instance has a grant to give, RELAY_ALLOWANCE_TOTAL_BYTES; WELCOME advertises
 * it as relayAllowanceBytes) defaults to RECIPIENT_BUSY_BYTES times this, multiple: 4 MiB at the
 * defaults, and scaled with an operator's own RECIPIENT_BUSY_BYTES. RECIPIENT_BUSY_BYTES alone
 * (512 KiB) let a recipient give a relayed file transfer only 384 KiB of credit: one round trip
 * through two WebSocket hops per 384 KiB kept the relay at a fraction of the direct path (issue 14).
 * bench:files relay row, 128 MiB: 47–52 MB/s with 2 MiB, 58–72 with 4 MiB, 58 with 8 MiB.
 */
export const RELAY_ALLOWANCE_BUSY_MULTIPLE = 8;
/**
 * Bytes all grants of RELAY_ALLOWANCE_BYTES may add above RECIPIENT_BUSY_BYTES on one instance
 * together, bytes (RELAY_ALLOWANCE_TOTAL_BYTES): so N connections × the allowance can never
 * exhaust memory; past it recipients are held to RECIPIENT_BUSY_BYTES as before. 128 MiB is 35
 * recipients receiving at the full 4 MiB at once. 0 turns grants off.
 */
export const DEFAULT_RELAY_ALLOWANCE_TOTAL_BYTES = 128 * 1024 * 1024;
/**
 * How long a socket's queue may stay over RECIPIENT_BUSY_BYTES without one byte reaching the
 * network before the reader is cut with 4006, ms (SLOW_READER_TIMEOUT_MS). A spike is not a slow reader.
 */
export const DEFAULT_SLOW_READER_TIMEOUT_MS = 10_000;
/** Mailbox delivery sends while the recipient's queue is under this, then waits for the socket to drain, bytes. */
export const MAILBOX_DELIVERY_HIGH_WATER_BYTES = 256 * 1024;
/** Re-check of a paced mailbox delivery when the socket gives no 'drain' event, ms. */
export const MAILBOX_DELIVERY_RETRY_MS = 50;
/** Time SIGTERM allows for clients to leave before the process exits, ms (DRAIN_TIMEOUT_MS). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;
/** Retry hint sent in RESTARTING, ms (RESTART_RETRY_AFTER_MS). */
export const DEFAULT_RESTART_RETRY_AFTER_MS = 1_000;
/** Lifetime of issued TURN REST credentials, s (TURN_TTL_S). */
export const DEFAULT_TURN_TTL_S = 3_600;
/** Time a cross-instance frame waits for the remote instance's answer, ms (ROUTE_TIMEOUT_MS). */
export const DEFAULT_ROUTE_TIMEOUT_MS = 5_000;
/** Cross-instance frames awaiting an answer on one instance, frames (MAX_PENDING_ROUTES). */
export const DEFAULT_MAX_PENDING_ROUTES = 100_000;
/** How long a key→instance lookup is cached, ms (ROUTE_CACHE_TTL_MS). A stale entry costs one extra hop. */
export const DEFAULT_ROUTE_CACHE_TTL_MS = 2_000;
/**
 * Share of a route-cache entry's lifetime after which a read starts its background refresh
 * (0..1): late enough that an active key costs one lookup per 0.75 TTL (fewer than the one per
 * TTL plus the stalled frames before), early enough that the answer is back long before the
 * entry expires.
 */
export const ROUTE_CACHE_REFRESH_AT = 0.75;
/**
 * Presence lookups shared between the frames waiting for them, keys: one per recipient being
 * looked up; the limit only bounds the map (beyond it lookups still run, unshared).
 */
export const ROUTE_LOOKUPS_MAX = 10_000;
/** Cached key→instance lookups, entries (ROUTE_CACHE_MAX_ENTRIES). */
export const DEFAULT_ROUTE_CACHE_MAX_ENTRIES = 100_000;
/** Presence key lifetime in Redis, s; refreshed every heartbeat (PRESENCE_TTL_S). */
export const DEFAULT_PRESENCE_TTL_S = 90;
/**
 * Presence keys refreshed by one script call on a single Redis, keys. One call runs ~1 µs per
 * key inside Redis, so 500 keys hold Redis for ~0.5 ms: short against REDIS_COMMAND_TIMEOUT_MS
 * and other instances' commands, while one heartbeat round of 100,000 peers is 200 calls.
 */
export const PRESENCE_REFRESH_BATCH_KEYS = 500;
/** Failed hellos per IP per minute, cluster-wide, before the IP is refused for the rest of the minute (AUTH_FAILURES_PER_IP_PER_MIN). */
export const DEFAULT_AUTH_FAILURES_PER_IP_PER_MIN = 120;
/** Bytes of one cross-instance batch before it is flushed early, bytes. */
export const ROUTE_BATCH_MAX_BYTES = 512 * 1024;
/** Hops a cross-instance frame may take (the second only when a cached route was stale), hops. */
export const ROUTE_MAX_HOPS = 2;
/** IPs remembered as blocked for auth failures, entries. */
export const AUTH_BLOCK_MAX_ENTRIES = 10_000;
/** Interval of the pending-route sweep, ms. */
export const ROUTE_SWEEP_INTERVAL_MS = 250;
/** Allowlist entries accepted from a file, keys. */
export const ALLOWLIST_MAX_KEYS = 1_000_000;
/** Cached allowlist answers from Redis, entries; cached for ALLOWLIST_CACHE_TTL_MS. */
export const ALLOWLIST_CACHE_MAX_ENTRIES = 10_000;
/** Lifetime of a cached allowlist answer, ms. */
export const ALLOWLIST_CACHE_TTL_MS = 5_000;
/** Largest UDP datagram the STUN responder reads, bytes (RFC 5389 messages here are small). */
export const STUN_MAX_MESSAGE_BYTES = 548;
/** How long a refused connection may take to finish its close handshake before it is cut, ms. */
export const REJECTED_SOCKET_LINGER_MS = 2_000;
/** How long a socket cut for being a slow reader or missing pings may take to read its close frame before it is terminated, ms. */
export const CUT_SOCKET_LINGER_MS = 1_000;
/** Origins derived from the bind address when PUBLIC_ORIGINS is unset (hostname + interface addresses), entries. */
export const DERIVED_ORIGINS_MAX_ENTRIES = 64;
/** Sockets on one instance that have not authenticated yet, connections (MAX_UNAUTHENTICATED). Keeps MAX_CONNECTIONS for peers. */
export const DEFAULT_MAX_UNAUTHENTICATED = 10_000;
/** Of those, from one IP (one IPV6_PREFIX_BITS prefix), connections (MAX_UNAUTHENTICATED_PER_IP): one source cannot take the whole cap. */
export const DEFAULT_MAX_UNAUTHENTICATED_PER_IP = 128;
/** Prefix length that groups IPv6 addresses for per-IP limits, bits (IPV6_PREFIX_BITS); one /64 is one subscriber. */
export const DEFAULT_IPV6_PREFIX_BITS = 64;
/** Single-use invite tokens remembered as redeemed by the memory broker, entries; full = new redemptions refused (fails closed). */
export const INVITE_USES_MAX_ENTRIES = 100_000;
/** Invite token ids accepted in INVITE_REVOKED, ids. */
export const INVITE_REVOKED_MAX_IDS = 10_000;
/**
 * Prekey bundles the memory broker holds, bundles (one per key; 1,333 bytes each, so ~140 MB at
 * most). Full: the bundle that expires soonest is dropped for a new owner. Redis holds one key
 * per owner under its own maxmemory instead.
 */
export const PREKEY_STORE_MAX_KEYS = 100_000;
/**
 * Longest a published bundle is kept, ms (30 days, the longest validity a bundle may claim):
 * a bundle is kept until its own `expires`, capped by this.
 */
export const PREKEY_STORE_MAX_TTL_MS = 30 * 24 * 3600 * 1000;
/** Prekey requests (PREKEY_PUBLISH + PREKEY_FETCH) one connection may make per second, requests (refill rate). */
export const PREKEY_REQUESTS_PER_S = 5;
/**
 * Burst of prekey requests per connection, requests: a client fetching the bundles of its
 * trusted peers at start; past it RDV_ERR_RATE_LIMITED, so no connection can walk the key space
 * (or make the server verify signatures) faster than PREKEY_REQUESTS_PER_S.
 */
export const PREKEY_REQUESTS_BURST = 32;
