import { STUN_DEFAULT_ALT_PORT, STUN_DEFAULT_PORT, STUN_TRANSACTION_TIMEOUT_MS } from '../stun/constants.js';
import { DOCTOR_HTTP_TIMEOUT_MS } from './constants.js';
import { DoctorError } from './errors.js';

export interface DoctorOptions {
  /** The rendezvous server: ws://, wss://, http:// or https:// URL (a path such as /v1/ws is ignored). */
  readonly server: string;
  /** STUN responder host; default: the server's host. */
  readonly stunHost?: string;
  readonly stunPort?: number;
  /** The responder's second port, to tell endpoint-independent from port-dependent mapping. */
  readonly stunAltPort?: number;
  readonly httpTimeoutMs?: number;
  readonly stunTimeoutMs?: number;
}

export interface DoctorConfig {
  readonly server: string;
  /** http(s) origin derived from `server`. */
  readonly httpOrigin: string;
  readonly stunHost: string;
  readonly stunPort: number;
  readonly stunAltPort: number;
  readonly httpTimeoutMs: number;
  readonly stunTimeoutMs: number;
}

/** Validate once, report every problem at once, freeze. */
export function parseDoctorOptions(options: DoctorOptions): DoctorConfig {
  const problems: string[] = [];
  let url: URL | undefined;
  try {
    url = new URL(options.server);
    if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) {
      problems.push(`server: unsupported scheme ${url.protocol} (ws, wss, http, https)`);
    }
  } catch {
    problems.push(`server: not a URL: ${JSON.stringify(options.server)}`);
  }
  const port = (name: string, v: number | undefined, dflt: number): number => {
    const value = v ?? dflt;
    if (!Number.isInteger(value) || value < 1 || value > 65_535) problems.push(`${name}: must be an integer 1..65535`);
    return value;
  };
  const positive = (name: string, v: number | undefined, dflt: number): number => {
    const value = v ?? dflt;
    if (!Number.isFinite(value) || value <= 0) problems.push(`${name}: must be a positive number of ms`);
    return value;
  };
  const stunPort = port('stunPort', options.stunPort, STUN_DEFAULT_PORT);
  const stunAltPort = port('stunAltPort', options.stunAltPort, STUN_DEFAULT_ALT_PORT);
  if (stunPort === stunAltPort) problems.push('stunAltPort: must differ from stunPort');
  const httpTimeoutMs = positive('httpTimeoutMs', options.httpTimeoutMs, DOCTOR_HTTP_TIMEOUT_MS);
  const stunTimeoutMs = positive('stunTimeoutMs', options.stunTimeoutMs, STUN_TRANSACTION_TIMEOUT_MS);
  if (options.stunHost !== undefined && options.stunHost.length === 0) problems.push('stunHost: empty');
  if (problems.length > 0 || !url) throw new DoctorError('CLIENT_ERR_DOCTOR_BAD_OPTIONS', problems);

  const httpScheme = url.protocol === 'wss:' || url.protocol === 'https:' ? 'https:' : 'http:';
  const httpOrigin = `${httpScheme}//${url.host}`;
  // URL keeps IPv6 hosts in brackets; sockets want them bare.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return Object.freeze({
    server: options.server,
    httpOrigin,
    stunHost: options.stunHost ?? host,
    stunPort,
    stunAltPort,
    httpTimeoutMs,
    stunTimeoutMs,
  });
}
