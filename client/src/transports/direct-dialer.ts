/**
 * Dial a peer's direct listener and prove keys both ways. The peer must hold `expectedKey`;
 * anyone else at that address fails the handshake (CLIENT_ERR_DIRECT_WRONG_KEY) and is dropped.
 *
 * @example
 *   const link = await dialDirect({ suite: nodeSuite, identity, address: { host: '10.0.0.5', port: 7788 }, expectedKey });
 */
import type { CryptoSuite, Identity } from '@p2p-comm/protocol';
import { WebSocket } from 'ws';
import {
  DIRECT_CONNECT_TIMEOUT_MS,
  DIRECT_HANDSHAKE_TIMEOUT_MS,
  DIRECT_MAX_MESSAGE_BYTES,
  DIRECT_WS_PATH,
} from './direct-constants.js';
import { PathError } from './direct-errors.js';
import { DirectLink, type DirectLinkTimings } from './direct-link.js';
import { dialerHandshake } from './direct-session.js';

export interface DirectAddress {
  readonly host: string;
  readonly port: number;
}

export interface DialDirectOptions {
  readonly suite: CryptoSuite;
  readonly identity: Identity;
  readonly address: DirectAddress;
  readonly expectedKey: Uint8Array;
  readonly connectTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly timings?: DirectLinkTimings;
  /** Abort the attempt (e.g. a better path came up). */
  readonly signal?: AbortSignal;
}

export function directUrl(address: DirectAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `ws://${host}:${address.port}${DIRECT_WS_PATH}`;
}

function open(ws: WebSocket, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (err: PathError) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      ws.terminate();
      reject(err);
    };
    const onAbort = () => fail(new PathError('CLIENT_ERR_DIRECT_CONNECT_FAILED', 'aborted'));
    const timer = setTimeout(
      () => fail(new PathError('CLIENT_ERR_DIRECT_CONNECT_FAILED', `connect timeout ${timeoutMs} ms`)),
      timeoutMs,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    ws.once('open', () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    ws.once('error', (err) => fail(new PathError('CLIENT_ERR_DIRECT_CONNECT_FAILED', err.message)));
    ws.once('unexpected-response', (_req, res) =>
      fail(new PathError('CLIENT_ERR_DIRECT_CONNECT_FAILED', `HTTP ${res.statusCode}`)),
    );
  });
}

export async function dialDirect(opts: DialDirectOptions): Promise<DirectLink> {
  if (opts.signal?.aborted) throw new PathError('CLIENT_ERR_DIRECT_CONNECT_FAILED', 'aborted');
  const ws = new WebSocket(directUrl(opts.address), {
    maxPayload: DIRECT_MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    followRedirects: false,
    handshakeTimeout: opts.connectTimeoutMs ?? DIRECT_CONNECT_TIMEOUT_MS,
    // An all-zero mask: ws then skips masking here and unmasking at the listener (a copy and an
    // XOR of every byte each way, the largest CPU cost of a direct file transfer in bench:files).
    // Masking guards HTTP intermediaries against payloads a hostile browser script chose; ours
    // are session ciphertext between two clients, no browser involved.
    generateMask: (mask: Buffer) => mask.fill(0),
  });
  await open(ws, opts.connectTimeoutMs ?? DIRECT_CONNECT_TIMEOUT_MS, opts.signal);
  ws.on('error', () => {
    // Errors end the handshake through its close path.
  });
  const onAbort = () => ws.terminate();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { remoteKey, early } = await dialerHandshake(ws, opts.expectedKey, {
      suite: opts.suite,
      identity: opts.identity,
      timeoutMs: opts.handshakeTimeoutMs ?? DIRECT_HANDSHAKE_TIMEOUT_MS,
    });
    return new DirectLink(ws, remoteKey, `${opts.address.host}:${opts.address.port}`, opts.timings, early, true);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
