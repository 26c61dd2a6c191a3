/**
 * Writing to client sockets: the bounded send queue, per-tick corking so a tick's frames to one
 * socket leave in one write, and ending a session with its registered ERROR / close code.
 *
 * Three levels guard a socket's queue (ws.bufferedAmount):
 *   RECIPIENT_BUSY_BYTES  frames relayed to it are refused to their senders (RDV_ERR_RECIPIENT_BUSY)
 *                         and the stall watch starts: cut with 4006 only if nothing reaches the
 *                         network for SLOW_READER_TIMEOUT_MS (a spike is not a slow reader);
 *   RELAY_ALLOWANCE_BYTES relayed frames are still accepted up to here while the instance's
 *                         RELAY_ALLOWANCE_TOTAL_BYTES has room for this recipient (a grant held
 *                         until its queue is back under RECIPIENT_BUSY_BYTES); WELCOME advertises it,
 *                         so a recipient may give its senders credit for that much;
 *   SEND_QUEUE_MAX_BYTES  hard cap, cut at once: only a socket that floods frames and does not read
 *                         their answers gets here (accepted relays stop RECIPIENT_BUSY_BYTES +
 *                         MAX_FRAME_BYTES below it, mailbox delivery pauses well under it). A
 *                         recipient holding a grant has it raised by the grant's extra bytes.
 *
 * Memory: every socket's queue is bounded by SEND_QUEUE_MAX_BYTES as before, and all grants
 * together add at most RELAY_ALLOWANCE_TOTAL_BYTES: grants are counted, never more than
 * `allowanceGrantsMax` at once, however many connections there are.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { Config } from '../config.js';
import { CUT_SOCKET_LINGER_MS } from '../constants.js';
import { RDV_ERRORS, type RendezvousErrorCode } from '../errors.js';
import { errorFrame, errorFrameWith } from '../frames-out.js';
import { type Session, SessionState } from '../session.js';
import { type HubContext, OPEN } from './context.js';

export class SocketSender {
  private corked: Session[] = [];
  /** Sessions whose queue is over RECIPIENT_BUSY_BYTES, watched for progress. Bounded by MAX_CONNECTIONS. */
  readonly stalled = new Set<Session>();
  /** Sessions holding a relay-allowance grant (relayAllowanceBytes); at most allowanceGrantsMax. */
  private readonly granted = new Set<Session>();
  /**
   * Grants at once: RELAY_ALLOWANCE_TOTAL_BYTES over what one grant may add to a queue (the
   * extra bytes, plus the one frame accepted just under the allowance). 0 = no grants.
   */
  readonly allowanceGrantsMax: number;
  /** What a grant adds over RECIPIENT_BUSY_BYTES, bytes. */
  private readonly allowanceExtraBytes: number;
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
  ) {
    this.allowanceExtraBytes = ctx.config.relayAllowanceBytes - ctx.config.recipientBusyBytes;
    this.allowanceGrantsMax = relayAllowanceGrantsMax(ctx.config);
  }

  /** Grants held now (for tests and metrics). */
  get allowanceGrants(): number {
    return this.granted.size;
  }

  /** Queue bytes to a session, or cut the session if its send queue is over SEND_QUEUE_MAX_BYTES. */
  send(s: Session, buf: Buffer | Uint8Array): boolean {
    const ws = s.ws;
    if (ws.readyState !== OPEN || s.state === SessionState.CLOSED) return false;
    const queued = ws.bufferedAmount + buf.length;
    if (queued > this.ctx.config.sendQueueMaxBytes + (s.allowanceGranted ? this.allowanceExtraBytes : 0)) {
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
   * over RECIPIENT_BUSY_BYTES without a grant (or over RELAY_ALLOWANCE_BYTES with one), or its
   * mailbox is still being delivered (a live frame would overtake it). Over RECIPIENT_BUSY_BYTES
   * it starts the stall watch and asks for a grant; back under it, the grant is returned.
   */
  busy(s: Session): boolean {
    if (s.mail !== null) return true;
    const queued = s.ws.bufferedAmount;
    if (queued <= this.ctx.config.recipientBusyBytes) {
      if (s.allowanceGranted) this.returnGrant(s);
      return false;
    }
    if (s.stallSince === 0) this.watchStall(s);
    if (queued > this.ctx.config.relayAllowanceBytes) return true;
    return !s.allowanceGranted && !this.grant(s);
  }

  /** Grant `s` the relay allowance if the instance's total has room. */
  private grant(s: Session): boolean {
    if (this.granted.size >= this.allowanceGrantsMax) return false;
    s.allowanceGranted = true;
    this.granted.add(s);
    return true;
  }

  private returnGrant(s: Session): void {
    s.allowanceGranted = false;
    this.granted.delete(s);
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
    // Grants of closed sessions and of queues back under RECIPIENT_BUSY_BYTES go back (a
    // recipient nobody relays to any more is not asked again in busy()).
    for (const s of this.granted)
      if (s.state === SessionState.CLOSED || s.ws.readyState !== OPEN || s.ws.bufferedAmount <= recipientBusyBytes)
        this.returnGrant(s);
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

type AllowanceConfig = Pick<
  Config,
  'relayAllowanceBytes' | 'relayAllowanceTotalBytes' | 'recipientBusyBytes' | 'maxFrameBytes'
>;

/**
 * Relay-allowance grants one instance gives at once: RELAY_ALLOWANCE_TOTAL_BYTES over what one
 * grant may add to a queue (its extra bytes, plus the one frame accepted just under the allowance).
 */
export function relayAllowanceGrantsMax(c: AllowanceConfig): number {
  const extra = c.relayAllowanceBytes - c.recipientBusyBytes;
  return extra <= 0 ? 0 : Math.floor(c.relayAllowanceTotalBytes / (extra + c.maxFrameBytes));
}

/**
 * What WELCOME advertises as relayAllowanceBytes: RELAY_ALLOWANCE_BYTES when this instance can
 * grant it at all, else RECIPIENT_BUSY_BYTES (what every recipient gets).
 */
export function advertisedRelayAllowanceBytes(c: AllowanceConfig): number {
  return relayAllowanceGrantsMax(c) > 0 ? c.relayAllowanceBytes : c.recipientBusyBytes;
}

export function terminate(ws: WebSocket): void {
  ws.terminate();
}

/** Bytes the socket has handed to the network so far (written minus still queued in the stream). */
function flushedBytes(s: Session): number {
  const sock = s.sock as Socket;
  return (sock.bytesWritten ?? 0) - sock.writableLength;
}
