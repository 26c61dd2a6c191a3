/** Limits of the `p2p-comm mcp` server, with units. Listed in docs/limits.md (MCP server). */

import { MAX_LONG_MESSAGE_BYTES } from '../files/long-message.js';

/** Longest an MCP `read_messages` call may wait for a message (s); the gateway caps at 30. */
export const MCP_MAX_READ_WAIT_S = 30;
/** Items one `read_messages` call returns at most. */
export const MCP_MAX_READ_ITEMS = 100;
/** Longest one call to the host gateway may take (ms): the longest read wait plus slack. */
export const MCP_GATEWAY_TIMEOUT_MS = 40_000;
/**
 * Longest message text a tool accepts (characters): the extension's largest (long) message,
 * MAX_LONG_MESSAGE_BYTES (16 MiB). A text never has fewer UTF-8 bytes than UTF-16 characters,
 * so nothing the host accepts is refused here; the host gateway enforces its byte limit
 * (`maxMessageBytes`, HOST_ERR_BODY_TOO_LARGE naming it).
 */
export const MCP_MAX_TEXT_CHARS = MAX_LONG_MESSAGE_BYTES;
/**
 * Largest gateway response read (bytes). A read hands over (and so removes from the host's
 * inbox) what it returns: room for one largest message JSON-escaped (2×, quotes and newlines)
 * or as base64 (4/3), plus the host inbox's 4 MiB of smaller ones, escaped too — 3 × 16 MiB.
 */
export const MCP_MAX_RESPONSE_BYTES = 3 * MAX_LONG_MESSAGE_BYTES;
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
