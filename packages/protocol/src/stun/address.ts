/**
 * (XOR-)MAPPED-ADDRESS values (RFC 5389 §15.1, §15.2; RFC 8489 §14.1, §14.2): the address a
 * STUN server saw a request come from, as text both ends compare with what node:dgram prints.
 */
import { ProtocolError } from '../errors.js';
import { ipv4Bytes, ipv6Words } from '../ip-address.js';
import { STUN_FAMILY_IPV4, STUN_FAMILY_IPV6, STUN_MAGIC_COOKIE, STUN_TRANSACTION_ID_BYTES } from './constants.js';

export interface TransportAddress {
  readonly family: 'IPv4' | 'IPv6';
  readonly address: string;
  readonly port: number;
}

/** Value bytes: reserved (1), family (1), port (2), then 4 (IPv4) or 16 (IPv6) address bytes. */
const IPV4_VALUE_BYTES = 8;
const IPV6_VALUE_BYTES = 20;

/** The XOR key: the magic cookie, then (IPv6 only) the transaction id (RFC 5389 §15.2). */
function xorKey(transactionId: Uint8Array): Uint8Array {
  if (!(transactionId instanceof Uint8Array) || transactionId.length !== STUN_TRANSACTION_ID_BYTES) {
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `transactionId must be ${STUN_TRANSACTION_ID_BYTES} bytes`);
  }
  const key = new Uint8Array(16);
  new DataView(key.buffer).setUint32(0, STUN_MAGIC_COOKIE);
  key.set(transactionId, 4);
  return key;
}

/** XOR-MAPPED-ADDRESS value → address; PROTO_ERR_STUN_MALFORMED on a bad length or family. */
export function parseXorMappedAddress(value: Uint8Array, transactionId: Uint8Array): TransportAddress {
  return parseAddress(value, xorKey(transactionId));
}

/** MAPPED-ADDRESS (sent by RFC 3489 servers without the XOR form) value → address. */
export function parseMappedAddress(value: Uint8Array): TransportAddress {
  return parseAddress(value, new Uint8Array(16));
}

/** Address → XOR-MAPPED-ADDRESS value; PROTO_ERR_INVALID_ARGUMENT unless a valid literal and port. */
export function encodeXorMappedAddress(mapped: TransportAddress, transactionId: Uint8Array): Uint8Array {
  const key = xorKey(transactionId);
  const raw = addressBytes(mapped);
  const value = new Uint8Array(4 + raw.length);
  const view = new DataView(value.buffer);
  view.setUint8(1, raw.length === 4 ? STUN_FAMILY_IPV4 : STUN_FAMILY_IPV6);
  view.setUint16(2, mapped.port ^ (STUN_MAGIC_COOKIE >>> 16));
  for (let i = 0; i < raw.length; i++) value[4 + i] = raw[i]! ^ key[i]!;
  return value;
}

function parseAddress(value: Uint8Array, key: Uint8Array): TransportAddress {
  if (value.length < 4) throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'address attribute too short');
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const family = view.getUint8(1);
  const expected = family === STUN_FAMILY_IPV4 ? IPV4_VALUE_BYTES : family === STUN_FAMILY_IPV6 ? IPV6_VALUE_BYTES : -1;
  if (expected < 0) throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', `unknown address family ${family}`);
  if (value.length !== expected) throw new ProtocolError('PROTO_ERR_STUN_MALFORMED', 'address length');
  // The port is XORed with the cookie's top 16 bits, which are key bytes 0-1.
  const port = view.getUint16(2) ^ ((key[0]! << 8) | key[1]!);
  const raw = value.slice(4);
  for (let i = 0; i < raw.length; i++) raw[i]! ^= key[i]!;
  if (family === STUN_FAMILY_IPV4) return { family: 'IPv4', address: raw.join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((raw[i]! << 8) | raw[i + 1]!).toString(16));
  return { family: 'IPv6', address: compressIpv6(groups), port };
}

function addressBytes(mapped: TransportAddress): Uint8Array {
  const { family, address, port } = mapped;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'port must be 0..65535');
  }
  if (family === 'IPv4' && /^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    const bytes = ipv4Bytes(address);
    if (bytes.every((b) => b <= 255)) return Uint8Array.from(bytes);
  }
  // At most 7 colons and one "::", so the expansion below cannot ask for a negative gap.
  const colons = address.split(':').length - 1;
  const oneGap = address.indexOf('::') === address.lastIndexOf('::');
  if (family === 'IPv6' && /^[0-9a-fA-F:.]+$/.test(address) && colons >= 2 && colons <= 7 && oneGap) {
    const words = ipv6Words(address);
    if (words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff)) {
      const out = new Uint8Array(16);
      const view = new DataView(out.buffer);
      for (let i = 0; i < 8; i++) view.setUint16(i * 2, words[i]!);
      return out;
    }
  }
  throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `not an ${family} literal: ${address}`);
}

/** Longest run (≥ 2) of zero groups becomes "::" (RFC 5952), so addresses compare as Node prints them. */
function compressIpv6(groups: string[]): string {
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
