/**
 * STUN message codec (RFC 5389 §6, §15): encodes Binding requests, decodes responses. Pure
 * functions over bytes, separate from sockets, so tests feed raw datagrams (RFC 5769 vectors).
 */
import { crc32 } from 'node:zlib';
import {
  STUN_ATTR_ERROR_CODE,
  STUN_ATTR_FINGERPRINT,
  STUN_ATTR_MAPPED_ADDRESS,
  STUN_ATTR_XOR_MAPPED_ADDRESS,
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
import { StunError } from './errors.js';

export interface StunAttribute {
  readonly type: number;
  readonly value: Uint8Array;
}

export interface StunMessage {
  /** Message type: method and class bits together (e.g. 0x0101 Binding success). */
  readonly type: number;
  readonly transactionId: Uint8Array;
  readonly attributes: readonly StunAttribute[];
}

export interface TransportAddress {
  readonly family: 'IPv4' | 'IPv6';
  readonly address: string;
  readonly port: number;
}

export type BindingOutcome =
  | { readonly ok: true; readonly mapped: TransportAddress }
  | { readonly ok: false; readonly errorCode: number; readonly reason: string };

/** A Binding request with no attributes: 20 bytes. */
export function encodeBindingRequest(transactionId: Uint8Array): Uint8Array {
  if (!(transactionId instanceof Uint8Array) || transactionId.length !== STUN_TRANSACTION_ID_BYTES) {
    throw new StunError('CLIENT_ERR_STUN_INVALID_ARGUMENT', `transactionId must be ${STUN_TRANSACTION_ID_BYTES} bytes`);
  }
  const out = new Uint8Array(STUN_HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint16(0, STUN_BINDING_REQUEST);
  view.setUint16(2, 0);
  view.setUint32(4, STUN_MAGIC_COOKIE);
  out.set(transactionId, 8);
  return out;
}

/** Decode and structurally validate one datagram; a present FINGERPRINT must match. */
export function decodeStunMessage(bytes: Uint8Array): StunMessage {
  if (bytes.length < STUN_HEADER_BYTES) throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'shorter than the header');
  if (bytes.length > STUN_MAX_MESSAGE_BYTES) throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'too large');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint16(0);
  if ((type & 0xc000) !== 0) throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'first two bits are not zero');
  const length = view.getUint16(2);
  if (view.getUint32(4) !== STUN_MAGIC_COOKIE) throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'no magic cookie');
  if (length % 4 !== 0 || length !== bytes.length - STUN_HEADER_BYTES) {
    throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'length field does not match the datagram');
  }
  const transactionId = bytes.slice(8, 8 + STUN_TRANSACTION_ID_BYTES);
  const attributes: StunAttribute[] = [];
  let off = STUN_HEADER_BYTES;
  while (off < bytes.length) {
    if (attributes.length >= STUN_MAX_ATTRIBUTES)
      throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'too many attributes');
    if (off + 4 > bytes.length) throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'truncated attribute header');
    const attrType = view.getUint16(off);
    const attrLen = view.getUint16(off + 2);
    const start = off + 4;
    const padded = start + attrLen + ((4 - (attrLen % 4)) % 4);
    if (padded > bytes.length) throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'attribute runs past the end');
    if (attrType === STUN_ATTR_FINGERPRINT) {
      // FINGERPRINT must be last and covers everything before it (RFC 5389 §15.5).
      if (attrLen !== 4 || padded !== bytes.length) {
        throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'FINGERPRINT is not the last 4-byte attribute');
      }
      const expected = (crc32(bytes.subarray(0, off)) ^ STUN_FINGERPRINT_XOR) >>> 0;
      if (view.getUint32(start) !== expected) throw new StunError('CLIENT_ERR_STUN_BAD_FINGERPRINT');
    }
    attributes.push({ type: attrType, value: bytes.slice(start, start + attrLen) });
    off = padded;
  }
  return { type, transactionId, attributes };
}

/** XOR-MAPPED-ADDRESS (RFC 5389 §15.2); the transaction id unmasks IPv6 addresses. */
export function parseXorMappedAddress(value: Uint8Array, transactionId: Uint8Array): TransportAddress {
  const cookie = new Uint8Array(4);
  new DataView(cookie.buffer).setUint32(0, STUN_MAGIC_COOKIE);
  const mask = new Uint8Array(16);
  mask.set(cookie, 0);
  mask.set(transactionId, 4);
  return parseAddress(value, mask);
}

/** MAPPED-ADDRESS (RFC 5389 §15.1), sent by old servers without the XOR form. */
export function parseMappedAddress(value: Uint8Array): TransportAddress {
  return parseAddress(value, undefined);
}

function parseAddress(value: Uint8Array, mask: Uint8Array | undefined): TransportAddress {
  if (value.length < 4) throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'address attribute too short');
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const familyByte = view.getUint8(1);
  const port = view.getUint16(2) ^ (mask ? 0x2112 : 0);
  const expectedLen = familyByte === 0x01 ? 8 : familyByte === 0x02 ? 20 : -1;
  if (expectedLen < 0) throw new StunError('CLIENT_ERR_STUN_MALFORMED', `unknown address family ${familyByte}`);
  if (value.length !== expectedLen) throw new StunError('CLIENT_ERR_STUN_MALFORMED', 'address length');
  const raw = value.slice(4);
  if (mask) for (let i = 0; i < raw.length; i++) raw[i]! ^= mask[i]!;
  if (familyByte === 0x01) return { family: 'IPv4', address: Array.from(raw).join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((raw[i]! << 8) | raw[i + 1]!).toString(16));
  return { family: 'IPv6', address: compressIpv6(groups), port };
}

function compressIpv6(groups: string[]): string {
  // Longest run of zero groups becomes "::" (RFC 5952), so addresses compare as Node prints them.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}

/** What a Binding response says: the mapped address, or the server's error. */
export function bindingOutcome(msg: StunMessage): BindingOutcome {
  if (msg.type === STUN_BINDING_SUCCESS) {
    const xor = msg.attributes.find((a) => a.type === STUN_ATTR_XOR_MAPPED_ADDRESS);
    if (xor) return { ok: true, mapped: parseXorMappedAddress(xor.value, msg.transactionId) };
    const plain = msg.attributes.find((a) => a.type === STUN_ATTR_MAPPED_ADDRESS);
    if (plain) return { ok: true, mapped: parseMappedAddress(plain.value) };
    throw new StunError('CLIENT_ERR_STUN_NO_MAPPED_ADDRESS');
  }
  if (msg.type === STUN_BINDING_ERROR) {
    const attr = msg.attributes.find((a) => a.type === STUN_ATTR_ERROR_CODE);
    if (!attr || attr.value.length < 4) return { ok: false, errorCode: 0, reason: 'no ERROR-CODE' };
    const errorCode = (attr.value[2]! & 0x07) * 100 + attr.value[3]!;
    return { ok: false, errorCode, reason: new TextDecoder().decode(attr.value.subarray(4)) };
  }
  throw new StunError('CLIENT_ERR_STUN_MALFORMED', `not a Binding response (type 0x${msg.type.toString(16)})`);
}
