/** Every limit of the agent plugin, with its unit. Listed in docs/limits.md (AI agent plugin). */

/** Version tag every agent message carries; see docs/agent-messages.md. */
export const AGENT_MESSAGE_VERSION = 'p2p-agent/1';
/** Largest encoded agent message (bytes of UTF-8 JSON); below the gateway's send limit. */
export const MAX_AGENT_MESSAGE_BYTES = 48 * 1024;
/** Longest `text` in an agent message (characters). */
export const MAX_AGENT_TEXT_CHARS = 32 * 1024;
/** Longest message id (characters). */
export const MAX_AGENT_ID_CHARS = 64;
/** How many times a question may be passed on (agent asks agent asks agent …) before refusal. */
export const MAX_AGENT_DEPTH = 3;
/** Questions this agent has asked and awaits answers to (count). */
export const MAX_PENDING_ASKS = 64;
/** How long `ask` waits for the peer's answer (ms); the peer's user may need time to approve. */
export const DEFAULT_ASK_TIMEOUT_MS = 180_000;
/** Long-poll wait per read from the host gateway (ms). */
export const DEFAULT_POLL_WAIT_MS = 25_000;
/** Pause after a failed read before retrying (ms). */
export const POLL_RETRY_MS = 1_000;
/** Tokens the LLM may produce per answer. */
export const DEFAULT_MAX_TOKENS = 1_024;
/** How long one LLM call may take (ms). */
export const LLM_TIMEOUT_MS = 60_000;
/** Largest LLM HTTP response read (bytes). */
export const MAX_LLM_RESPONSE_BYTES = 1024 * 1024;
/** Peer requests accepted and not yet answered (count); more get a busy error reply. */
export const MAX_QUEUED_REQUESTS = 32;
/** Peer requests answered at the same time (count); the rest wait their turn, in order. */
export const MAX_CONCURRENT_ANSWERS = 4;
/**
 * Prefix by which the LLM asks the peer's agent a question while answering one. The agent
 * sends it (depth + 1), then gives the LLM the peer's answer and sends the LLM's final reply.
 */
export const ASK_PEER_PREFIX = 'ASK_PEER:';
/** Questions to the peer one answer may make (count). */
export const MAX_PEER_QUESTIONS_PER_ANSWER = 2;
