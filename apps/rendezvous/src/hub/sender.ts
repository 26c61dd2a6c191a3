/**
 * Writing to client sockets: the bounded send queue (a slow reader is cut, never buffered for),
 * per-tick corking so a tick's frames to one socket leave in one write, and ending a session
 * with its registered ERROR / close code.
 */
import type { WebSocket } from 'ws';
import { CUT_SOCKET_LINGER_MS } from '../constants.js';
import { RDV_ERRORS, type RendezvousErrorCode } from '../errors.js';
import { errorFrame } from '../frames-out.js';
import { type Session, SessionState } from '../session.js';
import { type HubContext, OPEN } from './context.js';

export class SocketSender {
  private corked: Session[] = [];
  private uncorkScheduled = false;
  private readonly uncorkAll = (): void => {
    this.uncorkScheduled = false;
    const list = this.corked;
    this.corked = [];
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      s.corked = false;
      s.sock.uncork();
    }
  };

  constructor(
    private readonly ctx: HubContext,
    /** Takes a session out of routing when the server gives up on it. */
    private readonly detach: (s: Session) => void,
  ) {}

  /** Queue bytes to a session, or cut the session if its send queue is over SEND_QUEUE_MAX_BYTES. */
  send(s: Session, buf: Buffer | Uint8Array): boolean {
    const ws = s.ws;
    if (ws.readyState !== OPEN || s.state === SessionState.CLOSED) return false;
    if (ws.bufferedAmount + buf.length > this.ctx.config.sendQueueMaxBytes) {
      // A slow reader: buffering more would make our memory grow with its slowness.
      this.ctx.stats.drops.slow_reader++;
      this.ctx.log.debug({ ip: s.ip, key: s.keyB64, queued: ws.bufferedAmount }, 'slow reader dropped');
      this.cut(s, 'RDV_ERR_SLOW_READER', false);
      return false;
    }
    if (!s.corked) {
      // Coalesce every frame this tick sends to this socket (DELIVERs, ACKs) into one write:
      // ws writes each frame separately, and the syscalls were the relay's main cost.
      s.corked = true;
      s.sock.cork();
      this.corked.push(s);
      if (!this.uncorkScheduled) {
        this.uncorkScheduled = true;
        setImmediate(this.uncorkAll);
      }
    }
    ws.send(buf);
    return true;
  }

  /** Send an ERROR and, when the code says so, close with its close code. Stops further frames. */
  fail(s: Session, code: RendezvousErrorCode, frameId = 0): void {
    const close = RDV_ERRORS[code].close;
    if (close === null) {
      // Through the bounded path: a flooder that never reads must not grow our buffers with errors.
      this.send(s, errorFrame(frameId, code));
      return;
    }
    if (s.ws.readyState === OPEN) s.ws.send(errorFrame(frameId, code));
    s.state = SessionState.CLOSED;
    s.ws.close(close, code);
  }

  /**
   * End a socket the server gives up on (slow reader, dead peer) with its registered close code,
   * so the client learns why. The close frame is tiny and goes out even when an ERROR frame could
   * not be queued; the terminate timer bounds how long the socket (and what is buffered for it)
   * is held if the peer never reads it.
   */
  cut(s: Session, code: RendezvousErrorCode, withError: boolean): void {
    const ws = s.ws;
    if (withError && ws.readyState === OPEN) ws.send(errorFrame(0, code));
    s.state = SessionState.CLOSED;
    this.detach(s);
    ws.close(RDV_ERRORS[code].close ?? 1008, code);
    setTimeout(terminate, CUT_SOCKET_LINGER_MS, ws).unref();
  }
}

export function terminate(ws: WebSocket): void {
  ws.terminate();
}
