/**
 * STUN (RFC 5389) wire constants and the client's limits. Units are in the names or comments.
 * The retransmission schedule is shorter than RFC 5389's default (RTO 500 ms, 7 sends, ~39.5 s)
 * on purpose: `doctor` and candidate gathering want an answer in seconds, and a path whose
 * STUN needs tens of seconds is reported as blocked rather than waited for.
 */
export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_HEADER_BYTES = 20;
export const STUN_TRANSACTION_ID_BYTES = 12;

/** Message types (method | class bits). */
export const STUN_BINDING_REQUEST = 0x0001;
export const STUN_BINDING_SUCCESS = 0x0101;
export const STUN_BINDING_ERROR = 0x0111;

/** Attribute types. */
export const STUN_ATTR_MAPPED_ADDRESS = 0x0001;
export const STUN_ATTR_ERROR_CODE = 0x0009;
export const STUN_ATTR_XOR_MAPPED_ADDRESS = 0x0020;
export const STUN_ATTR_SOFTWARE = 0x8022;
export const STUN_ATTR_FINGERPRINT = 0x8028;
/** FINGERPRINT is CRC-32 of the message XORed with this ("STUN"). */
export const STUN_FINGERPRINT_XOR = 0x5354554e;

/** Largest STUN datagram the client parses (bytes); larger ones are dropped unparsed. */
export const STUN_MAX_MESSAGE_BYTES = 1_500;
/** Most attributes parsed from one message; more is malformed input. */
export const STUN_MAX_ATTRIBUTES = 32;

/** First retransmission timeout (ms); doubles after every send. */
export const STUN_INITIAL_RTO_MS = 200;
/** Sends of one Binding request, the first included. */
export const STUN_MAX_TRANSMISSIONS = 5;
/** Longest wait for one Binding transaction, all retransmissions included (ms). */
export const STUN_TRANSACTION_TIMEOUT_MS = 4_000;

/** Default STUN ports of the rendezvous responder: primary, and the second port it answers on. */
export const STUN_DEFAULT_PORT = 3478;
export const STUN_DEFAULT_ALT_PORT = 3479;
