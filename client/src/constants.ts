/**
 * Every client default and limit, with its unit. Listed in docs/limits.md (Client section);
 * a test keeps the two in sync.
 */
import { MAX_PLAINTEXT_BYTES } from '@p2p-comm/protocol';
import { MAX_LONG_MESSAGE_BYTES } from './files/long-message.js';

/** Largest application message body sent as one packet, bytes. Larger goes as a long message (files/long-message.ts). */
export const MAX_MESSAGE_BYTES = 56 * 1024;
/** Largest JSON header inside a peer payload, bytes. Header + body always fit one envelope. */
export const MAX_PAYLOAD_HEADER_BYTES = 2 * 1024;
// Compile-time sanity: one message must fit one envelope (2-byte header length prefix).
if (MAX_MESSAGE_BYTES + MAX_PAYLOAD_HEADER_BYTES + 2 > MAX_PLAINTEXT_BYTES)
  throw new Error('MAX_MESSAGE_BYTES does not fit in one envelope');

/** Longest display name, UTF-8 bytes. */
export const MAX_DISPLAY_NAME_BYTES = 64;
/** Outbox: unacknowledged messages kept across all peers, messages. Over it, send fails. */
export const OUTBOX_MAX_MESSAGES = 4096;
/** Outbox: unacknowledged body bytes across all peers, bytes. Over it, send fails. */
export const OUTBOX_MAX_BYTES = 32 * 1024 * 1024;
/** Messages in flight (sent, unacked) per peer before later ones wait, messages. */
export const SEND_WINDOW_MESSAGES = 64;
/**
 * Envelope bytes in flight (sent, unacked) per peer before later ones wait, bytes. The relay
 * queues a burst at the receiver's socket and drops a reader whose queue passes its
 * SEND_QUEUE_MAX_BYTES (1 MiB by default): a window well under it, even sent twice (a
 * retransmit round on top of a late ack), never gets the receiver cut. One message always goes.
 */
export const SEND_WINDOW_BYTES = 256 * 1024;
/** When the server's WELCOME advertises its send queue, the byte window is at most 1/this of it, divisor. */
export const SEND_WINDOW_QUEUE_SHARE = 4;
/** First retransmit timeout, ms. Doubles per silent round up to RETRANSMIT_MAX_MS. */
export const RETRANSMIT_INITIAL_MS = 1_000;
/** Largest retransmit timeout, ms. */
export const RETRANSMIT_MAX_MS = 30_000;
/**
 * A message the rendezvous server answered QUEUED (stored in the offline peer's mailbox) is
 * parked: not resent on the retransmit timer, only when the peer is seen online, when our
 * server connection comes back, or this long after it was parked (the copy may have expired
 * or been lost), ms (ClientInit.mailboxResendAfterMs). The server dedupes such a resend.
 */
export const MAILBOX_RESEND_AFTER_MS = 10 * 60_000;
/** Receiver waits this long to coalesce acks into one envelope, ms. */
export const ACK_DELAY_MS = 5;
/** Consent requests resent while unanswered, ms between attempts. */
export const CONSENT_RETRY_MS = 5_000;
/** Unanswered incoming consent requests kept, requests (one per key). When full, expired then oldest go first. */
export const PENDING_CONSENT_MAX = 64;
/** An unanswered incoming consent request is dropped this long after it arrived, ms (ClientInit.consentTtlMs). */
export const PENDING_CONSENT_TTL_MS = 10 * 60_000;
/** Consent requests from one unknown key shown to the user, per CONSENT_RATE_WINDOW_MS. */
export const CONSENT_RATE_PER_KEY = 3;
/** Consent requests from all unknown keys shown to the user, per CONSENT_RATE_WINDOW_MS. */
export const CONSENT_RATE_GLOBAL = 10;
/** Window of the consent rate limits, ms. */
export const CONSENT_RATE_WINDOW_MS = 60_000;
/** Keys tracked by the consent rate limiter, entries (oldest evicted). */
export const CONSENT_RATE_MAX_KEYS = 1024;
/** Revoke notices re-sent to one refused peer, at most one per this many ms. */
export const REVOKE_NOTICE_INTERVAL_MS = 10_000;
/** Runtime approval requests waiting for the host, requests (one per peer at a time). */
export const PENDING_APPROVALS_MAX = 256;
/** An unanswered runtime approval is denied after this long, ms. */
export const APPROVAL_TIMEOUT_MS = 5 * 60_000;
/** Trusted peers kept in trusted_peers.json, entries. */
export const TRUST_MAX_PEERS = 10_000;
/** Known addresses remembered per peer, entries. */
export const TRUST_MAX_ADDRESSES = 16;
/** Largest trusted_peers.json / state snapshot read, bytes. */
export const MAX_STATE_FILE_BYTES = 256 * 1024 * 1024;
/** Journal lines appended before the journal is folded into its snapshot, lines. */
export const JOURNAL_COMPACT_LINES = 5_000;
/** Rendezvous reconnect: first delay, ms (full jitter). */
export const RECONNECT_INITIAL_MS = 250;
/** Rendezvous reconnect: largest delay, ms. */
export const RECONNECT_MAX_MS = 15_000;
/**
 * After RDV_ERR_REPLACED (another connection with our key took over): first reconnect delay,
 * ms; it doubles with every replacement inside REPLACED_WINDOW_MS (plus up to one base of
 * jitter, so two processes sharing a key drift apart).
 */
export const REPLACED_RECONNECT_MS = 30_000;
/** Automatic reconnects after replacements inside REPLACED_WINDOW_MS, count; past it the client stays replaced until reconnect(). */
export const REPLACED_MAX_RECONNECTS = 3;
/** Window over which replacements are counted, ms. */
export const REPLACED_WINDOW_MS = 10 * 60_000;
/** Rendezvous handshake (challenge → welcome) deadline, ms. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default heartbeat when the server's WELCOME does not say, ms. */
export const DEFAULT_HEARTBEAT_MS = 15_000;
/** Frames awaiting a server ACK, frames (oldest forgotten). */
export const PENDING_FRAMES_MAX = 4096;
/**
 * Longest JSON-RPC line read from stdin, bytes. A longer line is refused and skipped. Room for
 * a `messages.send` of MAX_LONG_MESSAGE_BYTES (16 MiB) whose text doubles when JSON-escaped
 * (newlines, quotes) or grows by a third as base64 `data`, plus 64 KiB of request around it.
 */
export const RPC_MAX_LINE_BYTES = 2 * MAX_LONG_MESSAGE_BYTES + 64 * 1024;
/** JSON-RPC requests being handled at once, requests. More get a busy error. */
export const RPC_MAX_IN_FLIGHT = 256;
/** Position acks sent to a trusted peer whose envelope came too old (a stale mailbox copy), at most one per this many ms. */
export const STALE_COPY_ACK_INTERVAL_MS = 5_000;
/** Peers remembered for STALE_COPY_ACK_INTERVAL_MS, entries (oldest forgotten). */
export const STALE_COPY_ACK_MAX_KEYS = 1_024;
/**
 * The relay refused a frame to a peer as busy (RDV_ERR_RECIPIENT_BUSY): our position ack may
 * have been that frame, and the peer's sender would then wait a doubled retransmit timeout.
 * The ack goes again this long after, at most once per this many ms per peer, ms.
 */
export const ACK_AFTER_BUSY_MS = 250;
/** Peers remembered for ACK_AFTER_BUSY_MS, entries (oldest forgotten). */
export const ACK_AFTER_BUSY_MAX_KEYS = 1_024;
/** Peers refused with a revoke notice remembered for REVOKE_NOTICE_INTERVAL_MS, entries (oldest forgotten). */
export const REVOKE_NOTICE_MAX_KEYS = 1_024;
/** Longest share string parsed, characters. */
export const SHARE_MAX_CHARS = 1_024;
/** Longest answer line read from the terminal by the CLI prompt, bytes. */
export const PROMPT_MAX_LINE_BYTES = 4_096;
/** Lines typed ahead of the CLI's questions kept to answer them, lines (later ones dropped). */
export const PROMPT_MAX_QUEUED_LINES = 64;
/** Peers the path manager tracks (links + status lines), peers; idle ones are forgotten first. */
export const PATHS_MAX_PEERS = 10_000;
/** Name changes proposed by peers and waiting for the local user, requests (one per peer at a time). */
export const NAME_CHANGE_PENDING_MAX = 64;
/** Refused name proposals remembered so the same one is not asked again, entries (oldest forgotten). */
export const NAME_CHANGE_REFUSED_MAX = 1_024;
/** Fingerprint bytes shown after a name that another peer's name looks like ("Alice (3f:a1)"), bytes. */
export const NAME_LABEL_FINGERPRINT_BYTES = 2;
/** Name skeletons kept to compare names quickly, entries (the cache is emptied when full). */
export const NAME_SKELETON_CACHE_MAX = 20_000;

// ---------------------------------------------------------------- v2 sessions and prekeys (issue 13)

/** An unanswered handshake message 1 is abandoned after this long, ms (then retried with backoff). */
export const PEER_HANDSHAKE_TIMEOUT_MS = 5_000;
/** First wait before a failed or timed-out handshake is retried, ms; doubles per failure. */
export const PEER_HANDSHAKE_RETRY_INITIAL_MS = 1_000;
/** Longest wait between handshake attempts to one peer, ms. */
export const PEER_HANDSHAKE_RETRY_MAX_MS = 60_000;
/**
 * Handshake message 1 answered per peer per PEER_HANDSHAKE_RATE_WINDOW_MS, messages. Each costs
 * the responder an ML-KEM-768 encapsulation and five X25519 operations (~7 ms), so a trusted
 * but misbehaving peer (or a server replaying its message 1) cannot keep a core busy.
 */
export const PEER_HANDSHAKE_RESPONSES_PER_PEER = 10;
/** Handshake message 1 answered from all peers together per PEER_HANDSHAKE_RATE_WINDOW_MS, messages. */
export const PEER_HANDSHAKE_RESPONSES_GLOBAL = 300;
/** Window of the two handshake response limits, ms. */
export const PEER_HANDSHAKE_RATE_WINDOW_MS = 60_000;
/** Peers with a session or handshake state kept, peers; past it the least recently used is closed (keys erased). */
export const PEER_SESSIONS_MAX = 10_000;
/**
 * Handshakes we initiated and wait on at once, handshakes. Each holds an ML-KEM-768 secret key
 * (2,400 bytes) and an X25519 ephemeral; new ones wait for a slot.
 */
export const PEER_HANDSHAKES_PENDING_MAX = 256;
/**
 * A session with no packet either way for this long is closed and its keys erased, ms: forward
 * secrecy for quiet pairs as well; the next message goes under the prekey while a new handshake runs.
 */
export const PEER_SESSION_IDLE_CLOSE_MS = 10 * 60_000;
/** How often handshake timeouts, idle sessions and retired receive keys are checked, ms. */
export const PEER_SESSION_SWEEP_MS = 1_000;
/**
 * While a peer sends TRANSPORT packets that open under nothing we hold although our session is
 * live, our CONFIRM is sent again under it at most this often, ms: the peer most likely missed
 * the first one (lost) and still seals under an older session, holding ours as a candidate.
 * Still unreadable an interval after a repeat: the peer does not hold ours at all, and a new
 * handshake starts beside it.
 */
export const PEER_SESSION_RECONFIRM_MS = 1_000;
/** Lifetime of our own prekey bundle, ms (PREKEY_BUNDLE_DEFAULT_LIFETIME_MS). */
export const PREKEY_OWN_LIFETIME_MS = 7 * 24 * 60 * 60_000;
/** A new bundle (id + 1) is made and published this long before the current one expires, ms. */
export const PREKEY_ROTATE_BEFORE_MS = 24 * 60 * 60_000;
/**
 * A rotated-out bundle's secrets are kept this long after it expired, ms: a message sealed to it
 * just before expiry may wait in a mailbox for the server's mailbox TTL (7 days by default).
 */
export const PREKEY_KEEP_AFTER_EXPIRY_MS = 7 * 24 * 60 * 60_000;
/** Own bundles (current + rotated-out, secrets held) kept at most, bundles; the oldest are erased first. */
export const PREKEY_OWN_BUNDLES_MAX = 8;
/** Peers' prekey bundles remembered, bundles (one per trusted peer; bounded like the trust store). */
export const PREKEY_PEER_BUNDLES_MAX = 10_000;
/** Server fetches of a peer's prekey bundle, at most one per peer per this many ms. */
export const PREKEY_FETCH_INTERVAL_MS = 30_000;
/** How often our own bundle is checked for rotation and expired secrets erased, ms. */
export const PREKEY_REFRESH_CHECK_MS = 60_000;
