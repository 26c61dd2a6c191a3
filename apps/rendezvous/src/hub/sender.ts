/**
 * Writing to client sockets: the bounded send queue, per-tick corking so a tick's frames to one
 * socket leave in one write, and ending a session with its registered ERROR / close code.
 *
 * Three levels guard a socket's queue (ws.bufferedAmount):
 *   RECIPIENT_BUSY_BYTES  frames relayed to it are refused to their senders (RDV_ERR_RECIPIENT_BUSY)
 *                         and the stall watch starts: cut with 4006 only if nothing reaches the
 *                         network for SLOW_READER_TIMEOUT_MS (a spike is not a slow reader);
 *   SEND_QUEUE_MAX_BYTES  hard cap, cut at once: only a socket that floods frames and does not read
 *                         their answers gets here (accepted relays stop RECIPIENT_BUSY_BYTES +
 *                         MAX_FRAME_BYTES below it, mailbox delivery pauses well under it).
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { CUT_SOCKET_LINGER_MS } from '../constants.js';
import { RDV_ERRORS, type RendezvousErrorCode } from '../errors.js';
import { errorFrame, errorFrameWith } from '../frames-out.js';
import { type Session, SessionState } from '../session.js';
import { type HubContext, OPEN } from './context.js';

export class SocketSender {
  private corked: Session[] = [];
  /** Sessions whose queue is over RECIPIENT_BUSY_BYTES, watched for progress. Bounded by MAX_CONNECTIONS. */
  readonly stalled = new Set<Session>();
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
    const queued = ws.bufferedAmount + buf.length;
    if (queued > this.ctx.config.sendQueueMaxBytes) {
      // Past the hard cap: buffering more would make our memory grow with its slowness.
      this.slowReader(s, ws.bufferedAmount);
      return false;
    }
    if (queued > this.ctx.config.recipientBusyBytes && s.stallSince === 0) this.watchStall(s);
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

  /**
   * Whether frames for `s` from other peers must be refused to their sender now: its queue is
   * over RECIPIENT_BUSY_BYTES, or its mailbox is still being delivered (a live frame would
   * overtake it). Starts the stall watch.
   */
  busy(s: Session): boolean {
    if (s.mail !== null) return true;
    if (s.ws.bufferedAmount <= this.ctx.config.recipientBusyBytes) return false;
    if (s.stallSince === 0) this.watchStall(s);
    return true;
  }

  /** Watch `s` for progress: over RECIPIENT_BUSY_BYTES, or while a paced mailbox delivery waits. */
  watchStall(s: Session): void {
    if (s.stallSince !== 0) return;
    s.stallSince = Date.now();
    s.stallFlushed = flushedBytes(s);
    this.stalled.add(s);
  }

  /**
   * Cut the readers whose queue stayed over RECIPIENT_BUSY_BYTES (or whose mailbox delivery
   * waited for a drain) with nothing reaching the network for SLOW_READER_TIMEOUT_MS; forget
   * the ones that caught up. Run on a timer. The cut puts the undelivered mailbox back.
   */
  sweepStalled(now: number): void {
    const { recipientBusyBytes, slowReaderTimeoutMs } = this.ctx.config;
    for (const s of this.stalled) {
      if (s.state === SessionState.CLOSED || s.ws.readyState !== OPEN) {
        this.stalled.delete(s);
        s.stallSince = 0;
        continue;
      }
      const queued = s.ws.bufferedAmount;
      if (queued <= recipientBusyBytes && !s.mailWaiting) {
        this.stalled.delete(s);
        s.stallSince = 0;
        continue;
      }
      const flushed = flushedBytes(s);
      if (flushed !== s.stallFlushed) {
        // It reads, however slowly: a reader is cut only when it really does not read.
        s.stallFlushed = flushed;
        s.stallSince = now;
      } else if (now - s.stallSince >= slowReaderTimeoutMs) {
        this.stalled.delete(s);
        this.slowReader(s, queued);
      }
    }
  }

  private slowReader(s: Session, queued: number): void {
    this.ctx.stats.drops.slow_reader++;
    this.ctx.log.debug({ ip: s.ip, key: s.keyB64, queued }, 'slow reader dropped');
    this.cut(s, 'RDV_ERR_SLOW_READER', false);
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
   * An ERROR for one frame (a code whose close is null) with a message naming what was refused
   * (the registry's message is fixed per code). Built per call: only for rare refusals.
   */
  failWith(s: Session, code: RendezvousErrorCode, frameId: number, message: string): void {
    if (RDV_ERRORS[code].close !== null) {
      this.fail(s, code, frameId);
      return;
    }
    this.send(s, errorFrameWith(frameId, code, message));
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

/** Bytes the socket has handed to the network so far (written minus still queued in the stream). */
function flushedBytes(s: Session): number {
  const sock = s.sock as Socket;
  return (sock.bytesWritten ?? 0) - sock.writableLength;
}
