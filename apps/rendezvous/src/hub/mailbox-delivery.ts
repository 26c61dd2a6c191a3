/**
 * Mailboxes: storing a RELAY for an offline recipient, and handing a recipient its mailbox
 * (on connect, or when another instance stored something for it while it connected).
 */
import { ENVELOPE_SENDER_OFFSET, FrameType } from '@p2p-comm/protocol';
import { instanceOf } from '../broker/broker.js';
import type { RendezvousErrorCode } from '../errors.js';
import { encodeMailHint } from '../route-codec.js';
import { type Session, SessionState } from '../session.js';
import { CH_RELAY, type HubContext, KEY_BYTES, mailboxLimits } from './context.js';
import type { SocketSender } from './sender.js';

export class MailboxDelivery {
  constructor(
    private readonly ctx: HubContext,
    private readonly sender: SocketSender,
  ) {}

  /** Mailbox an envelope; resolves null when queued, else the error code. Never rejects. */
  async store(to: Buffer, env: Buffer): Promise<RendezvousErrorCode | null> {
    const { broker, stats } = this.ctx;
    try {
      const r = await broker.mailboxPush(to.toString('base64url'), env, mailboxLimits(this.ctx.config), Date.now());
      if (r === 'full') {
        stats.drops.mailbox_full++;
        return 'RDV_ERR_MAILBOX_FULL';
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
      this.deliver(local).catch(() => {});
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
          if (s !== undefined) this.deliver(s).catch(() => {});
        }
      },
      () => {},
    );
  }

  /** Deliver everything mailboxed for an open session, in order (DELIVER on the RELAY channel). */
  async deliver(s: Session): Promise<void> {
    if (s.state !== SessionState.OPEN) return;
    await this.deliverTaken(s, await this.ctx.broker.mailboxTake(s.keyB64, Date.now()));
  }

  /** Deliver envelopes already taken from the mailbox; what cannot be delivered goes back. */
  async deliverTaken(s: Session, envs: Buffer[]): Promise<void> {
    const { broker, stats } = this.ctx;
    for (let i = 0; i < envs.length; i++) {
      const env = envs[i]!;
      if (env.length < ENVELOPE_SENDER_OFFSET + KEY_BYTES) continue;
      const frame = Buffer.allocUnsafe(2 + KEY_BYTES + env.length);
      frame[0] = FrameType.DELIVER;
      frame[1] = CH_RELAY;
      env.copy(frame, 2, ENVELOPE_SENDER_OFFSET, ENVELOPE_SENDER_OFFSET + KEY_BYTES);
      env.copy(frame, 2 + KEY_BYTES);
      if (!this.sender.send(s, frame)) {
        // Gone mid-delivery: put the rest back so nothing taken is lost.
        const limits = mailboxLimits(this.ctx.config);
        for (let j = i; j < envs.length; j++) await broker.mailboxPush(s.keyB64, envs[j]!, limits, Date.now());
        return;
      }
      stats.mailboxDelivered++;
    }
  }
}
