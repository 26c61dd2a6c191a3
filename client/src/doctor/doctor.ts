/**
 * `p2p-comm doctor`: what this host's network lets p2p-comm do. Checks, in parallel:
 * the rendezvous service's health endpoint over HTTP(S), and our server-reflexive address from
 * the rendezvous STUN responder on its two ports, from which the NAT mapping behaviour follows.
 * It reports findings and never throws for a network problem; only bad options throw.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { TransportAddress } from '@p2p-comm/protocol/stun';
import { type BindingResult, stunBinding } from '../stun/client.js';
import { type ConnectFailureKind, classifyConnectError } from '../transports/connect-failure.js';
import { type Classification, classifyNat, type NatMapping } from './classify.js';
import { DOCTOR_HEALTH_PATH } from './constants.js';
import { type DoctorConfig, type DoctorOptions, parseDoctorOptions } from './options.js';

export interface RendezvousCheck {
  readonly url: string;
  readonly reachable: boolean;
  readonly status?: number;
  readonly rttMs?: number;
  readonly error?: string;
  /** What to do about a failure, in one sentence. */
  readonly hint?: string;
}

export interface StunProbe {
  readonly port: number;
  readonly mapped?: TransportAddress;
  readonly rttMs?: number;
  readonly transmissions?: number;
  readonly error?: string;
}

export interface DoctorReport {
  readonly server: string;
  readonly rendezvous: RendezvousCheck;
  readonly stun: {
    readonly host: string;
    readonly localPort?: number;
    readonly primary: StunProbe;
    readonly alternate: StunProbe;
  };
  /** Our address as the internet sees it (from the primary port, else the alternate). */
  readonly serverReflexive?: TransportAddress;
  readonly nat: NatMapping;
  readonly natReason: string;
}

/**
 * Example:
 *   const report = await runDoctor({ server: 'wss://rdv.example.org' });
 *   console.log(formatDoctorReport(report));
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const config = parseDoctorOptions(options);
  const [rendezvous, stun] = await Promise.all([checkRendezvous(config), probeStun(config)]);
  const serverReflexive = stun.primary.mapped ?? stun.alternate.mapped;
  return {
    server: config.server,
    rendezvous,
    stun: { host: stun.host, localPort: stun.localPort, primary: stun.primary, alternate: stun.alternate },
    ...(serverReflexive ? { serverReflexive } : {}),
    nat: stun.classification.mapping,
    natReason: stun.classification.reason,
  };
}

async function checkRendezvous(config: DoctorConfig): Promise<RendezvousCheck> {
  const url = `${config.httpOrigin}${DOCTOR_HEALTH_PATH}`;
  const started = performance.now();
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(config.httpTimeoutMs) });
    await res.arrayBuffer();
    const rttMs = performance.now() - started;
    if (res.ok) return { url, reachable: true, status: res.status, rttMs };
    return { url, reachable: false, status: res.status, rttMs, hint: HINTS['not-rendezvous'] };
  } catch (err) {
    // fetch wraps the socket's error in `cause`; classified as the client classifies it.
    const cause = (err as { cause?: unknown }).cause ?? err;
    const failure = classifyConnectError(cause, new URL(config.httpOrigin));
    if (failure.kind === 'network') return { url, reachable: false, error: describeError(err) };
    return { url, reachable: false, error: failure.cause, hint: HINTS[failure.kind] };
  }
}

const HINTS: Record<Exclude<ConnectFailureKind, 'network'>, string> = {
  refused: 'nothing listens there: start the server (npm start, or p2p-comm serve) or fix the port in P2P_COMM_SERVER',
  dns: 'the host name does not resolve: check its spelling in P2P_COMM_SERVER (and this machine’s DNS)',
  tls: 'use ws:// (http://) for a plain server; wss:// only when TLS is in front of it',
  timeout: 'no answer: a firewall drops the traffic, or the host or port in P2P_COMM_SERVER is wrong',
  'not-rendezvous': 'something answers, but not a healthy p2p-comm rendezvous server: check the host and port',
};

interface StunFindings {
  host: string;
  localPort?: number;
  primary: StunProbe;
  alternate: StunProbe;
  classification: Classification;
}

async function probeStun(config: DoctorConfig): Promise<StunFindings> {
  let host = config.stunHost;
  if (isIP(host) === 0) {
    try {
      host = (await lookup(host, { family: 4 })).address;
    } catch (err) {
      const error = `cannot resolve ${config.stunHost}: ${describeError(err)}`;
      return {
        host: config.stunHost,
        primary: { port: config.stunPort, error },
        alternate: { port: config.stunAltPort, error },
        classification: { mapping: 'unknown', reason: error },
      };
    }
  }
  const socket = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  try {
    const localPort = await bind(socket);
    const opts = { timeoutMs: config.stunTimeoutMs };
    // Both transactions share the socket: the comparison needs one local port.
    const [primary, alternate] = await Promise.all([
      stunBinding(socket, { host, port: config.stunPort }, opts).then(probeOk, probeFail(config.stunPort)),
      stunBinding(socket, { host, port: config.stunAltPort }, opts).then(probeOk, probeFail(config.stunAltPort)),
    ]);
    const fixedPrimary = { ...primary, port: config.stunPort };
    const fixedAlternate = { ...alternate, port: config.stunAltPort };
    const classification = classifyNat(localPort, localAddresses(), fixedPrimary, fixedAlternate);
    return { host, localPort, primary: fixedPrimary, alternate: fixedAlternate, classification };
  } catch (err) {
    const error = describeError(err);
    return {
      host,
      primary: { port: config.stunPort, error },
      alternate: { port: config.stunAltPort, error },
      classification: { mapping: 'unknown', reason: `UDP socket: ${error}` },
    };
  } finally {
    socket.close();
  }
}

function probeOk(r: BindingResult): StunProbe {
  return { port: 0, mapped: r.mapped, rttMs: r.rttMs, transmissions: r.transmissions };
}

function probeFail(port: number): (err: unknown) => StunProbe {
  return (err) => ({ port, error: describeError(err) });
}

function bind(socket: Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, () => {
      socket.off('error', reject);
      resolve(socket.address().port);
    });
  });
}

function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined)
    .map((i) => i.address);
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const cause = (err as { cause?: unknown }).cause;
    const causeText = cause instanceof Error ? ` (${cause.message})` : '';
    return `${typeof code === 'string' ? `${code}: ` : ''}${err.message}${causeText}`;
  }
  return String(err);
}
