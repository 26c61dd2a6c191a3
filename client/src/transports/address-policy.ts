/**
 * Which direct addresses the client may dial when someone else chose them: a peer's published
 * addresses (the `addrs` negotiation over the rendezvous), mDNS answers (anyone on the LAN can
 * send them), and `PathUpgrader.addAddress`. The direct handshake would fail against a wrong
 * key, but the TCP connect and the HTTP upgrade request have happened by then: a hostile hint
 * could make us knock on services of our own host (loopback), of the local link, or send to a
 * multicast group. So:
 *
 * - never: unspecified (0.0.0.0/8, ::; dialing them reaches this host), multicast
 *   (224.0.0.0/4, ff00::/8), limited broadcast (255.255.255.255), reserved 240.0.0.0/4;
 * - only when configured: loopback (127.0.0.0/8, ::1) with `allowLoopback` (tests, labs on
 *   one machine), link-local (169.254.0.0/16, fe80::/10) with `allowLinkLocal` (LANs
 *   without DHCP);
 * - otherwise: any unicast IP literal. Names are refused: resolving a name a peer chose could
 *   land anywhere, rules above included.
 *
 * IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) IPv6 forms are judged as the
 * IPv4 address they carry, in dotted or hex notation.
 *
 * @example
 *   isDialableAddress('::ffff:127.0.0.1', {}); // false
 *   isDialableAddress('127.0.0.1', { allowLoopback: true }); // true
 */
import { isIP } from 'node:net';
import { ipv4Bytes, ipv6Words } from '@p2p-comm/protocol';

export type AddressScope =
  | 'unicast'
  | 'loopback'
  | 'link-local'
  | 'multicast'
  | 'unspecified'
  | 'broadcast'
  | 'reserved'
  | 'not-an-ip';

export interface AddressPolicy {
  readonly allowLoopback?: boolean;
  readonly allowLinkLocal?: boolean;
}

export function addressScope(host: string): AddressScope {
  if (typeof host !== 'string') return 'not-an-ip';
  // A zone index (fe80::1%eth0) only says which interface; the address decides the scope.
  const bare = host.includes('%') ? host.slice(0, host.indexOf('%')) : host;
  const family = isIP(bare);
  if (family === 4) return ipv4Scope(ipv4Bytes(bare));
  if (family === 6) return ipv6Scope(ipv6Words(bare));
  return 'not-an-ip';
}

export function isDialableAddress(host: string, policy: AddressPolicy = {}): boolean {
  switch (addressScope(host)) {
    case 'unicast':
      return true;
    case 'loopback':
      return policy.allowLoopback === true;
    case 'link-local':
      return policy.allowLinkLocal === true;
    default:
      return false;
  }
}

function ipv4Scope(b: readonly number[]): AddressScope {
  const [a, c] = [b[0]!, b[1]!];
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 169 && c === 254) return 'link-local';
  if (a >= 224 && a <= 239) return 'multicast';
  if (b.every((x) => x === 255)) return 'broadcast';
  if (a >= 240) return 'reserved';
  return 'unicast';
}

function ipv6Scope(w: readonly number[]): AddressScope {
  const zeroes = (from: number, to: number) => w.slice(from, to).every((x) => x === 0);
  if (zeroes(0, 8)) return 'unspecified';
  if (zeroes(0, 7) && w[7] === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated): the IPv4 address decides.
  if (zeroes(0, 5) && (w[5] === 0xffff || w[5] === 0))
    return ipv4Scope([w[6]! >> 8, w[6]! & 255, w[7]! >> 8, w[7]! & 255]);
  if ((w[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((w[0]! & 0xff00) === 0xff00) return 'multicast';
  return 'unicast';
}
