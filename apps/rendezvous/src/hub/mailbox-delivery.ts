/**
 * Mailboxes: storing a RELAY for an offline recipient, and handing a recipient its mailbox
 * (on connect, or when another instance stored something for it while it connected).
 *
 * Only envelope v1 and PREKEY peer packets are stored (peer-packet.ts); handshake and transport
 * packets are live-only and never reach here. Storing is the one place the server checks an
 * envelope's signature: an envelope kept for days must be one its sender really signed, or a
 * stranger could fill a victim's mailbox with junk. A PREKEY packet carries no signature (its
 * sender is authenticated inside, by DH1, to the recipient only): the router stored it only
 * after comparing its sender with the authenticated key. Live relays are not checked (the
 * recipient verifies every packet; the hot path stays cheap).
 *
 * Delivery is paced by the socket: envelopes are sent while the recipient's queue is under
 * MAILBOX_DELIVERY_HIGH_WATER_BYTES, then the rest waits for the socket to drain. What is not
 * sent when the session ends goes back to the head of the mailbox: nothing taken is lost.
 */
import {
  checkPeerPacket,
  FrameType,
  isStorablePeerPacket,
  PeerPacketKind,
  storedPacketOffsets,
  verifyEnvelopeSignature,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { instanceOf } from '../broker/broker.js';
import { MAILBOX_DELIVERY_HIGH_WATER_BYTES, MAILBOX_DELIVERY_RETRY_MS } from '../constants.js';
import type { RendezvousErrorCode } from '../errors.js';
import { encodeMailHint } from '../route-codec.js';
import { type Session, SessionState } from '../session.js';
import { CH_RELAY, type HubContext, KEY_BYTES, mailboxLimits, OPEN } from './context.js';
import type { SocketSender } from './sender.js';

/**
 * A session mail can be written to now. A session stays registered (state OPEN) for a moment
 * after its socket started closing; handing it mail then would only put it back, and with the
 * memory broker take → put back → deliver again is a loop of promise jobs that never yields,
 * so the close that would end it never runs.
 */
function writable(s: Session): boolean {
  return s.state === SessionState.OPEN && s.ws.readyState === OPEN;
}

export class MailboxDelivery {
  constructor(
    private readonly ctx: HubContext,
    private readonly sender: SocketSender,
  ) {}

  /**
   * Mailbox a peer packet (envelope v1 or PREKEY, sender already compared with the authenticated
   * key); resolves null when queued, else the error code. Never rejects.
   */
  /** `ttlMs` (0 = MAILBOX_TTL_S): how long this copy is kept, already clamped to MAILBOX_TTL_S (RELAY_TTL). */
  async store(to: Buffer, env: Buffer, ttlMs = 0): Promise<RendezvousErrorCode | null> {
    const { broker, stats } = this.ctx;
    let kind: PeerPacketKind;
    try {
      kind = checkPeerPacket(env);
    } catch {
      stats.drops.bad_envelope++;
      return 'RDV_ERR_BAD_ENVELOPE';
    }
    if (!isStorablePeerPacket(kind)) {
      // Unreachable from the router (it answers PEER_OFFLINE for live-only packets): never store one.
      stats.drops.bad_envelope++;
      return 'RDV_ERR_BAD_ENVELOPE';
    }
    if (kind === PeerPacketKind.ENVELOPE) {
      try {
        verifyEnvelopeSignature(nodeSuite, env);
      } catch {
        stats.drops.bad_signature++;
        return 'RDV_ERR_BAD_SIGNATURE';
      }
    }
    try {
      const limits = mailboxLimits(this.ctx.config);
      const r = await broker.mailboxPush(
        to.toString('base64url'),
        env,
        ttlMs > 0 ? { ...limits, ttlMs } : limits,
        Date.now(),
      );
      if (r === 'full') {
        stats.drops.mailbox_full++;
        return 'RDV_ERR_MAILBOX_FULL';
      }
      if (r === 'sender_full') {
        stats.drops.mailbox_sender_full++;
        return 'RDV_ERR_MAILBOX_SENDER_FULL';
      }
      if (r === 'budget') {
        stats.drops.mailbox_budget++;
        return 'RDV_ERR_MAILBOX_BUDGET';
      }
      if (r === 'duplicate') {
        // Already stored (a resend): QUEUED is the truth, and no second copy is kept.
        stats.mailboxDuplicates++;
        return null;
      }
      stats.mailboxQueued++;
      this.afterStored(to);
      return null;
    } catch {
      stats.drops.unavailable++;
      return 'RDV_ERR_UNAVAILABLE';
    }
  }

  /**
   * Close the race with a recipient that connected while we stored its envelope (its own
   * mailbox read may have run before our write): look it up after the write and, if it is
   * online, have its instance deliver the mailbox now. Either the lookup sees the new claim, or
   * the claim — and so the connect-time read — came after our write.
   */
  private afterStored(to: Buffer): void {
    const { sessions, broker, selfId, out } = this.ctx;
    const local = sessions.get(to.toString('latin1'));
    if (local !== undefined) {
      // A closing session gets nothing; the key's next session reads its mailbox on connect.
      if (writable(local)) this.deliver(local).catch(() => {});
      return;
    }
    if (!broker.isReady()) return;
    broker.lookup(to.toString('base64url')).then(
      (claim) => {
        const inst = claim === null ? null : instanceOf(claim);
        if (inst === null) return;
        if (inst !== selfId) out.push(inst, encodeMailHint(to));
        else {
          const s = sessions.get(to.toString('latin1'));
          if (s !== undefined && writable(s)) this.deliver(s).catch(() => {});
        }
      },
      () => {},
    );
  }

  /** Deliver everything mailboxed for an open session, in order (DELIVER on the RELAY channel). */
  async deliver(s: Session): Promise<void> {
    if (!writable(s)) return;
    const envs = await this.ctx.broker.mailboxTake(s.keyB64, Date.now());
    if (!writable(s)) {
      // Closed while we read: its close already ran, so these go straight back.
      await this.restore(s, envs);
      return;
    }
    this.deliverTaken(s, envs);
  }

  /** Deliver envelopes already taken from the mailbox, after any still being delivered. */
  deliverTaken(s: Session, envs: Buffer[]): void {
    if (envs.length === 0) return;
    if (s.mail === null) {
      s.mail = envs;
      s.mailNext = 0;
    } else for (const e of envs) s.mail.push(e);
    this.pump(s);
  }

  /** Send while the queue is under the high-water mark; then wait for the socket to drain. */
  private pump(s: Session): void {
    const q = s.mail;
    if (q === null || s.mailWaiting) return;
    const { stats } = this.ctx;
    while (s.mailNext < q.length) {
      if (s.state === SessionState.CLOSED || s.ws.readyState !== OPEN) {
        this.release(s);
        return;
      }
      if (s.ws.bufferedAmount >= MAILBOX_DELIVERY_HIGH_WATER_BYTES) {
        s.mailWaiting = true;
        const resume = (): void => {
          s.mailWaiting = false;
          this.pump(s);
        };
        // 'drain' comes once the socket's buffer has gone to the network; a socket that never
        // needed one (everything is in the kernel already) is looked at again shortly.
        if (s.sock.writableNeedDrain) s.sock.once('drain', resume);
        else setTimeout(resume, MAILBOX_DELIVERY_RETRY_MS).unref();
        // The taken envelopes wait in memory: a reader that stops here is cut after
        // SLOW_READER_TIMEOUT_MS without progress, which puts them back.
        this.sender.watchStall(s);
        return;
      }
      const env = q[s.mailNext]!;
      s.mailNext++;
      const from = storedPacketOffsets(env).sender;
      if (env.length < from + KEY_BYTES) continue;
      const frame = Buffer.allocUnsafe(2 + KEY_BYTES + env.length);
      frame[0] = FrameType.DELIVER;
      frame[1] = CH_RELAY;
      env.copy(frame, 2, from, from + KEY_BYTES);
      env.copy(frame, 2 + KEY_BYTES);
      if (!this.sender.send(s, frame)) {
        s.mailNext--; // not sent: it goes back with the rest
        this.release(s);
        return;
      }
      stats.mailboxDelivered++;
    }
    s.mail = null;
    s.mailNext = 0;
  }

  /**
   * The session ended (or cannot be written to): put what was taken and not sent back at the
   * head of its mailbox, then have whichever session now holds the key collect it.
   */
  release(s: Session): void {
    const q = s.mail;
    if (q === null) return;
    const rest = q.slice(s.mailNext);
    s.mail = null;
    s.mailNext = 0;
    this.restore(s, rest).catch(() => {});
  }

  private async restore(s: Session, envs: Buffer[]): Promise<void> {
    if (envs.length === 0 || s.key === null) return;
    try {
      await this.ctx.broker.mailboxRestore(s.keyB64, envs, mailboxLimits(this.ctx.config), Date.now());
    } catch (err) {
      this.ctx.log.warn({ err: String(err), key: s.keyB64, envelopes: envs.length }, 'mailbox put-back failed');
      return;
    }
    this.afterStored(s.key);
  }
}
