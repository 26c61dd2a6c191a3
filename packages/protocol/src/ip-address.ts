/**
 * Parsing IP literals into numbers, for the checks both ends make on addresses (the server
 * groups IPv6 clients by prefix; the client refuses to dial loopback, link-local, … addresses).
 * Inputs must already be valid literals (node:net `isIP`), without a zone id.
 */

/** The 4 bytes of a valid dotted IPv4 literal. */
export function ipv4Bytes(text: string): number[] {
  return text.split('.').map(Number);
}

/**
 * The 8 16-bit words of a valid IPv6 literal, `::` expanded and a trailing dotted IPv4 part
 * (`::ffff:192.0.2.1`) read as the last two words.
 *
 * @example ipv6Words('2001:db8::1') // [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]
 */
export function ipv6Words(text: string): number[] {
  let s = text.toLowerCase();
  const lastColon = s.lastIndexOf(':');
  const dotted = s.slice(lastColon + 1);
  if (dotted.includes('.')) {
    const v4 = ipv4Bytes(dotted);
    s = `${s.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const words = (part: string) => (part ? part.split(':').map((h) => Number.parseInt(h, 16)) : []);
  const gap = s.indexOf('::');
  if (gap < 0) return words(s);
  const left = words(s.slice(0, gap));
  const right = words(s.slice(gap + 2));
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
