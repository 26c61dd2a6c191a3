/**
 * Byte-level tampering of client⇄server frames (docs/protocol.md "Client ⇄ server frames v1",
 * "Peer packets"). Pure functions over one WebSocket message, so the proxy stays a pipe and
 * every alteration is testable on its own. Offsets are the spec's; nothing here decrypts.
 */

/** Frame types the proxy looks into (byte 0 of a frame). */
export const Frame = Object.freeze({ SIGNAL: 0x10, RELAY: 0x11, DELIVER: 0x12, RELAY_TTL: 0x17 });

/** Bytes before the peer packet: DELIVER type‖channel‖from[32]; SIGNAL/RELAY type‖frameId‖to[32]; RELAY_TTL adds ttlS. */
const PACKET_OFFSET: Readonly<Record<number, number>> = {
  [Frame.DELIVER]: 1 + 1 + 32,
  [Frame.SIGNAL]: 1 + 4 + 32,
  [Frame.RELAY]: 1 + 4 + 32,
  [Frame.RELAY_TTL]: 1 + 4 + 4 + 32,
};

/** Envelope v1: the ciphertext starts after the 142-byte header (docs/protocol.md "Envelope v1"). */
const ENVELOPE_CIPHERTEXT_OFFSET = 142;
/** Envelope v1 type byte (offset 1) values the scripts match on. */
const ENVELOPE_CONSENT_REQUEST = 1;
const ENVELOPE_CONSENT_RESPONSE = 2;
const ENVELOPE_DATA = 5;
/** v2 packet types (byte 1). */
const V2_TRANSPORT = 3;
const V2_PREKEY = 4;
/**
 * A TRANSPORT packet at least this long carries a data message of a script's padded text (the
 * tamper scripts pad their texts past it); acks (~100 bytes) and prekey-bundle pushes (~1.4 kB)
 * under a session stay below, so a rule never fires on them by accident.
 */
export const DATA_TRANSPORT_MIN_BYTES = 2_048;

/** What a rule matches in the peer packet. */
export type PacketMatch = 'data' | 'consent' | 'any';

export interface PacketView {
  frameType: number;
  /** Offset of the peer packet inside the frame. */
  offset: number;
  packet: Uint8Array;
}

/** The peer packet inside a SIGNAL/RELAY/RELAY_TTL/DELIVER frame, or null for any other frame. */
export function peerPacketOf(frame: Uint8Array): PacketView | null {
  const type = frame[0];
  if (type === undefined) return null;
  const offset = PACKET_OFFSET[type];
  if (offset === undefined || frame.length <= offset) return null;
  return { frameType: type, offset, packet: frame.subarray(offset) };
}

/** Whether a peer packet is a data message (any carriage), a consent message, or either. */
export function packetMatches(packet: Uint8Array, match: PacketMatch): boolean {
  if (match === 'any') return true;
  const [version, type] = [packet[0], packet[1]];
  if (version === 0x01)
    return match === 'data'
      ? type === ENVELOPE_DATA
      : type === ENVELOPE_CONSENT_REQUEST || type === ENVELOPE_CONSENT_RESPONSE;
  if (version === 0x02 && match === 'data')
    return type === V2_PREKEY || (type === V2_TRANSPORT && packet.length >= DATA_TRANSPORT_MIN_BYTES);
  return false;
}

/**
 * Flip one bit in the sealed part of the peer packet: the first ciphertext byte of an envelope
 * v1 (its signature covers it, so the signature fails first), the last byte of a v2 packet (the
 * AEAD tag of a TRANSPORT or PREKEY packet). Returns a copy of the frame.
 */
export function flipSealed(frame: Uint8Array, view: PacketView): Uint8Array {
  const out = Uint8Array.from(frame);
  const at = view.packet[0] === 0x01 ? view.offset + ENVELOPE_CIPHERTEXT_OFFSET : frame.length - 1;
  out[at] = (out[at] ?? 0) ^ 0x01;
  return out;
}

/** The peer packet's version byte set to `version` (default 0x03, a version no one speaks). Returns a copy. */
export function setPacketVersion(frame: Uint8Array, view: PacketView, version = 0x03): Uint8Array {
  const out = Uint8Array.from(frame);
  out[view.offset] = version;
  return out;
}

/** DELIVER's `from` (bytes 2..34) replaced by `key`: the server vouches for the wrong sender. Returns a copy. */
export function setDeliverSender(frame: Uint8Array, key: Uint8Array): Uint8Array {
  const out = Uint8Array.from(frame);
  out.set(key.subarray(0, 32), 2);
  return out;
}

/** A frame whose type byte no version of the protocol defines (0x7e), with 8 bytes of body. */
export function unknownFrame(type = 0x7e): Uint8Array {
  return Uint8Array.from([type, 0, 0, 0, 0, 0, 0, 0, 0]);
}
