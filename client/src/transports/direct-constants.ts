/** Limits and timeouts of the direct WebSocket path, each with its unit (docs/limits.md). */
import { MAX_ENVELOPE_BYTES } from '@p2p-comm/protocol';

/** URL path the direct listener serves. */
export const DIRECT_WS_PATH = '/p2p-comm/v1/direct';
/** Direct handshake version (second byte of every handshake frame). */
export const DIRECT_HANDSHAKE_VERSION = 1;
/** Largest WebSocket message accepted on a direct link, bytes: one envelope, nothing more. */
export const DIRECT_MAX_MESSAGE_BYTES = MAX_ENVELOPE_BYTES;
/** Both sides must finish the handshake within this, ms (from TCP connect / upgrade). */
export const DIRECT_HANDSHAKE_TIMEOUT_MS = 5_000;
/** Dialer gives up on a TCP/WebSocket connect after this, ms. */
export const DIRECT_CONNECT_TIMEOUT_MS = 3_000;
/** Interval between WebSocket pings on an open link, ms. */
export const DIRECT_PING_INTERVAL_MS = 5_000;
/** A link with no pong (or any message) for this long is dead, ms. */
export const DIRECT_DEAD_AFTER_MS = 15_000;
/** Per-link send buffer bound, bytes; beyond it the peer is too slow and the link closes. */
export const DIRECT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
/** Connections the listener holds at once (handshaking or open). */
export const DIRECT_MAX_CONNECTIONS = 256;
/** Connections still in the handshake at once (unauthenticated), bound against floods. */
export const DIRECT_MAX_PENDING_HANDSHAKES = 32;

/** Upgrade attempts (direct or WebRTC) to one peer back off from this after a failure, ms. */
export const UPGRADE_RETRY_BASE_MS = 2_000;
/** …doubling up to this, ms (jittered ±25%). */
export const UPGRADE_RETRY_MAX_MS = 5 * 60_000;
/** How often the upgrader re-checks peers that are not on their best path, ms. */
export const UPGRADE_TICK_MS = 3_000;
/** Peers the upgrader tracks (attempt state, addresses), peers; idle ones are forgotten first. */
export const UPGRADE_MAX_PEERS = 4_096;
/** Direct addresses remembered per peer (from rendezvous hints, mDNS, share strings), entries. */
export const UPGRADE_MAX_ADDRESSES_PER_PEER = 8;
/** Addresses a client publishes about its own listener, entries. */
export const UPGRADE_MAX_OWN_ADDRESSES = 8;
/** Largest path-negotiation payload inside a SIGNAL envelope, bytes. */
export const UPGRADE_MAX_SIGNAL_PAYLOAD_BYTES = 16 * 1024;
