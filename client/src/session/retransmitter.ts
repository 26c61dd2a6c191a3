import { RETRANSMIT_INITIAL_MS, RETRANSMIT_MAX_MS, SEND_WINDOW_BYTES, SEND_WINDOW_MESSAGES } from '../constants.js';
import type { Outbox, OutboxMessage } from './outbox.js';
import { dataWireBytes } from './send-window.js';

export interface RetransmitterDeps {
  outbox: Outbox;
  /** False while the peer may not receive data (no consent, revoked). */
  canSend: (peer: string) => boolean;
  /** Seal and send one message over the best path; throws when there is none. */
  transmit: (peer: string, m: OutboxMessage) => void;
  onDelivered: (peer: string, m: OutboxMessage) => void;
  onRetransmit: (count: number) => void;
  /** Wire bytes allowed in flight per peer, read at every pump; default SEND_WINDOW_BYTES. */
  windowBytes?: () => number;
}

interface SendState {
  /** Messages at the head of the outbox already transmitted in this round. */
  sent: number;
  rto: number;
  timer: NodeJS.Timeout | null;
  /** A pump for this peer is on the stack (transmit may open a path, whose kick lands here). */
  pumping: boolean;
  /** The peer is busy (the relay refused a frame for it): send nothing until the timer fires. */
  holding: boolean;
}

/**
 * Per peer, go-back-N over the durable outbox: up to SEND_WINDOW_MESSAGES and the byte window
 * (SEND_WINDOW_BYTES, counted with `dataWireBytes`, one message always) in flight; when a
 * whole timeout passes without the cumulative ack advancing, the window is sent again and
 * the timeout doubles (RETRANSMIT_INITIAL_MS … RETRANSMIT_MAX_MS, with jitter). A new path or
 * an ack resets it. Path-agnostic: `transmit` picks the path each time.
 */
export class Retransmitter {
  readonly #d: RetransmitterDeps;
  readonly #peers = new Map<string, SendState>();
  #stopped = false;

  constructor(deps: RetransmitterDeps) {
    this.#d = deps;
  }

  /** A path to `peer` (re)appeared or consent arrived: resend what is unacked now. */
  kick(peer: string): void {
    const s = this.#state(peer);
    s.rto = RETRANSMIT_INITIAL_MS;
    // The path appeared because this peer's own pump opened it (the relay opens on demand):
    // that pump is already sending on it. Rewinding now would resend the window on top of
    // itself and make the running loop skip a message.
    if (s.pumping) return;
    s.sent = 0;
    s.rto = RETRANSMIT_INITIAL_MS;
    s.holding = false;
    this.#clear(s);
    this.pump(peer);
  }

  /**
   * The relay answered RDV_ERR_RECIPIENT_BUSY for a frame to `peer`: the peer reads slower than
   * we send. Nothing is lost or failed: stop sending, and resend from the first unacked message
   * when the (doubled) timeout fires, as after a silent round. Several refusals of one window
   * count once.
   */
  backoff(peer: string): void {
    const s = this.#peers.get(peer);
    if (!s || s.holding) return;
    s.holding = true;
    s.sent = 0;
    s.rto = Math.min(s.rto * 2, RETRANSMIT_MAX_MS);
    this.#clear(s);
    if (this.#d.outbox.pending(peer).length > 0) this.#arm(peer, s);
  }

  /** Send what the window allows. */
  pump(peer: string): void {
    if (this.#stopped || !this.#d.canSend(peer)) return;
    const pending = this.#d.outbox.pending(peer);
    const s = this.#state(peer);
    if (s.pumping) return;
    const limit = Math.min(pending.length, SEND_WINDOW_MESSAGES);
    const maxBytes = this.#d.windowBytes?.() ?? SEND_WINDOW_BYTES;
    let inFlight = 0;
    for (let i = 0; i < Math.min(s.sent, pending.length); i++) inFlight += dataWireBytes(pending[i]!.body.length);
    s.pumping = true;
    try {
      while (s.sent < limit && !s.holding) {
        const size = dataWireBytes(pending[s.sent]!.body.length);
        if (s.sent > 0 && inFlight + size > maxBytes) break; // the next ack makes room
        try {
          this.#d.transmit(peer, pending[s.sent]!);
        } catch {
          break; // no path now: the timer or the next path-up resends
        }
        s.sent++;
        inFlight += size;
      }
    } finally {
      s.pumping = false;
    }
    if (pending.length > 0 && !s.timer) this.#arm(peer, s);
  }

  /** The peer's signed cumulative ack. */
  ack(peer: string, stream: string, upTo: number): void {
    const removed = this.#d.outbox.ack(peer, stream, upTo);
    if (removed.length === 0) return;
    const s = this.#state(peer);
    s.sent = Math.max(0, s.sent - removed.length);
    s.rto = RETRANSMIT_INITIAL_MS;
    this.#clear(s);
    for (const m of removed) this.#d.onDelivered(peer, m);
    this.pump(peer);
  }

  /** Trust ended: drop the peer's outbox; returns what was dropped. */
  forget(peer: string): OutboxMessage[] {
    const s = this.#peers.get(peer);
    if (s) this.#clear(s);
    this.#peers.delete(peer);
    return this.#d.outbox.drop(peer);
  }

  stop(): void {
    this.#stopped = true;
    for (const s of this.#peers.values()) this.#clear(s);
    this.#peers.clear();
  }

  #state(peer: string): SendState {
    let s = this.#peers.get(peer);
    if (!s) {
      s = { sent: 0, rto: RETRANSMIT_INITIAL_MS, timer: null, pumping: false, holding: false };
      this.#peers.set(peer, s);
    }
    return s;
  }

  #clear(s: SendState): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
  }

  #arm(peer: string, s: SendState): void {
    s.timer = setTimeout(
      () => {
        s.timer = null;
        if (this.#d.outbox.pending(peer).length === 0) {
          this.#peers.delete(peer); // idle: the map holds only peers with messages in flight
          return;
        }
        // Go-back-N: nothing was acked for a whole timeout (or the peer was busy), resend the window.
        s.holding = false;
        this.#d.onRetransmit(s.sent);
        s.sent = 0;
        s.rto = Math.min(s.rto * 2, RETRANSMIT_MAX_MS);
        this.pump(peer);
        if (!s.timer) this.#arm(peer, s);
      },
      s.rto + Math.floor(Math.random() * (s.rto / 4)),
    );
    s.timer.unref?.();
  }
}
