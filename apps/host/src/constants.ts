/**
 * Every limit of the host gateway, with its unit. Listed in docs/limits.md (Host gateway).
 * Defaults here; the ones marked "config" can be changed in the host config file.
 */

/**
 * Largest HTTP request body a plugin may post (bytes), on every route but `…/send`, whose limit
 * follows the largest message (message-limits.ts).
 */
export const MAX_HTTP_BODY_BYTES = 128 * 1024;
/**
 * Largest message the host carries, in or out (bytes of UTF-8 text or of decoded data; config
 * `maxMessageBytes`). The extension's own default, MAX_LONG_MESSAGE_BYTES (16 MiB), and passed
 * to the extension the host starts (P2P_COMM_MAX_LONG_MESSAGE_BYTES) so both agree. Every
 * message-sized limit of the host is derived from it (message-limits.ts).
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Smallest `maxMessageBytes` (bytes): one packet-sized message, the extension's MAX_MESSAGE_BYTES. */
export const MIN_MAX_MESSAGE_BYTES = 56 * 1024;
/**
 * Largest `maxMessageBytes` (bytes): the extension reads JSON-RPC lines of at most
 * 2 × 16 MiB + 64 KiB (its RPC_MAX_LINE_BYTES), sized for its 16 MiB default; a larger message
 * could not be handed to it in one `messages.send`.
 */
export const MAX_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Room for the JSON-RPC request or notification around a message body on one line (bytes). */
export const RPC_ENVELOPE_BYTES = 64 * 1024;
/** Bytes of smaller messages a plugin's inbox holds besides one largest message. */
export const INBOX_EXTRA_BYTES = 4 * 1024 * 1024;
/** JSON-RPC requests to the extension awaiting a response at once. */
export const MAX_RPC_PENDING = 256;
/** How long a JSON-RPC request to the extension may take (ms). */
export const RPC_TIMEOUT_MS = 15_000;
/** Approvals (consent, send, receive) waiting for the user at once; more are denied. */
export const MAX_PENDING_APPROVALS = 64;
/** Decided approvals kept for the page's history list (entries). */
export const MAX_APPROVAL_HISTORY = 50;
/** How long an approval waits for the user before it counts as denied (ms; config). */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 120_000;
/** Characters of an incoming or outgoing message shown to the user in an approval. */
export const APPROVAL_PREVIEW_CHARS = 280;
/** Messages held per plugin until it reads them (count); the oldest is dropped and counted. */
export const MAX_INBOX_MESSAGES = 256;
/** Longest a plugin's long-poll may wait (ms). */
export const MAX_LONG_POLL_MS = 30_000;
/** Items returned by one read (count). */
export const MAX_READ_BATCH = 100;
/** Long-poll waiters per plugin at once. */
export const MAX_WAITERS_PER_PLUGIN = 4;
/** Live event streams of the approval page at once. */
export const MAX_UI_STREAMS = 8;
/** Audit lines kept in memory for the page and tests (entries); the file keeps all. */
export const AUDIT_RING_ENTRIES = 1_000;
/** Plugins in one host config. */
export const MAX_PLUGINS = 64;
/** Outgoing message ids remembered to route `message.delivered` back to the sender plugin. */
export const MAX_TRACKED_SENDS = 4_096;
/**
 * Files let in by the gates and remembered for the plugins that may fetch them (transfer id →
 * receivers, then where it landed), entries; the oldest is forgotten (its file stays on disk).
 */
export const MAX_TRACKED_FILES = 1_024;
/** Read buffer when the host re-hashes a landed file before telling a plugin where it is, bytes. */
export const FILE_HASH_READ_BYTES = 1_048_576;
/** A body above this size is high risk by default (bytes; config). */
export const DEFAULT_HIGH_RISK_BYTES = 16 * 1024;
/** Longest share string a plugin may pass to connect (characters); the extension's SHARE_MAX_CHARS. */
export const MAX_SHARE_CHARS = 1_024;
/** Minimum length of a plugin token or the approval-page token (characters). */
export const MIN_TOKEN_CHARS = 16;
/** Lifetime of the approval page's session cookie (s). */
export const UI_SESSION_MAX_AGE_S = 12 * 60 * 60;

export const EXTENSION_ID = 'p2p-comm';
export const PERMISSION_SEND = 'ext:p2p-comm:send';
export const PERMISSION_RECEIVE = 'ext:p2p-comm:receive';
/** List peers and read status. */
export const PERMISSION_PEERS = 'ext:p2p-comm:peers';
/** Ask to connect to a peer: the local user allows a key not yet trusted, then the peer's user decides. */
export const PERMISSION_CONNECT = 'ext:p2p-comm:connect';
export const KNOWN_PERMISSIONS = [PERMISSION_SEND, PERMISSION_RECEIVE, PERMISSION_PEERS, PERMISSION_CONNECT] as const;
export type Permission = (typeof KNOWN_PERMISSIONS)[number];
