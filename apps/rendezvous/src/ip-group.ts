/**
 * The key per-IP limits count under. One IPv6 subscriber usually holds a whole /64 (often a
 * /56 or /48), so counting IPv6 per address would give one attacker 2^64 "IPs"; addresses are
 * grouped by their first IPV6_PREFIX_BITS bits. IPv4 stays per address, and an IPv4-mapped
 * IPv6 address (`::ffff:192.0.2.1`, what a dual-stack socket reports) is the IPv4 address.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { ipv6Words } from '@p2p-comm/protocol';

/**
 * The per-IP limit key of a client address.
 *
 * @example
 *   ipKey('192.0.2.7', 64)                  // '192.0.2.7'
 *   ipKey('::ffff:192.0.2.7', 64)           // '192.0.2.7'
 *   ipKey('2001:db8:1:2:aaaa::1', 64)       // '2001:db8:1:2:0:0:0:0/64'
 */
export function ipKey(address: string, v6PrefixBits: number): string {
  let a = address.trim();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (isIPv4(a)) return a;
  if (!isIPv6(a)) return address; // not an address (e.g. 'unknown'): its own bucket, as before
  const w = ipv6Words(a);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff)
    return `${w[6]! >> 8}.${w[6]! & 0xff}.${w[7]! >> 8}.${w[7]! & 0xff}`;
  const bits = Math.max(0, Math.min(128, v6PrefixBits));
  const masked = w.map((word, i) => {
    const keep = Math.max(0, Math.min(16, bits - 16 * i));
    return keep === 0 ? 0 : word & ((0xffff << (16 - keep)) & 0xffff);
  });
  return `${masked.map((x) => x.toString(16)).join(':')}/${bits}`;
}
