/** host:port as instance-link settings and announcements spell it (IPv6 in brackets). */
export interface HostPort {
  host: string;
  port: number;
}

/** `host:port` or `[v6]:port` → parts, or null when it is not one. */
export function parseHostPort(s: string): HostPort | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(s.trim());
  if (m === null) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}

/** True for a bind address that is every interface (not something another instance can dial). */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}
