import { SESSION_MAX_PLAINTEXT_BYTES, SESSION_VERSION } from '../constants.js';
import { ProtocolError } from '../errors.js';
import { CHACHA_TAG_BYTES } from './chacha-poly.js';

/**
 * v2 session packets, the whole wire format in one place (docs/protocol.md "v2 sessions"):
 *
 *   every packet   version u8 (= 2) ‖ type u8
 *   HANDSHAKE_INIT      ‖ Noise IKhfs message 1                        (exactly 1,330 bytes in all)
 *   HANDSHAKE_RESPONSE  ‖ Noise IKhfs message 2                        (1,154 bytes + payload)
 *   TRANSPORT           ‖ epoch u32 BE ‖ counter u64 BE ‖ ciphertext ‖ tag(16)
 *
 * The transport header (version, type, epoch, counter: 14 bytes) is the AEAD's associated data.
 */
export const SessionPacketType = Object.freeze({
  HANDSHAKE_INIT: 1,
  HANDSHAKE_RESPONSE: 2,
  TRANSPORT: 3,
} as const);
export type SessionPacketType = (typeof SessionPacketType)[keyof typeof SessionPacketType];

/** version(1) type(1). */
export const SESSION_PREFIX_BYTES = 2;
/** version(1) type(1) epoch(4) counter(8). */
export const TRANSPORT_HEADER_BYTES = 14;
/** Smallest transport packet (empty plaintext), bytes. */
export const MIN_TRANSPORT_PACKET_BYTES = TRANSPORT_HEADER_BYTES + CHACHA_TAG_BYTES;
/** Largest transport packet, bytes. */
export const MAX_TRANSPORT_PACKET_BYTES = MIN_TRANSPORT_PACKET_BYTES + SESSION_MAX_PLAINTEXT_BYTES;

/** Read version and type; throws PROTO_ERR_BAD_VERSION / PROTO_ERR_BAD_TYPE / PROTO_ERR_TRUNCATED. */
export function readSessionPacketType(packet: Uint8Array): SessionPacketType {
  if (!(packet instanceof Uint8Array)) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'packet must be bytes');
  if (packet.length < SESSION_PREFIX_BYTES) throw new ProtocolError('PROTO_ERR_TRUNCATED', 'session packet');
  if (packet[0] !== SESSION_VERSION)
    throw new ProtocolError(
      'PROTO_ERR_BAD_VERSION',
      `session packet version ${packet[0]}, expected ${SESSION_VERSION}`,
    );
  const type = packet[1]!;
  if (type < SessionPacketType.HANDSHAKE_INIT || type > SessionPacketType.TRANSPORT)
    throw new ProtocolError('PROTO_ERR_BAD_TYPE', `session packet type ${type}`);
  return type as SessionPacketType;
}

/** Prefix a Noise handshake message with version and type. */
export function encodeHandshakePacket(type: 1 | 2, noiseMessage: Uint8Array): Uint8Array {
  const out = new Uint8Array(SESSION_PREFIX_BYTES + noiseMessage.length);
  out[0] = SESSION_VERSION;
  out[1] = type;
  out.set(noiseMessage, SESSION_PREFIX_BYTES);
  return out;
}

/** The Noise message inside a handshake packet of the expected type. */
export function decodeHandshakePacket(packet: Uint8Array, expected: 1 | 2): Uint8Array {
  const type = readSessionPacketType(packet);
  if (type !== expected)
    throw new ProtocolError('PROTO_ERR_BAD_TYPE', `session packet type ${type}, expected ${expected}`);
  return packet.subarray(SESSION_PREFIX_BYTES);
}

export interface TransportHeader {
  readonly epoch: number;
  readonly counter: number;
}

/** Write the 14-byte transport header into `out` (which has room for the ciphertext after it). */
export function writeTransportHeader(out: Uint8Array, epoch: number, counter: number): void {
  const view = new DataView(out.buffer, out.byteOffset, TRANSPORT_HEADER_BYTES);
  out[0] = SESSION_VERSION;
  out[1] = SessionPacketType.TRANSPORT;
  view.setUint32(2, epoch);
  view.setUint32(6, Math.floor(counter / 2 ** 32));
  view.setUint32(10, counter >>> 0);
}

/**
 * Parse a transport packet's header. Counters above 2^53 − 1 cannot be represented and no honest
 * sender reaches them (SESSION_REJECT_AFTER_MESSAGES): they are reported as Infinity so that the
 * session refuses them by its limit.
 */
export function readTransportHeader(packet: Uint8Array): TransportHeader {
  const type = readSessionPacketType(packet);
  if (type !== SessionPacketType.TRANSPORT)
    throw new ProtocolError('PROTO_ERR_BAD_TYPE', `session packet type ${type}, expected transport`);
  if (packet.length < MIN_TRANSPORT_PACKET_BYTES) throw new ProtocolError('PROTO_ERR_TRUNCATED', 'transport packet');
  if (packet.length > MAX_TRANSPORT_PACKET_BYTES) throw new ProtocolError('PROTO_ERR_TOO_LARGE', 'transport packet');
  const view = new DataView(packet.buffer, packet.byteOffset, TRANSPORT_HEADER_BYTES);
  const epoch = view.getUint32(2);
  const hi = view.getUint32(6);
  const lo = view.getUint32(10);
  const counter = hi >= 2 ** 21 ? Number.POSITIVE_INFINITY : hi * 2 ** 32 + lo;
  return { epoch, counter };
}
