/** The hostname part of a Host header ("h", "h:port", "[v6]:port"). */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(1, end) : '';
  }
  const i = host.indexOf(':');
  return i < 0 ? host : host.slice(0, i);
}
