/**
 * Codes the MCP server puts at the start of a tool error's text, next to the host gateway's
 * HOST_ERR_* codes it passes through. Documented in docs/errors.md (MCP server).
 */
export const MCP_ERRORS = {
  MCP_ERR_BAD_ARGUMENT: 'tool arguments are inconsistent (e.g. both or neither of share and key)',
  MCP_ERR_PEER_UNKNOWN: 'no single peer has that display name; use its key',
  MCP_ERR_GATEWAY_UNREACHABLE: 'the host gateway did not answer (not running, wrong P2P_COMM_HOST_URL, timeout)',
  MCP_ERR_GATEWAY_BAD_RESPONSE: 'the host gateway answered without JSON, or too much',
  MCP_ERR_TOOL_FAILED: 'unexpected failure inside the tool',
  MCP_ERR_ID_CONFLICT: 'send_message got an id already used for a different peer or text',
  MCP_ERR_UNKNOWN_ID: 'message_status got an id this MCP server has not sent (or no longer remembers)',
} as const;

export type McpErrorCode = keyof typeof MCP_ERRORS;
