/**
 * The STUN client's limits (wire constants and codec limits are in @p2p-comm/protocol/stun).
 * Units are in the names or comments. The retransmission schedule is shorter than RFC 5389's
 * default (RTO 500 ms, 7 sends, ~39.5 s) on purpose: `doctor` and candidate gathering want an
 * answer in seconds, and a path whose STUN needs tens of seconds is reported as blocked rather
 * than waited for.
 */

/** First retransmission timeout (ms); doubles after every send. */
export const STUN_INITIAL_RTO_MS = 200;
/** Sends of one Binding request, the first included. */
export const STUN_MAX_TRANSMISSIONS = 5;
/** Longest wait for one Binding transaction, all retransmissions included (ms). */
export const STUN_TRANSACTION_TIMEOUT_MS = 4_000;

/** Default STUN ports of the rendezvous responder: primary, and the second port it answers on. */
export const STUN_DEFAULT_PORT = 3478;
export const STUN_DEFAULT_ALT_PORT = 3479;
