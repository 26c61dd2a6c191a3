/**
 * Every limit of file transfers (client/src/files), with its unit. Listed in docs/limits.md
 * (Client → Files); a test keeps the two in sync. Engine options may lower or raise the ones
 * marked configurable; the rest are protocol bounds.
 */

/** Wire format version byte of every transfer message. */
export const FILE_WIRE_VERSION = 1;

/**
 * Default chunk payload, bytes. One chunk message (FILE_CHUNK_HEADER_BYTES + chunk) plus the
 * session's own header must fit one session packet (SESSION_MAX_PLAINTEXT_BYTES, 60 KiB), so
 * chunks never need reassembly below us; 48 KiB leaves 12 KiB for those headers.
 */
export const FILE_CHUNK_BYTES = 49_152;
/** Smallest chunk size an offer may name, bytes: smaller would spend more on headers than data. */
export const FILE_MIN_CHUNK_BYTES = 1_024;
/** Largest chunk size an offer may name, bytes: one chunk message stays under one 60 KiB packet. */
export const FILE_MAX_CHUNK_BYTES = 57_344;
/** Largest file offered or accepted by default, bytes (1 TiB; configurable per engine). */
export const FILE_MAX_BYTES = 1_099_511_627_776;
/** Longest offered file name, UTF-8 bytes (the common file-system name limit). */
export const FILE_MAX_NAME_BYTES = 255;
/** Longest media type, bytes (RFC 6838 allows 127 per part). */
export const FILE_MAX_MEDIA_TYPE_BYTES = 255;
/** Longest note with an offer, UTF-8 bytes. */
export const FILE_MAX_NOTE_BYTES = 1_024;

/**
 * Credit (chunk bytes granted but not yet received) per transfer, bytes (configurable). Keeps
 * one sender's burst under the relay's per-recipient share (RECIPIENT_BUSY_BYTES, 512 KiB)
 * with room for a second sender; a direct path may be given more.
 */
export const FILE_WINDOW_BYTES = 393_216;
/**
 * Credit across all incoming transfers together, bytes (configurable): what all senders may
 * have in flight towards us at once, so five senders at one receiver cannot overflow the
 * server's queue for it. Shared round-robin by chunk.
 */
export const FILE_RECEIVE_BUDGET_BYTES = 1_048_576;
/**
 * Share of the server's advertised per-recipient relay allowance (WELCOME relayAllowanceBytes)
 * given as credit to a relayed sender, per transfer and at least across transfers, percent. The
 * same 3/4 FILE_WINDOW_BYTES is of the old 512 KiB allowance: the rest leaves room for a second
 * sender and our own control traffic. 4 MiB advertised → 3 MiB of credit: eight times fewer
 * round trips through two WebSocket hops per MB (issue 14). A server that advertises none gets
 * FILE_WINDOW_BYTES and FILE_RECEIVE_BUDGET_BYTES.
 */
export const FILE_RELAY_ALLOWANCE_SHARE_PERCENT = 75;
/**
 * A relayed sender's credit is at most what the server's per-key byte rate (WELCOME
 * rateBytesPerS, RATE_BYTES_PER_S) lets through in this long, ms: the server refuses frames past
 * the rate (RDV_ERR_RATE_LIMITED), and every refused chunk costs a rewind of the whole window. At
 * the default 4 MiB/s: 419,430 bytes, about the old FILE_WINDOW_BYTES (bench:files at server
 * defaults, 64 MiB: 74 chunks re-sent with 384 KiB of credit, 768 with 3 MiB).
 */
export const FILE_RELAY_RATE_WINDOW_MS = 100;
/** A credit message is sent once the grant moved this many chunks past the last one sent. */
export const FILE_CREDIT_BATCH_CHUNKS = 4;
/**
 * …or this fraction of the transfer's window, parts, whichever is more: an 8 MiB direct window
 * (170 chunks) sent a CREDIT every 4 chunks, a sealed packet and a socket write each way per
 * 192 KiB; one per 1/8 window still leaves the sender 7/8 of its window to send meanwhile.
 */
export const FILE_CREDIT_BATCH_WINDOW_PARTS = 8;
/**
 * …or whenever the grant moved and the last CREDIT is this old, ms: on a healthy path slower
 * than 1/8 of the window per second, batches would come more than a second apart, and the
 * sender's path manager reads PATH_STALL_MS (1 s) without progress as a dead path.
 */
export const FILE_CREDIT_MAX_INTERVAL_MS = 250;
/**
 * Chunks the sender reads from the file in one read, at most (and never more than its credit):
 * one thread-pool round trip for many chunks instead of one each.
 */
export const FILE_READ_AHEAD_CHUNKS = 16;

/** Incoming transfers accepted and in progress at once, transfers. */
export const FILE_MAX_INCOMING = 64;
/** Incoming offers waiting for the host's decision at once, offers. */
export const FILE_MAX_PENDING_OFFERS = 32;
/** Outgoing transfers at once, transfers. */
export const FILE_MAX_OUTGOING = 64;
/** Finished incoming transfers remembered (to answer a re-sent offer with DONE), entries. */
export const FILE_FINISHED_REMEMBERED = 1_024;

/** The sender gives up on an unanswered offer after this, ms (a bit over APPROVAL_TIMEOUT_MS). */
export const FILE_OFFER_TIMEOUT_MS = 330_000;
/** The recipient declines an offer its host has not decided on after this, ms (configurable). */
export const FILE_APPROVAL_TIMEOUT_MS = 300_000;
/**
 * Silence after which each side re-sends (sender: the offer as a probe, rewinding to the last
 * acknowledged chunk; recipient: its credit), ms. Doubles per silent round up to
 * FILE_RESEND_MAX_MS; any progress resets it.
 */
export const FILE_RESEND_MS = 1_000;
/** Longest re-send interval, ms. */
export const FILE_RESEND_MAX_MS = 30_000;
/**
 * After a send found no path (no session yet: the first offer to a peer starts the handshake),
 * the sender tries again after this, ms, doubling up to FILE_RESEND_MS. A session handshake
 * takes ~0.1 s; waiting a whole FILE_RESEND_MS for it cost a 256 MiB direct transfer a quarter
 * of its time in bench:files.
 */
export const FILE_NO_PATH_RETRY_MS = 20;
/**
 * The recipient makes its progress durable (fdatasync of the partial file, then a journal
 * line) every this many chunks: a restart re-requests at most this many chunks.
 */
export const FILE_PERSIST_EVERY_CHUNKS = 64;
/** Read buffer used when hashing a file or a partial file, bytes. */
export const FILE_HASH_READ_BYTES = 1_048_576;
/** Highest " (n)" suffix tried to avoid overwriting a file in the inbox. */
export const FILE_MAX_NAME_SUFFIX = 9_999;
/** Entries looked at when measuring the inbox for the quota, entries (files beyond are not counted). */
export const FILE_QUOTA_SCAN_MAX_ENTRIES = 100_000;

/** A progress bar on a terminal is redrawn at most this often, ms. */
export const FILE_PROGRESS_TTY_INTERVAL_MS = 100;
/** Without a terminal, a progress line is printed at most this often (and at each 10 %), ms. */
export const FILE_PROGRESS_PLAIN_INTERVAL_MS = 5_000;
/** The transfer rate is averaged over this much recent time, ms. */
export const FILE_PROGRESS_RATE_WINDOW_MS = 5_000;
/** Samples kept for the rate average, samples (older ones are folded away). */
export const FILE_PROGRESS_RATE_SAMPLES = 64;
