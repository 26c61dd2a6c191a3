/**
 * Every limit of the load runner, with its unit. Listed in docs/limits.md (Load test).
 * The runner is a benchmark tool, but it must still never grow without bound or run forever.
 */

/** Most peers one run may open across all generator processes, connections. */
export const MAX_PEERS = 40_000;
/** Most peers one generator process holds; stays under the 20,000 open-file limit per process. */
export const MAX_PEERS_PER_GENERATOR = 9_500;
/** Longest measured phase of one scenario, seconds. */
export const MAX_DURATION_S = 600;
/** Most generator processes one run starts. */
export const MAX_GENERATORS = 8;
/** Most in-flight messages per direction of one pair (closed-loop window), messages. */
export const MAX_WINDOW = 256;
/** Most round-trip samples kept per generator; later samples overwrite a random slot (reservoir). */
export const MAX_LATENCY_SAMPLES = 200_000;
/** Most concurrent connection attempts per generator during a connect storm, connections. */
export const MAX_CONNECT_CONCURRENCY = 2_000;
/** Largest round-trip rate the latency scenario accepts, round trips per second. */
export const MAX_ROUND_TRIPS_PER_S = 50_000;

/** Longest a server process may take to accept connections after spawn, ms. */
export const SERVER_START_TIMEOUT_MS = 30_000;
/** Longest a generator may take to make its identities and sealed envelopes, ms. */
export const INIT_TIMEOUT_MS = 180_000;
/** Longest the whole connect phase of one generator may take, ms. */
export const CONNECT_PHASE_TIMEOUT_MS = 240_000;
/** Longest one WebSocket upgrade + authentication may take, ms. */
export const HANDSHAKE_TIMEOUT_MS = 20_000;
/** How long in-flight messages may take to arrive after sending stops, ms. Later = lost. */
export const DRAIN_TIMEOUT_MS = 5_000;
/** Settle time before RSS is read after the last idle connection opened, ms. */
export const RSS_SETTLE_MS = 3_000;

/** Bytes of handshake response a client buffers before giving up (HTTP 101 headers). */
export const MAX_HANDSHAKE_RESPONSE_BYTES = 8 * 1024;
/** Largest WebSocket message the generator accepts from a server, bytes. */
export const MAX_INBOUND_MESSAGE_BYTES = 1024 * 1024;
/** Messages buffered before a connection's handler is set (e.g. in the same read as the 101). */
export const MAX_EARLY_MESSAGES = 64;
/** Distinct error codes counted per generator; the rest are counted under "other". */
export const MAX_ERROR_CODES = 32;
/** Identities the k6 signer sidecar holds. */
export const SIGNER_MAX_PEERS = 50_000;
/** Largest request body the k6 signer reads, bytes. */
export const SIGNER_MAX_BODY_BYTES = 4_096;

/** Signaling message sizes (offer, answer, ICE candidate) as envelope bytes. */
export const SIGNAL_ENVELOPE_BYTES = Object.freeze({ offer: 2_000, answer: 1_600, candidate: 300 });
