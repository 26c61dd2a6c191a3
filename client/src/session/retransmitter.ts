import {
  MAILBOX_RESEND_AFTER_MS,
  RETRANSMIT_INITIAL_MS,
  RETRANSMIT_MAX_MS,
  SEND_WINDOW_BYTES,
  SEND_WINDOW_MESSAGES,
} from '../constants.js';
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
  /** Parked messages are resent this long after parking at the latest, ms; default MAILBOX_RESEND_AFTER_MS. */
  mailboxResendAfterMs?: number;
  /**
   * Messages from this position of the peer's stream on wait (a long message ahead of them is
   * still on its way: sdk/long-messages.ts); null when none do. Read at every pump.
   */
  holdFrom?: (peer: string) => { stream: string; seq: number } | null;
}

interface SendState {
  /** Messages at the head of the outbox already transmitted in this round. */
  sent: number;
  rto: number;
  timer: NodeJS.Timeout | null;
  /** A pump for this peer is on the stack (transmit may open a path, whose kick lands here). */
  pumping: boolean;
  /** The peer is busy (the relay refused a frame for it): send nothing until its next ack or the timer. */
  holding: boolean;
  /**
   * Messages allowed in flight while recovering from a busy refusal: halved (at least 1) by each
   * refusal, grown by every message acked, back to SEND_WINDOW_MESSAGES on a new path.
   */
  busyCap: number;
  /**
   * Ids of in-window messages the server answered QUEUED (a copy waits in the peer's mailbox):
   * skipped by resend rounds. At most SEND_WINDOW_MESSAGES (only ids in the window enter).
   */
  parked: Set<string>;
  /** When the oldest id in `parked` was parked, ms since epoch; 0 when none is. */
  parkedSince: number;
}

/**
 * Per peer, go-back-N over the durable outbox: up to SEND_WINDOW_MESSAGES and the byte window
 * (SEND_WINDOW_BYTES, counted with `dataWireBytes`, one message always) in flight; when a
 * whole timeout passes without the cumulative ack advancing, the window is sent again and
 * the timeout doubles (RETRANSMIT_INITIAL_MS … RETRANSMIT_MAX_MS, with jitter). A new path or
 * an ack resets it. Path-agnostic: `transmit` picks the path each time.
 *
 * A message the relay answered QUEUED is stored in the peer's mailbox: it is parked (sent →
 * queued → acked), still in the window but skipped by resend rounds, so an offline peer's
 * mailbox gets one copy, not one per round. Parked messages go back to unacked (resent by the
 * normal timer if no ack covers them) when the peer shows it is online (`peerOnline`: any
 * envelope or ack from it, a frame the relay delivered live to it), are resent at once on
 * `kick(peer, true)` (our server connection came back: it may be a new process whose memory
 * mailbox is gone; a direct path came up), and are resent MAILBOX_RESEND_AFTER_MS after
 * parking at the latest. Resends of stored copies cost no mailbox space: the server dedupes
 * by (sender, message id). Parking is not persisted: after a restart everything unacked is
 * sent once more, answered QUEUED again, and parked again.
 */
export class Retransmitter {
  readonly #d: RetransmitterDeps;
  readonly #peers = new Map<string, SendState>();
  #stopped = false;

  constructor(deps: RetransmitterDeps) {
    this.#d = deps;
  }

  /**
   * A path to `peer` (re)appeared or consent arrived: resend what is unacked now. Parked
   * messages are resent too only with `resendParked` (the server connection came back, or a
   * direct path: either may mean the stored copies are gone or not needed).
   */
  kick(peer: string, resendParked = false): void {
    const s = this.#state(peer);
    if (resendParked) this.#unpark(s);
    s.rto = RETRANSMIT_INITIAL_MS;
    // The path appeared because this peer's own pump opened it (the relay opens on demand):
    // that pump is already sending on it. Rewinding now would resend the window on top of
    // itself and make the running loop skip a message.
    if (s.pumping) return;
    s.sent = 0;
    s.rto = RETRANSMIT_INITIAL_MS;
    s.holding = false;
    s.busyCap = SEND_WINDOW_MESSAGES;
    this.#clear(s);
    this.pump(peer);
  }

  /**
   * The relay answered RDV_ERR_RECIPIENT_BUSY for a frame to `peer`: the peer reads slower than
   * we send. Nothing is lost or failed: stop sending, and resend from the first unacked message
   * on the peer's next ack (it read something: ack-clocked, like TCP after a loss) with half as
   * many messages in flight, or when the (doubled) timeout fires if no ack comes. Several
   * refusals of one window count once.
   */
  backoff(peer: string): void {
    const s = this.#peers.get(peer);
    if (!s || s.holding) return;
    s.holding = true;
    s.busyCap = Math.max(1, Math.floor(Math.min(s.sent, s.busyCap) / 2));
    s.sent = 0;
    s.rto = Math.min(s.rto * 2, RETRANSMIT_MAX_MS);
    this.#clear(s);
    if (this.#d.outbox.pending(peer).length > 0) this.#arm(peer, s);
  }

  /**
   * The relay answered QUEUED for message `id` to `peer`: a copy is in the peer's mailbox. Park
   * it (no timer resends). Ids not in the current window (already acked) are ignored.
   */
  park(peer: string, id: string): void {
    const s = this.#peers.get(peer);
    if (!s || s.parked.has(id)) return;
    const pending = this.#d.outbox.pending(peer);
    const n = Math.min(pending.length, SEND_WINDOW_MESSAGES);
    let inWindow = false;
    for (let i = 0; i < n && !inWindow; i++) inWindow = pending[i]!.id === id;
    if (!inWindow) return;
    if (s.parked.size === 0) s.parkedSince = Date.now();
    s.parked.add(id);
  }

  /**
   * `peer` is online now (it sent us something, or the relay delivered a frame to it live): its
   * mailbox has been handed to it. Parked messages become plain unacked ones: the ack for them
   * is normally on its way; if none comes within a retransmit timeout they are resent, live.
   */
  peerOnline(peer: string): void {
    const s = this.#peers.get(peer);
    if (!s || s.parked.size === 0) return;
    this.#unpark(s);
    s.rto = RETRANSMIT_INITIAL_MS;
    this.#clear(s);
    if (this.#d.outbox.pending(peer).length > 0) this.#arm(peer, s);
  }

  /** Send what the window allows. */
  pump(peer: string): void {
    if (this.#stopped || !this.#d.canSend(peer)) return;
    const pending = this.#d.outbox.pending(peer);
    const s = this.#state(peer);
    if (s.pumping) return;
    const limit = Math.min(pending.length, SEND_WINDOW_MESSAGES, s.busyCap);
    const maxBytes = this.#d.windowBytes?.() ?? SEND_WINDOW_BYTES;
    let inFlight = 0;
    for (let i = 0; i < Math.min(s.sent, pending.length); i++) inFlight += dataWireBytes(pending[i]!.body.length);
    const hold = this.#d.holdFrom?.(peer) ?? null;
    s.pumping = true;
    try {
      while (s.sent < limit && !s.holding) {
        const m = pending[s.sent]!;
        if (isHeld(hold, m)) break; // a long message goes first
        const size = dataWireBytes(m.body.length);
        if (s.sent > 0 && inFlight + size > maxBytes) break; // the next ack makes room
        try {
          // A parked message's copy waits in the peer's mailbox: it holds its place, unsent.
          if (!s.parked.has(m.id)) this.#d.transmit(peer, m);
        } catch {
          break; // no path now: the timer or the next path-up resends
        }
        s.sent++;
        inFlight += size;
      }
    } finally {
      s.pumping = false;
    }
    if (pending.length > 0 && !s.timer && !this.#allHeld(peer, s)) this.#arm(peer, s);
  }

  /** Nothing in flight and the next message waits behind a long message: no timer to run. */
  #allHeld(peer: string, s: SendState): boolean {
    const next = this.#d.outbox.pending(peer)[0];
    return s.sent === 0 && next !== undefined && isHeld(this.#d.holdFrom?.(peer) ?? null, next);
  }

  /** The peer's signed cumulative ack. The peer is online: parked messages are unparked too. */
  ack(peer: string, stream: string, upTo: number): void {
    const removed = this.#d.outbox.ack(peer, stream, upTo);
    if (removed.length === 0) {
      // An ack that covers none of them: the peer is online without them (its mailbox lost or
      // expired them), or their ack is still on its way. The timer decides.
      this.peerOnline(peer);
      return;
    }
    const s = this.#state(peer);
    this.#unpark(s);
    s.sent = Math.max(0, s.sent - removed.length);
    s.rto = RETRANSMIT_INITIAL_MS;
    // The peer read: a busy hold ends now, not a timeout later; the cap grows per message acked.
    s.holding = false;
    s.busyCap = Math.min(SEND_WINDOW_MESSAGES, s.busyCap + removed.length);
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
      s = {
        sent: 0,
        rto: RETRANSMIT_INITIAL_MS,
        timer: null,
        pumping: false,
        holding: false,
        busyCap: SEND_WINDOW_MESSAGES,
        parked: new Set(),
        parkedSince: 0,
      };
      this.#peers.set(peer, s);
    }
    return s;
  }

  #clear(s: SendState): void {
    if (s.timer) clearTimeout(s.timer);
    s.timer = null;
  }

  #unpark(s: SendState): void {
    s.parked.clear();
    s.parkedSince = 0;
  }

  #arm(peer: string, s: SendState, delayMs = s.rto + Math.floor(Math.random() * (s.rto / 4))): void {
    s.timer = setTimeout(() => {
      s.timer = null;
      const pending = this.#d.outbox.pending(peer);
      if (pending.length === 0) {
        this.#peers.delete(peer); // idle: the map holds only peers with messages in flight
        return;
      }
      // Parked long enough: the stored copies may have expired or been lost; resend them too.
      const due = s.parkedSince + (this.#d.mailboxResendAfterMs ?? MAILBOX_RESEND_AFTER_MS);
      if (s.parked.size > 0 && Date.now() >= due) this.#unpark(s);
      const sent = Math.min(s.sent, pending.length);
      let unparked = 0;
      for (let i = 0; i < sent; i++) if (!s.parked.has(pending[i]!.id)) unparked++;
      if (sent > 0 && unparked === 0 && !s.holding) {
        // Everything in flight is stored in the peer's mailbox: wait for a trigger or for the
        // long timeout, not for the short one.
        this.#arm(peer, s, due - Date.now());
        return;
      }
      // Go-back-N: nothing was acked for a whole timeout (or the peer was busy): resend the
      // window, except the parked messages.
      s.holding = false;
      this.#d.onRetransmit(unparked);
      s.sent = 0;
      s.rto = Math.min(s.rto * 2, RETRANSMIT_MAX_MS);
      this.pump(peer);
      if (!s.timer && !this.#allHeld(peer, s)) this.#arm(peer, s);
    }, delayMs);
    s.timer.unref?.();
  }
}

/** Is `m` waiting behind a long message (the position `holdFrom` named, read once per pump)? */
function isHeld(hold: { stream: string; seq: number } | null, m: OutboxMessage): boolean {
  return hold !== null && m.stream === hold.stream && m.seq >= hold.seq;
}
