/**
 * The direct listener: a WebSocket server (off by default; the host decides whether to listen)
 * that accepts peers whose key `acceptKey` approves and who prove it in the handshake.
 *
 * @example
 *   const listener = new DirectListener({ suite: nodeSuite, identity, host: '127.0.0.1', port: 0,
 *     acceptKey: (k) => trust.has(k), onLink: (link) => paths.addLink(link) });
 *   const { port } = await listener.start();
 */
import type { AddressInfo } from 'node:net';
import type { CryptoSuite, Identity } from '@p2p-comm/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  DIRECT_HANDSHAKE_TIMEOUT_MS,
  DIRECT_MAX_CONNECTIONS,
  DIRECT_MAX_MESSAGE_BYTES,
  DIRECT_MAX_PENDING_HANDSHAKES,
  DIRECT_WS_PATH,
} from './direct-constants.js';
import { PathError } from './direct-errors.js';
import { DirectLink, type DirectLinkTimings } from './direct-link.js';
import { listenerHandshake } from './direct-session.js';

export interface DirectListenerOptions {
  readonly suite: CryptoSuite;
  readonly identity: Identity;
  /** Interface to bind, e.g. '127.0.0.1' or '0.0.0.0'. */
  readonly host: string;
  /** TCP port; 0 picks a free one. */
  readonly port: number;
  /** Whether a proven key may connect (normally: is it a trusted peer). */
  readonly acceptKey: (key: Uint8Array) => boolean;
  /** Called with each authenticated link. */
  readonly onLink: (link: DirectLink) => void;
  /** Called with each refused connection (for logs/status); optional. */
  readonly onReject?: (err: PathError, remoteAddress: string) => void;
  readonly handshakeTimeoutMs?: number;
  readonly timings?: DirectLinkTimings;
  readonly maxConnections?: number;
  readonly maxPendingHandshakes?: number;
}

export class DirectListener {
  readonly #opts: DirectListenerOptions;
  #server: WebSocketServer | undefined;
  #pending = 0;
  #address: { host: string; port: number } | undefined;

  constructor(opts: DirectListenerOptions) {
    this.#opts = opts;
  }

  /** The bound address, once started. */
  get address(): { host: string; port: number } | undefined {
    return this.#address;
  }

  start(): Promise<{ host: string; port: number }> {
    if (this.#server) return Promise.reject(new PathError('CLIENT_ERR_DIRECT_LISTENER', 'already started'));
    const opts = this.#opts;
    return new Promise((resolve, reject) => {
      const server = new WebSocketServer({
        host: opts.host,
        port: opts.port,
        path: DIRECT_WS_PATH,
        maxPayload: DIRECT_MAX_MESSAGE_BYTES,
        perMessageDeflate: false,
        clientTracking: true,
      });
      this.#server = server;
      server.once('error', (err) => {
        this.#server = undefined;
        server.close();
        reject(new PathError('CLIENT_ERR_DIRECT_LISTENER', err.message));
      });
      server.once('listening', () => {
        const info = server.address() as AddressInfo;
        this.#address = { host: info.address, port: info.port };
        server.on('error', () => {
          // After start, server-level errors surface per connection; keep listening.
        });
        resolve(this.#address);
      });
      server.on('connection', (ws, req) => {
        const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
        this.#accept(ws, remote);
      });
    });
  }

  #accept(ws: WebSocket, remote: string): void {
    const opts = this.#opts;
    const server = this.#server;
    if (!server) {
      ws.terminate();
      return;
    }
    if (server.clients.size > (opts.maxConnections ?? DIRECT_MAX_CONNECTIONS)) {
      ws.close(1013, 'too many links');
      return;
    }
    if (this.#pending >= (opts.maxPendingHandshakes ?? DIRECT_MAX_PENDING_HANDSHAKES)) {
      ws.close(1013, 'too many handshakes');
      return;
    }
    this.#pending++;
    ws.on('error', () => {
      // Socket errors end the handshake via its close path; never crash the process.
    });
    listenerHandshake(ws, opts.acceptKey, {
      suite: opts.suite,
      identity: opts.identity,
      timeoutMs: opts.handshakeTimeoutMs ?? DIRECT_HANDSHAKE_TIMEOUT_MS,
    }).then(
      ({ remoteKey, early }) => {
        this.#pending--;
        opts.onLink(new DirectLink(ws, remoteKey, remote, opts.timings, early));
      },
      (err: unknown) => {
        this.#pending--;
        if (err instanceof PathError) opts.onReject?.(err, remote);
      },
    );
  }

  /** Stop listening and close every connection. */
  stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#address = undefined;
    if (!server) return Promise.resolve();
    for (const ws of server.clients) ws.terminate();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
