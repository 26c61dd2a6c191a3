/**
 * STUN (RFC 5389 / RFC 8489) wire constants and the codec's limits, shared by the client's
 * Binding transactions (doctor, candidate gathering) and the rendezvous server's responder.
 * Units are in the names or comments.
 */
export const STUN_MAGIC_COOKIE = 0x2112a442;
/** Fixed header: type (2), length (2), magic cookie (4), transaction id (12). */
export const STUN_HEADER_BYTES = 20;
export const STUN_TRANSACTION_ID_BYTES = 12;
/** An attribute's header: type (2), value length (2); values are padded to 4 bytes. */
export const STUN_ATTRIBUTE_HEADER_BYTES = 4;

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

/** Address family bytes of (XOR-)MAPPED-ADDRESS (RFC 5389 §15.1). */
export const STUN_FAMILY_IPV4 = 0x01;
export const STUN_FAMILY_IPV6 = 0x02;

/**
 * Largest STUN message the codec decodes or encodes (bytes): one Ethernet MTU. A STUN message
 * never needs more on a UDP path (RFC 8489 §6.1 asks senders to stay below the path MTU);
 * larger input is refused before it is parsed.
 */
export const STUN_MAX_MESSAGE_BYTES = 1_500;
/** Most attributes decoded from one message; more is malformed input (bounds the work per datagram). */
export const STUN_MAX_ATTRIBUTES = 32;
