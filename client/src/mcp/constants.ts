/** Limits of the `p2p-comm mcp` server, with units. Listed in docs/limits.md (MCP server). */

/** Longest an MCP `read_messages` call may wait for a message (s); the gateway caps at 30. */
export const MCP_MAX_READ_WAIT_S = 30;
/** Items one `read_messages` call returns at most. */
export const MCP_MAX_READ_ITEMS = 100;
/** Longest one call to the host gateway may take (ms): the longest read wait plus slack. */
export const MCP_GATEWAY_TIMEOUT_MS = 40_000;
/** Longest message text a tool accepts (characters); the gateway enforces the byte limit. */
export const MCP_MAX_TEXT_CHARS = 56 * 1024;
/** Largest gateway response read (bytes). */
export const MCP_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
/**
 * Longest one send waits on the host gateway (ms): the host holds the request open while its
 * user decides (HOST approvalTimeoutMs, 120 s by default). Just under the 300 s the HTTP client
 * waits for response headers.
 */
export const MCP_SEND_TIMEOUT_MS = 290_000;
/**
 * How long `send_message` waits for the outcome before answering "waiting for the user's
 * approval" (ms): well under the 60 s MCP clients commonly give a tool call.
 */
export const MCP_SEND_ANSWER_WAIT_MS = 25_000;
/** Sends remembered by id for retries and `message_status` (entries; the oldest is forgotten). */
export const MCP_MAX_TRACKED_SENDS = 1_024;
/** Longest client-chosen send id (characters of [A-Za-z0-9_-]). */
export const MCP_MAX_SEND_ID_CHARS = 64;
