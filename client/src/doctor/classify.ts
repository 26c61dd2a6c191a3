/**
 * NAT mapping behaviour (RFC 4787 §4.1 terms, tested as RFC 5780 §4.3 does but with the
 * responder's second port only): one local UDP port asks the server's two ports for our
 * address. Same answer: endpoint-independent mapping (hole punching works). Different
 * answers: the NAT maps per destination (address- and/or port-dependent, "symmetric"), so a
 * peer cannot reach the port STUN saw and WebRTC needs TURN or the relay.
 */
import type { TransportAddress } from '@p2p-comm/protocol/stun';

export type NatMapping = 'no-nat' | 'endpoint-independent' | 'address-port-dependent' | 'udp-blocked' | 'unknown';

export interface ProbeAnswer {
  readonly mapped?: TransportAddress;
  readonly error?: string;
}

export interface Classification {
  readonly mapping: NatMapping;
  readonly reason: string;
}

export function classifyNat(
  localPort: number,
  localAddresses: readonly string[],
  primary: ProbeAnswer,
  alternate: ProbeAnswer,
): Classification {
  const a = primary.mapped;
  const b = alternate.mapped;
  if (!a && !b) {
    return { mapping: 'udp-blocked', reason: `no STUN answer on either port (${primary.error ?? 'no answer'})` };
  }
  if (!a || !b) {
    const failed = a
      ? `alternate port: ${alternate.error ?? 'no answer'}`
      : `primary port: ${primary.error ?? 'no answer'}`;
    return { mapping: 'unknown', reason: `only one STUN port answered (${failed})` };
  }
  if (a.address !== b.address || a.port !== b.port) {
    return {
      mapping: 'address-port-dependent',
      reason: `mapped to ${fmt(a)} towards one server port and ${fmt(b)} towards the other`,
    };
  }
  if (a.port === localPort && localAddresses.includes(a.address)) {
    return { mapping: 'no-nat', reason: `the server sees our own address ${fmt(a)}` };
  }
  return { mapping: 'endpoint-independent', reason: `mapped to ${fmt(a)} towards both server ports` };
}

function fmt(t: TransportAddress): string {
  return t.family === 'IPv6' ? `[${t.address}]:${t.port}` : `${t.address}:${t.port}`;
}
