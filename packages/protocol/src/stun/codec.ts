/**
 * The STUN message codec (RFC 5389 §6, §15; RFC 8489 §5, §14): pure functions over bytes,
 * separate from sockets, so tests feed raw datagrams (RFC 5769 vectors). The client encodes
 * Binding requests and decodes responses; the server decodes requests and encodes responses.
 *
 * decodeStunMessage checks: size within STUN_MAX_MESSAGE_BYTES, the two leading zero bits, the
 * magic cookie, a length field that is a multiple of 4 and matches the datagram, every
 * attribute inside the message, at most STUN_MAX_ATTRIBUTES, and a FINGERPRINT (if present)
 * that is last and matches. Every failure is a ProtocolError (PROTO_ERR_STUN_*), never a raw
 * RangeError or TypeError, so a hostile datagram costs a counted drop and nothing more.
 */
import { crc32 } from 'node:zlib';
import { ProtocolError } from '../errors.js';
import { parseMappedAddress, parseXorMappedAddress, type TransportAddress } from './address.js';
import {
  STUN_ATTR_ERROR_CODE,
  STUN_ATTR_FINGERPRINT,
  STUN_ATTR_MAPPED_ADDRESS,
  STUN_ATTR_XOR_MAPPED_ADDRESS,
  STUN_ATTRIBUTE_HEADER_BYTES,
  STUN_BINDING_ERROR,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  STUN_FINGERPRINT_XOR,
  STUN_HEADER_BYTES,
  STUN_MAGIC_COOKIE,
  STUN_MAX_ATTRIBUTES,
  STUN_MAX_MESSAGE_BYTES,
  STUN_TRANSACTION_ID_BYTES,
} from './constants.js';

export interface StunAttribute {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface StunMessage {
  /** Message type: method and class bits together (e.g. 0x0101 Binding success). */
  readonly type: number;
  readonly transactionId: Uint8Array;
  /** In wire order; a FINGERPRINT, when the message has one, is the last. */
  readonly attributes: readonly StunAttribute[];
}

export interface EncodeOptions {
  /** Append a FINGERPRINT attribute (RFC 5389 §15.5). */
  readonly fingerprint?: boolean;
}

export type BindingOutcome =
  | { readonly ok: true; readonly mapped: TransportAddress }
  | { readonly ok: false; readonly errorCode: number; readonly reason: string };

const FINGERPRINT_ATTRIBUTE_BYTES = STUN_ATTRIBUTE_HEADER_BYTES + 4;

const padded = (length: number): number => length + ((4 - (length % 4)) % 4);

/**
 * Encode a message; PROTO_ERR_INVALID_ARGUMENT on a bad type, transaction id or attribute, or
 * when the result would exceed STUN_MAX_MESSAGE_BYTES.
 * @example encodeStunMessage({ type: STUN_BINDING_REQUEST, transactionId, attributes: [] })
 */
export function encodeStunMessage(msg: StunMessage, options: EncodeOptions = {}): Uint8Array {
  const { type, transactionId, attributes } = msg;
  if (!Number.isInteger(type) || type < 0 || type > 0x3fff) {
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'type must be 0..0x3fff (two leading zero bits)');
  }
  if (!(transactionId instanceof Uint8Array) || transactionId.length !== STUN_TRANSACTION_ID_BYTES) {
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `transactionId must be ${STUN_TRANSACTION_ID_BYTES} bytes`);
  }
  if (!Array.isArray(attributes) || attributes.length + (options.fingerprint ? 1 : 0) > STUN_MAX_ATTRIBUTES) {
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `at most ${STUN_MAX_ATTRIBUTES} attributes`);
  }
  let total = STUN_HEADER_BYTES + (options.fingerprint ? FINGERPRINT_ATTRIBUTE_BYTES : 0);
  for (const a of attributes) {
    if (!Number.isInteger(a.type) || a.type < 0 || a.type > 0xffff || a.type === STUN_ATTR_FINGERPRINT) {
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'attribute type must be 0..0xffff, not FINGERPRINT');
    }
    if (!(a.value instanceof Uint8Array)) {
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'attribute value must be a Uint8Array');
    }
    total += STUN_ATTRIBUTE_HEADER_BYTES + padded(a.value.length);
  }
  if (total > STUN_MAX_MESSAGE_BYTES) {
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `message would be ${total} bytes`);
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint16(0, type);
  view.setUint16(2, total - STUN_HEADER_BYTES); // FINGERPRINT's CRC covers the final length
  view.setUint32(4, STUN_MAGIC_COOKIE);
  out.set(transactionId, 8);
  let off = STUN_HEADER_BYTES;
  for (const a of attributes) {
    view.setUint16(off, a.type);
    view.setUint16(off + 2, a.value.length);
    out.set(a.value, off + STUN_ATTRIBUTE_HEADER_BYTES);
    off += STUN_ATTRIBUTE_HEADER_BYTES + padded(a.value.length);
  }
  if (options.fingerprint) {
    view.setUint16(off, STUN_ATTR_FINGERPRINT);
    view.setUint16(off + 2, 4);
    view.setUint32(off + 4, fingerprintOf(out.subarray(0, off)));
  }
  return out;
}

/** A Binding request with no attributes: 20 bytes. */
export function encodeBindingRequest(transactionId: Uint8Array): Uint8Array {
  return encodeStunMessage({ type: STUN_BINDING_REQUEST, transactionId, attributes: [] });
}

/** Decode and structurally validate one datagram (checks above); PROTO_ERR_STUN_* on anything else. */
export function decodeStunMessage(input: Uint8Array): StunMessage {
  if (!(input instanceof Uint8Array))
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'bytes must be a Uint8Array');
  // A plain Uint8Array over the same memory: a Buffer's slice() would share it, this one copies.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.length < STUN_HEADER_BYTES) throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'shorter than the header');
  if (bytes.length > STUN_MAX_MESSAGE_BYTES) throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'too large');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(0);
  if ((type & 0xc000) !== 0) throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'first two bits are not zero');
  const length = view.getUint16(2);
  if (view.getUint32(4) !== STUN_MAGIC_COOKIE) throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'no magic cookie');
  if (length % 4 !== 0 || length !== bytes.length - STUN_HEADER_BYTES) {
    throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'length field is not a multiple of 4 matching the datagram');
  }
  const transactionId = bytes.slice(8, 8 + STUN_TRANSACTION_ID_BYTES);
  const attributes: StunAttribute[] = [];
  let off = STUN_HEADER_BYTES;
  while (off < bytes.length) {
    if (attributes.length >= STUN_MAX_ATTRIBUTES) {
      throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'too many attributes');
    }
    if (off + STUN_ATTRIBUTE_HEADER_BYTES > bytes.length) {
      throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'truncated attribute header');
    }
    const attrType = view.getUint16(off);
    const attrLen = view.getUint16(off + 2);
    const start = off + STUN_ATTRIBUTE_HEADER_BYTES;
    const end = start + padded(attrLen);
    if (end > bytes.length) throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'attribute runs past the end');
    if (attrType === STUN_ATTR_FINGERPRINT) {
      // FINGERPRINT must be last and covers everything before it (RFC 5389 §15.5).
      if (attrLen !== 4 || end !== bytes.length) {
        throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'FINGERPRINT is not the last 4-byte attribute');
      }
      if (view.getUint32(start) !== fingerprintOf(bytes.subarray(0, off))) {
        throw new ProtocolError('PROTO_ERR_STUN_BAD_FINGERPRINT');
      }
    }
    attributes.push({ type: attrType, value: bytes.slice(start, start + attrLen) });
    off = end;
  }
  return { type, transactionId, attributes };
}

/**
 * What a Binding response says: the mapped address (XOR form preferred), or the server's
 * error. PROTO_ERR_STUN_NO_MAPPED_ADDRESS for a success without one; PROTO_ERR_STUN_MALFORMED
 * for another message type or a bad address value.
 */
export function bindingOutcome(msg: StunMessage): BindingOutcome {
  if (msg.type === STUN_BINDING_SUCCESS) {
    const xor = msg.attributes.find((a) => a.type === STUN_ATTR_XOR_MAPPED_ADDRESS);
    if (xor) return { ok: true, mapped: parseXorMappedAddress(xor.value, msg.transactionId) };
    const plain = msg.attributes.find((a) => a.type === STUN_ATTR_MAPPED_ADDRESS);
    if (plain) return { ok: true, mapped: parseMappedAddress(plain.value) };
    throw new ProtocolError('PROTO_ERR_STUN_NO_MAPPED_ADDRESS');
  }
  if (msg.type === STUN_BINDING_ERROR) {
    const attr = msg.attributes.find((a) => a.type === STUN_ATTR_ERROR_CODE);
    if (!attr || attr.value.length < 4) return { ok: false, errorCode: 0, reason: 'no ERROR-CODE' };
    const errorCode = (attr.value[2]! & 0x07) * 100 + attr.value[3]!;
    return { ok: false, errorCode, reason: new TextDecoder().decode(attr.value.subarray(4)) };
  }
  throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', `not a Binding response (type 0x${msg.type.toString(16)})`);
}

/** CRC-32 of the message so far, XORed with "STUN" (RFC 5389 §15.5). */
function fingerprintOf(before: Uint8Array): number {
  return (crc32(before) ^ STUN_FINGERPRINT_XOR) >>> 0;
}
