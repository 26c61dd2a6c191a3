/**
 * An open, authenticated direct WebSocket link (after the handshake in direct-handshake.ts).
 * Every binary message is one envelope; a text message or an oversized one closes the link.
 * A ping/pong heartbeat closes a link whose peer went silent.
 */
import type { RawData, WebSocket } from 'ws';
import { ClientError } from '../errors.js';
import {
  DIRECT_DEAD_AFTER_MS,
  DIRECT_MAX_BUFFERED_BYTES,
  DIRECT_MAX_MESSAGE_BYTES,
  DIRECT_PING_INTERVAL_MS,
} from './direct-constants.js';
import { PathError } from './direct-errors.js';
import { LinkEvents } from './direct-link-events.js';
import { TickCork } from './tick-cork.js';

export interface DirectLinkTimings {
  /** ms between pings; default DIRECT_PING_INTERVAL_MS */
  readonly pingIntervalMs?: number;
  /** ms of silence after which the peer is dead; default DIRECT_DEAD_AFTER_MS */
  readonly deadAfterMs?: number;
}

export function rawToBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export class DirectLink extends LinkEvents {
  readonly kind = 'direct' as const;
  readonly remoteKey: Uint8Array;
  /** "host:port" of the other end, for status output. */
  readonly remoteAddress: string;
  /** Whether this side dialed (true) or accepted (false); settles duplicate links deterministically. */
  readonly dialedByUs: boolean;
  readonly #ws: WebSocket;
  readonly #timer: NodeJS.Timeout;
  #lastSeen = Date.now();
  /** Holds a tick's envelopes for one writev: a file sender's 16-chunk read-ahead is one write. */
  readonly #cork = new TickCork();

  constructor(
    ws: WebSocket,
    remoteKey: Uint8Array,
    remoteAddress: string,
    timings: DirectLinkTimings = {},
    early: readonly Uint8Array[] = [],
    dialedByUs = false,
  ) {
    super();
    this.dialedByUs = dialedByUs;
    for (const envelope of early) this.deliver(envelope);
    this.#ws = ws;
    this.remoteKey = remoteKey;
    this.remoteAddress = remoteAddress;
    const pingMs = timings.pingIntervalMs ?? DIRECT_PING_INTERVAL_MS;
    const deadMs = timings.deadAfterMs ?? DIRECT_DEAD_AFTER_MS;
    ws.removeAllListeners('message');
    ws.on('message', (data, isBinary) => {
      this.#lastSeen = Date.now();
      if (!isBinary) return this.#fail('direct: text frame from peer');
      this.deliver(rawToBytes(data));
    });
    ws.on('pong', () => {
      this.#lastSeen = Date.now();
    });
    ws.on('ping', () => {
      this.#lastSeen = Date.now();
    });
    ws.on('close', (code, reason) => {
      const why = reason.length > 0 ? reason.toString('utf8') : `code ${code}`;
      this.close(code === 1009 ? 'direct: frame too large' : `direct: closed by peer (${why})`);
    });
    ws.on('error', (err: Error & { code?: string }) =>
      this.close(
        err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'direct: frame too large' : `direct: ${err.message}`,
      ),
    );
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastSeen > deadMs) return this.#fail('direct: peer timeout', true);
      try {
        ws.ping();
      } catch {
        // The close event follows; nothing to do here.
      }
    }, pingMs);
    this.#timer.unref();
  }

  send(envelope: Uint8Array): void {
    if (!this.isOpen || this.#ws.readyState !== this.#ws.OPEN) throw new ClientError('CLIENT_ERR_LINK_CLOSED');
    if (envelope.length > DIRECT_MAX_MESSAGE_BYTES)
      throw new PathError('CLIENT_ERR_PATH_TOO_LARGE', `${envelope.length} > ${DIRECT_MAX_MESSAGE_BYTES} bytes`);
    if (this.#ws.bufferedAmount > DIRECT_MAX_BUFFERED_BYTES) {
      this.#fail('direct: send buffer full', true);
      throw new PathError('CLIENT_ERR_PATH_BACKPRESSURE');
    }
    this.#cork.cork(this.#ws);
    this.#ws.send(envelope, { binary: true });
  }

  /** When anything (a message, ping or pong) last arrived, ms since epoch (Link.lastHeardAt). */
  get lastHeardAt(): number {
    return this.#lastSeen;
  }

  /** Send a WebSocket ping now; the peer's pong updates lastHeardAt (Link.probe). */
  probe(): void {
    if (!this.isOpen || this.#ws.readyState !== this.#ws.OPEN) return;
    try {
      this.#ws.ping();
    } catch {
      // The close event follows; nothing to do here.
    }
  }

  /** Bytes queued in the socket and not yet written (for pacing). */
  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  #fail(reason: string, hard = false): void {
    if (hard) this.#ws.terminate();
    else this.#ws.close(1003, reason.slice(0, 120));
    this.close(reason);
  }

  protected teardown(reason: string): void {
    clearInterval(this.#timer);
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING) {
      this.#ws.close(1000, reason.slice(0, 120));
      // A peer that never completes the closing handshake must not pin the socket.
      setTimeout(() => this.#ws.terminate(), 2_000).unref();
    }
  }
}
