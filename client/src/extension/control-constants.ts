/**
 * Limits of the local control socket a running `p2p-comm listen` serves (control-server.ts),
 * with units. Listed in docs/limits.md (Client, local control socket).
 */
import { RPC_MAX_LINE_BYTES } from '../constants.js';

/**
 * Longest request or answer line on the control socket, bytes: the same as the extension's
 * RPC_MAX_LINE_BYTES, room for a long message (MAX_LONG_MESSAGE_BYTES) doubled by JSON escapes
 * plus the request around it (a short MAX_MESSAGE_BYTES body even at 6× for \u0000 escapes
 * fits far below). A longer line is refused (CLIENT_ERR_LINE_TOO_LONG) and the connection closed.
 */
export const CONTROL_MAX_LINE_BYTES = RPC_MAX_LINE_BYTES;
/** Control connections served at once, connections (each is one CLI command); more are refused with CLIENT_ERR_BUSY. */
export const CONTROL_MAX_CONNECTIONS = 8;
/** Requests one control connection may have unanswered, requests; more are refused with CLIENT_ERR_BUSY. */
export const CONTROL_MAX_IN_FLIGHT = 16;
/** Sent message ids one control connection follows for delivered/failed notices, ids (oldest forgotten). */
export const CONTROL_MAX_TRACKED_SENDS = 256;
/** A control connection silent for this long is closed, ms (longer than any sensible `send --wait`). */
export const CONTROL_IDLE_TIMEOUT_MS = 10 * 60_000;
/** How long a CLI command waits to connect to a listener's socket and for each answer, ms. */
export const CONTROL_CALL_TIMEOUT_MS = 5_000;
