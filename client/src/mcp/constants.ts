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
