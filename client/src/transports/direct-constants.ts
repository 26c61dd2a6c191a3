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
