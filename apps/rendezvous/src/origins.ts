/**
 * The origins (host[:port]) a signed hello may name. A hello is signed over the origin the
 * client dialed; the server must accept only origins it really serves, or a server the victim
 * dialed once could replay the victim's hello here and take over the victim's session.
 *
 * With PUBLIC_ORIGINS set, that list is the answer (the operator knows the public names).
 * Unset, the default is derived from what this process binds — never from the Host header,
 * which the connecting party chooses:
 *   - a loopback bind (127.x, ::1, localhost): that address and `localhost`;
 *   - a wildcard bind (0.0.0.0, ::): the loopback names, the machine's hostname and every
 *     interface address (IPv6 link-local ones excluded: their zone ids have no URL form);
 *   - any other address or name: exactly that.
 * each with `:<port>` — or without it when the port is 80, as a URL prints it (a client
 * dialing `ws://host:80` signs `host`). At most DERIVED_ORIGINS_MAX_ENTRIES entries.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { type NetworkInterfaceInfo, networkInterfaces, hostname as osHostname } from 'node:os';
import { DERIVED_ORIGINS_MAX_ENTRIES } from './constants.js';

/** What the machine looks like; injected so tests can describe any machine. */
export interface MachineNames {
  hostname: string;
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

export function localMachine(): MachineNames {
  return { hostname: osHostname(), interfaces: networkInterfaces() };
}

/** `host:port` as a URL would print it: IPv6 in brackets, lower case, no port for 80. */
export function formatOrigin(host: string, port: number): string {
  const h = isIPv6(host) ? `[${host.toLowerCase()}]` : host.toLowerCase();
  return port === 80 ? h : `${h}:${port}`;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

function isLinkLocalV6(addr: string): boolean {
  return /^fe[89ab]/i.test(addr);
}

/**
 * Origins derived from the bind address and the port actually bound (after `listen`, so
 * PORT=0 works). Deduplicated, in a stable order: the bind name first.
 *
 * @example defaultOrigins('127.0.0.1', 8080) // ['127.0.0.1:8080', 'localhost:8080']
 */
export function defaultOrigins(bindHost: string, port: number, machine: MachineNames = localMachine()): string[] {
  const hosts: string[] = [];
  const host = bindHost.trim();
  if (isWildcard(host)) {
    hosts.push('localhost', '127.0.0.1', '::1');
    if (machine.hostname.trim() !== '') hosts.push(machine.hostname.trim());
    for (const list of Object.values(machine.interfaces))
      for (const i of list ?? []) if (!(i.family === 'IPv6' && isLinkLocalV6(i.address))) hosts.push(i.address);
  } else if (isLoopback(host)) {
    hosts.push(host, 'localhost');
    if (host === 'localhost') hosts.push('127.0.0.1', '::1');
  } else hosts.push(host);
  const out = new Set<string>();
  for (const h of hosts) {
    if (out.size >= DERIVED_ORIGINS_MAX_ENTRIES) break;
    out.add(formatOrigin(h, port));
  }
  return [...out];
}
