/**
 * Why a WebSocket to the rendezvous server did not open, in words a user can act on. `ws`
 * reports these as an 'error' before the socket opens, followed by close 1006; the 1006 alone
 * says nothing, so the connection keeps the classified cause for its status line and for
 * CLIENT_ERR_SERVER_UNREACHABLE.
 */
import { ClientError } from '../errors.js';

export type ConnectFailureKind = 'refused' | 'dns' | 'tls' | 'timeout' | 'not-rendezvous' | 'network';

export interface ConnectFailure {
  readonly kind: ConnectFailureKind;
  /** One phrase: what went wrong, with the system's code when there is one. */
  readonly cause: string;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const UNREACHABLE_CODES = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'ECONNRESET', 'EPIPE', 'EADDRNOTAVAIL']);

/** Classify an error `ws` emitted before the socket opened. */
export function classifyConnectError(err: unknown, url: URL): ConnectFailure {
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : '';
  const message = err instanceof Error ? err.message : String(err);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (code === 'ECONNREFUSED')
    return { kind: 'refused', cause: `connection refused on ${host}:${portOf(url)} (ECONNREFUSED)` };
  if (DNS_CODES.has(code)) return { kind: 'dns', cause: `cannot resolve the host name ${host} (DNS ${code})` };
  if (
    code === 'EPROTO' ||
    code.startsWith('ERR_SSL') ||
    code.startsWith('ERR_TLS') ||
    /SSL|TLS|certificate/i.test(message)
  ) {
    const plain = /wrong version number|packet length too long|http request/i.test(message);
    return {
      kind: 'tls',
      cause: plain
        ? 'TLS handshake failed: the server does not speak TLS (use ws:// for a plain server, or put TLS in front of it)'
        : `TLS handshake failed (${code || 'TLS'}: ${firstLine(message)})`,
    };
  }
  if (code === 'ETIMEDOUT' || /handshake has timed out/i.test(message))
    return { kind: 'timeout', cause: 'no answer in time (a firewall, or the wrong host or port)' };
  const status = /Unexpected server response: (\d+)/.exec(message);
  if (status)
    return {
      kind: 'not-rendezvous',
      cause: `HTTP ${status[1]} at ${url.pathname}: something answers there, but not a p2p-comm rendezvous server`,
    };
  if (UNREACHABLE_CODES.has(code)) return { kind: 'network', cause: `${firstLine(message)} (${code})` };
  return { kind: 'network', cause: firstLine(message) || 'the connection closed before it opened' };
}

/** The error a command reports when the first connection attempt failed for `failure`. */
export function unreachableError(url: URL, failure: ConnectFailure): ClientError {
  return new ClientError(
    'CLIENT_ERR_SERVER_UNREACHABLE',
    `${url.href}: ${failure.cause} — is it running? check P2P_COMM_SERVER (or --server); \`p2p-comm doctor\` explains more`,
    { url: url.href, kind: failure.kind },
  );
}

function portOf(url: URL): string {
  return url.port || (url.protocol === 'wss:' ? '443' : '80');
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
