/**
 * Peer packets: the bytes inside SIGNAL/RELAY/DELIVER frames and on direct and WebRTC links
 * (docs/protocol.md "Peer packets"). Byte 0 is the version:
 *
 *   0x01                envelope v1 (envelope.ts): consent, revoke and other control messages
 *   0x02 ‖ 0x01         HANDSHAKE_INIT       (session-packet.ts, exactly HANDSHAKE_INIT_BYTES)
 *   0x02 ‖ 0x02         HANDSHAKE_RESPONSE   (HANDSHAKE_RESPONSE_MIN_BYTES + payload ≤ 1,024)
 *   0x02 ‖ 0x03         TRANSPORT            (session-packet.ts)
 *   0x02 ‖ 0x04 ‖ m     PREKEY               (m = a prekey message, prekey-message.ts, its own version 0x01)
 *
 * A relay sees only this much: the kind, the size, and for envelopes and prekey messages the
 * sender, recipient and message id (the mailbox dedupes on sender ‖ message id). Handshake and
 * transport packets name no one the relay could check, and carry nothing worth storing (a
 * session packet is useless once the session it belongs to is gone): they are live-only.
 *
 * `checkPeerPacket` is the relay's hot-path form (no allocation: returns a constant); the
 * offsets below then let it compare keys in place. `classifyPeerPacket` returns views for
 * everyone else. Both throw ProtocolError only.
 */
import {
  AEAD_TAG_BYTES,
  ENVELOPE_VERSION,
  MESSAGE_ID_BYTES,
  PREKEY_MESSAGE_HEADER_BYTES,
  PREKEY_MESSAGE_MAX_BYTES,
  PREKEY_MESSAGE_VERSION,
  PUBLIC_KEY_BYTES,
  SESSION_MAX_HANDSHAKE_PAYLOAD_BYTES,
  SESSION_VERSION,
} from './constants.js';
import {
  checkEnvelope,
  ENVELOPE_MESSAGE_ID_OFFSET,
  ENVELOPE_RECIPIENT_OFFSET,
  ENVELOPE_SENDER_OFFSET,
} from './envelope.js';
import { ProtocolError } from './errors.js';
import { HANDSHAKE_INIT_BYTES, HANDSHAKE_RESPONSE_MIN_BYTES } from './session/hybrid-handshake.js';
import {
  PREKEY_MESSAGE_ID_OFFSET,
  PREKEY_MESSAGE_RECIPIENT_OFFSET,
  PREKEY_MESSAGE_SENDER_OFFSET,
  PREKEY_MESSAGE_SEQUENCE_OFFSET,
} from './session/prekey-message.js';
import {
  MAX_TRANSPORT_PACKET_BYTES,
  MIN_TRANSPORT_PACKET_BYTES,
  SESSION_PREFIX_BYTES,
} from './session/session-packet.js';

/** Peer-packet versions this implementation reads (byte 0), in the order they were introduced. */
export const PEER_PACKET_VERSIONS: readonly number[] = Object.freeze([ENVELOPE_VERSION, SESSION_VERSION]);

/** Byte 1 of a v2 peer packet. 1–3 are the session packets (SessionPacketType); 4 wraps a prekey message. */
export const PeerPacketType = Object.freeze({
  HANDSHAKE_INIT: 1,
  HANDSHAKE_RESPONSE: 2,
  TRANSPORT: 3,
  PREKEY: 4,
} as const);
export type PeerPacketType = (typeof PeerPacketType)[keyof typeof PeerPacketType];

export const PeerPacketKind = Object.freeze({
  ENVELOPE: 'envelope',
  HANDSHAKE_INIT: 'handshake-init',
  HANDSHAKE_RESPONSE: 'handshake-response',
  TRANSPORT: 'transport',
  PREKEY: 'prekey',
} as const);
export type PeerPacketKind = (typeof PeerPacketKind)[keyof typeof PeerPacketKind];

/** Bytes before the prekey message in a PREKEY peer packet: version 0x02 ‖ type 0x04. */
export const PREKEY_PACKET_PREFIX_BYTES = SESSION_PREFIX_BYTES;
/** Offset of the sender's Ed25519 key in a PREKEY peer packet (prekey message offset 1). */
export const PREKEY_PACKET_SENDER_OFFSET = PREKEY_PACKET_PREFIX_BYTES + PREKEY_MESSAGE_SENDER_OFFSET;
/** Offset of the recipient's Ed25519 key in a PREKEY peer packet (prekey message offset 33). */
export const PREKEY_PACKET_RECIPIENT_OFFSET = PREKEY_PACKET_PREFIX_BYTES + PREKEY_MESSAGE_RECIPIENT_OFFSET;
/** Offset of the sequence number (u64 BE) in a PREKEY peer packet (prekey message offset 1,189). */
export const PREKEY_PACKET_SEQUENCE_OFFSET = PREKEY_PACKET_PREFIX_BYTES + PREKEY_MESSAGE_SEQUENCE_OFFSET;
/** Offset of the 16-byte message id in a PREKEY peer packet (prekey message offset 1,197). */
export const PREKEY_PACKET_MESSAGE_ID_OFFSET = PREKEY_PACKET_PREFIX_BYTES + PREKEY_MESSAGE_ID_OFFSET;
/** Smallest PREKEY peer packet (empty plaintext: header and tag), bytes. */
export const MIN_PREKEY_PACKET_BYTES = PREKEY_PACKET_PREFIX_BYTES + PREKEY_MESSAGE_HEADER_BYTES + AEAD_TAG_BYTES;
/** Largest PREKEY peer packet, bytes. */
export const MAX_PREKEY_PACKET_BYTES = PREKEY_PACKET_PREFIX_BYTES + PREKEY_MESSAGE_MAX_BYTES;
/** Largest HANDSHAKE_RESPONSE packet (largest payload), bytes. */
export const MAX_HANDSHAKE_RESPONSE_BYTES = HANDSHAKE_RESPONSE_MIN_BYTES + SESSION_MAX_HANDSHAKE_PAYLOAD_BYTES;

export interface PeerPacketInfo {
  /** Byte 0: 1 (envelope v1) or 2. */
  readonly version: number;
  readonly kind: PeerPacketKind;
  /**
   * True when a relay may keep the packet in a mailbox for an offline peer (envelope v1 and
   * PREKEY); handshake and transport packets are live-only.
   */
  readonly storable: boolean;
  /** Views into the input (envelope and PREKEY only): copy them if the buffer is reused. */
  readonly sender?: Uint8Array;
  readonly recipient?: Uint8Array;
  readonly messageId?: Uint8Array;
}

function tooShort(what: string, length: number, min: number): ProtocolError {
  return new ProtocolError('PROTO_ERR_TRUNCATED', `${what} of ${length} bytes, at least ${min}`);
}

function tooLong(what: string, length: number, max: number): ProtocolError {
  return new ProtocolError('PROTO_ERR_TOO_LARGE', `${what} of ${length} bytes, at most ${max}`);
}

function checkSize(what: string, length: number, min: number, max: number): void {
  if (length < min) throw tooShort(what, length, min);
  if (length > max) throw tooLong(what, length, max);
}

/**
 * Structure check of one peer packet, without allocating (a relay runs it per frame). Returns the
 * kind; the sender/recipient/message id then sit at the kind's offsets (peerPacketOffsets).
 * Envelopes get the full envelope structure check (checkEnvelope); v2 packets get their size
 * bounds, and a PREKEY packet its inner version and a sequence below 2^53. Throws ProtocolError:
 * PROTO_ERR_TRUNCATED (empty, or shorter than its kind), PROTO_ERR_TOO_LARGE,
 * PROTO_ERR_BAD_VERSION (naming the version and the versions spoken), PROTO_ERR_BAD_TYPE,
 * PROTO_ERR_INVALID_ARGUMENT (not bytes), and checkEnvelope's codes.
 */
export function checkPeerPacket(bytes: Uint8Array): PeerPacketKind {
  if (!(bytes instanceof Uint8Array))
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'peer packet must be bytes');
  const length = bytes.length;
  if (length === 0) throw new ProtocolError('PROTO_ERR_TRUNCATED', 'empty peer packet');
  const version = bytes[0]!;
  if (version === ENVELOPE_VERSION) {
    checkEnvelope(bytes);
    return PeerPacketKind.ENVELOPE;
  }
  if (version !== SESSION_VERSION)
    throw new ProtocolError(
      'PROTO_ERR_BAD_VERSION',
      `unknown peer-packet version ${version} (this implementation speaks ${PEER_PACKET_VERSIONS.join(', ')})`,
    );
  if (length < SESSION_PREFIX_BYTES) throw new ProtocolError('PROTO_ERR_TRUNCATED', 'v2 peer packet without a type');
  const type = bytes[1]!;
  switch (type) {
    case PeerPacketType.HANDSHAKE_INIT:
      if (length !== HANDSHAKE_INIT_BYTES) {
        if (length < HANDSHAKE_INIT_BYTES) throw tooShort('handshake init', length, HANDSHAKE_INIT_BYTES);
        throw tooLong('handshake init', length, HANDSHAKE_INIT_BYTES);
      }
      return PeerPacketKind.HANDSHAKE_INIT;
    case PeerPacketType.HANDSHAKE_RESPONSE:
      checkSize('handshake response', length, HANDSHAKE_RESPONSE_MIN_BYTES, MAX_HANDSHAKE_RESPONSE_BYTES);
      return PeerPacketKind.HANDSHAKE_RESPONSE;
    case PeerPacketType.TRANSPORT:
      checkSize('transport packet', length, MIN_TRANSPORT_PACKET_BYTES, MAX_TRANSPORT_PACKET_BYTES);
      return PeerPacketKind.TRANSPORT;
    case PeerPacketType.PREKEY: {
      checkSize('prekey packet', length, MIN_PREKEY_PACKET_BYTES, MAX_PREKEY_PACKET_BYTES);
      const inner = bytes[PREKEY_PACKET_PREFIX_BYTES]!;
      if (inner !== PREKEY_MESSAGE_VERSION)
        throw new ProtocolError(
          'PROTO_ERR_BAD_VERSION',
          `prekey message version ${inner} in a prekey packet (this implementation reads ${PREKEY_MESSAGE_VERSION})`,
        );
      // Sequence is u64 but must fit in 2^53 (decodePrekeyMessage refuses the rest): high 32 bits ≤ 0x1fffff.
      const s = PREKEY_PACKET_SEQUENCE_OFFSET;
      const high = bytes[s]! * 0x1000000 + (bytes[s + 1]! << 16) + ((bytes[s + 2]! << 8) | bytes[s + 3]!);
      if (high > 0x1fffff) throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'prekey message sequence beyond 2^53 − 1');
      return PeerPacketKind.PREKEY;
    }
    default:
      throw new ProtocolError(
        'PROTO_ERR_BAD_TYPE',
        `unknown v2 peer-packet type ${type} (this implementation reads 1 handshake-init, 2 handshake-response, 3 transport, 4 prekey)`,
      );
  }
}

/** True for the kinds a relay may mailbox for an offline peer. */
export function isStorablePeerPacket(kind: PeerPacketKind): boolean {
  return kind === PeerPacketKind.ENVELOPE || kind === PeerPacketKind.PREKEY;
}

/**
 * The same answer as isStorablePeerPacket(checkPeerPacket(bytes)) from two byte peeks, for a
 * packet already checked (a relay's cross-instance path, a mailbox that stores only checked
 * packets). Not a structure check.
 */
export function isStorablePeerPacketBytes(bytes: Uint8Array): boolean {
  const v = bytes[0];
  return v === ENVELOPE_VERSION || (v === SESSION_VERSION && bytes[1] === PeerPacketType.PREKEY);
}

export interface PeerPacketOffsets {
  readonly sender: number;
  readonly recipient: number;
  readonly messageId: number;
}

const ENVELOPE_OFFSETS: PeerPacketOffsets = Object.freeze({
  sender: ENVELOPE_SENDER_OFFSET,
  recipient: ENVELOPE_RECIPIENT_OFFSET,
  messageId: ENVELOPE_MESSAGE_ID_OFFSET,
});
const PREKEY_OFFSETS: PeerPacketOffsets = Object.freeze({
  sender: PREKEY_PACKET_SENDER_OFFSET,
  recipient: PREKEY_PACKET_RECIPIENT_OFFSET,
  messageId: PREKEY_PACKET_MESSAGE_ID_OFFSET,
});

/**
 * Sender and message id offsets of a packet already checked, from byte 0 (a mailbox reading
 * what it stored): envelope v1, else PREKEY. Not a structure check.
 */
export function storedPacketOffsets(bytes: Uint8Array): PeerPacketOffsets {
  return bytes[0] === SESSION_VERSION ? PREKEY_OFFSETS : ENVELOPE_OFFSETS;
}

/** Where sender, recipient (32 bytes each) and message id (16) sit for `kind`; null for session packets. */
export function peerPacketOffsets(kind: PeerPacketKind): PeerPacketOffsets | null {
  if (kind === PeerPacketKind.ENVELOPE) return ENVELOPE_OFFSETS;
  if (kind === PeerPacketKind.PREKEY) return PREKEY_OFFSETS;
  return null;
}

/**
 * Classify a peer packet after checking its structure (checkPeerPacket). Sender, recipient and
 * message id are views into `bytes`, present for envelopes and PREKEY packets.
 *
 * @example
 *   const p = classifyPeerPacket(bytes);
 *   if (p.storable) dedupeKey = concatBytes(p.sender!, p.messageId!);
 */
export function classifyPeerPacket(bytes: Uint8Array): PeerPacketInfo {
  const kind = checkPeerPacket(bytes);
  const version = bytes[0]!;
  const at = peerPacketOffsets(kind);
  if (at === null) return Object.freeze({ version, kind, storable: false });
  return Object.freeze({
    version,
    kind,
    storable: true,
    sender: bytes.subarray(at.sender, at.sender + PUBLIC_KEY_BYTES),
    recipient: bytes.subarray(at.recipient, at.recipient + PUBLIC_KEY_BYTES),
    messageId: bytes.subarray(at.messageId, at.messageId + MESSAGE_ID_BYTES),
  });
}

/** Wrap a prekey message (sealToPrekey's `message`) into a PREKEY peer packet. */
export function encodePrekeyPacket(prekeyMessage: Uint8Array): Uint8Array {
  if (!(prekeyMessage instanceof Uint8Array))
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'prekey message must be bytes');
  const out = new Uint8Array(PREKEY_PACKET_PREFIX_BYTES + prekeyMessage.length);
  out[0] = SESSION_VERSION;
  out[1] = PeerPacketType.PREKEY;
  out.set(prekeyMessage, PREKEY_PACKET_PREFIX_BYTES);
  return out;
}

/** The prekey message inside a PREKEY peer packet (a view), after checking it is one. */
export function decodePrekeyPacket(packet: Uint8Array): Uint8Array {
  const kind = checkPeerPacket(packet);
  if (kind !== PeerPacketKind.PREKEY)
    throw new ProtocolError('PROTO_ERR_BAD_TYPE', `peer packet is a ${kind}, expected prekey`);
  return packet.subarray(PREKEY_PACKET_PREFIX_BYTES);
}
