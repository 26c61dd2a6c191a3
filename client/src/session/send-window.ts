import { MIN_ENVELOPE_BYTES, ROUTED_FRAME_HEADER_BYTES } from '@p2p-comm/protocol';
import { SEND_WINDOW_BYTES, SEND_WINDOW_QUEUE_SHARE } from '../constants.js';

/**
 * Generous bound on a DATA payload's JSON header (`{"v":1,"id":…,"s":…,"q":…,"enc":…}` with a
 * 32-hex id, a stream id of at most 64 characters and a safe-integer sequence is < 180 bytes).
 */
const DATA_HEADER_BOUND_BYTES = 192;

/**
 * Bytes one DATA message of `bodyBytes` puts on the wire at most: body, payload header and its
 * length prefix, envelope header/tag/signature, and the relay frame header. An upper bound, so
 * a window counted with it never undercounts what reaches the receiver's socket queue.
 */
export function dataWireBytes(bodyBytes: number): number {
  return bodyBytes + 2 + DATA_HEADER_BOUND_BYTES + MIN_ENVELOPE_BYTES + ROUTED_FRAME_HEADER_BYTES;
}

/**
 * The per-peer byte window: SEND_WINDOW_BYTES, or a 1/SEND_WINDOW_QUEUE_SHARE share of the
 * server's per-socket send queue when its WELCOME advertises one and that is smaller.
 */
export function sendWindowBytes(serverSendQueueBytes: number | null): number {
  if (serverSendQueueBytes === null) return SEND_WINDOW_BYTES;
  return Math.max(1, Math.min(SEND_WINDOW_BYTES, Math.floor(serverSendQueueBytes / SEND_WINDOW_QUEUE_SHARE)));
}
