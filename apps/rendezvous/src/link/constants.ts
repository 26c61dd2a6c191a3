/**
 * Limits and timings of instance-to-instance links (docs/instance-links.md), each with its unit.
 * They are protocol constants of the link, not operator settings: both ends of a link must
 * agree on them, and none of them is a per-deployment capacity choice.
 */

/** Bytes a link peer may send before it has authenticated (CHALLENGE/HELLO/WELCOME are < 200), bytes. */
export const LINK_HANDSHAKE_MAX_BYTES = 512;
/** Time from TCP connect to an authenticated link, either side, ms: a silent dialer cannot hold a slot. */
export const LINK_HANDSHAKE_TIMEOUT_MS = 3_000;
/** Inbound links waiting to authenticate at once, connections: a stranger cannot exhaust sockets. */
export const LINK_MAX_PENDING_HANDSHAKES = 64;
/** Authenticated links of one instance (one per peer instance), links: the size of a fleet we serve. */
export const LINK_MAX_PEERS = 256;
/**
 * Bytes sent on a link and not yet acknowledged by the peer (kept for a replay through Redis if
 * the link dies), bytes. Past it the link is treated as stalled: closed, its unacknowledged
 * batches replayed through Redis, and routing stays on Redis until a redial succeeds.
 */
export const LINK_UNACKED_MAX_BYTES = 16 * 1024 * 1024;
/** Interval of a link's keepalive (an ACK frame repeating the last processed sequence), ms. */
export const LINK_KEEPALIVE_MS = 500;
/** A link that received nothing for this long is dead (closed, replayed through Redis), ms. Below ROUTE_TIMEOUT_MS. */
export const LINK_IDLE_TIMEOUT_MS = 2_000;
/** First wait before re-dialing a peer whose dial or link failed, ms; doubles per failure. */
export const LINK_REDIAL_MIN_MS = 250;
/** Longest wait between dials of one peer, ms. */
export const LINK_REDIAL_MAX_MS = 30_000;
/** How long a looked-up (or missing) link address of a peer instance is reused before asking Redis again, ms. */
export const LINK_ADDR_CACHE_MS = 5_000;
/** Lifetime of this instance's link address in Redis, ms; refreshed every LINK_ANNOUNCE_INTERVAL_MS. */
export const LINK_ANNOUNCE_TTL_MS = 30_000;
/** Interval of the link address refresh, ms. */
export const LINK_ANNOUNCE_INTERVAL_MS = 10_000;
/**
 * How long the receiving side remembers a closed link's last processed batch sequence, ms: a
 * replay of that link's batches through Redis arrives within ROUTE_TIMEOUT_MS of the death, and a
 * batch already processed from the link must then be skipped, not delivered twice.
 */
export const LINK_STREAM_MEMORY_MS = 60_000;
/** Inbound streams (one per link direction) remembered for replay dedupe, streams. */
export const LINK_STREAMS_MAX = 4_096;
/** Peer instances whose link address is cached or that have a dial state, entries. */
export const LINK_PEER_STATES_MAX = 4_096;
/**
 * A peer state with no link, no dial and no batch for this long is forgotten, ms: instances that
 * restarted under new random ids must not fill LINK_PEER_STATES_MAX over the months.
 */
export const LINK_PEER_STATE_IDLE_MS = 10 * 60_000;
/**
 * Batches sent through one link before it is closed and re-dialed, batches: sequence numbers are
 * u32 and never wrap inside one link.
 */
export const LINK_MAX_SEQ = 0xffff_fff0;
/** Below this average chunk size a batch is copied into one buffer before the write (fewer iovecs); above it, written as its chunks, bytes. */
export const LINK_GATHER_BELOW_BYTES = 2_048;
/**
 * Reads a split frame may span before it is gathered by copy after all, views: a BATCH of large
 * records is kept as the views of its reads (no second copy), but a peer trickling tiny reads
 * must not make one frame hold thousands of them.
 */
export const LINK_SPLIT_FRAME_MAX_PARTS = 64;
