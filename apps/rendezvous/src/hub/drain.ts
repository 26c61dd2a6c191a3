/**
 * Graceful shutdown: RESTARTING to every client, then wait for them to leave; close the rest
 * with 1012 (RDV_ERR_DRAINING), and terminate whatever is still there at the deadline.
 */
import { restartingFrame } from '../frames-out.js';
import { SessionState } from '../session.js';
import type { HubContext } from './context.js';
import type { SocketSender } from './sender.js';

export class Drain {
  private waiter: (() => void) | null = null;

  constructor(
    private readonly ctx: HubContext,
    private readonly sender: SocketSender,
  ) {}

  /** Called when a socket closes: wakes the drain once the last one is gone. */
  onSocketClosed(): void {
    if (this.ctx.all.size === 0 && this.waiter !== null) this.waiter();
  }

  async run(timeoutMs: number): Promise<void> {
    const { all, config, out } = this.ctx;
    const frame = restartingFrame(config.restartRetryAfterMs);
    for (const s of all) if (s.state === SessionState.OPEN) this.sender.send(s, frame);
    const closeBy = Math.max(0, timeoutMs - Math.min(1000, timeoutMs / 4));
    await this.waitEmpty(closeBy);
    for (const s of all) if (s.state !== SessionState.CLOSED) this.sender.fail(s, 'RDV_ERR_DRAINING');
    await this.waitEmpty(timeoutMs - closeBy);
    for (const s of all) s.ws.terminate();
    out.flush();
  }

  private waitEmpty(ms: number): Promise<void> {
    if (this.ctx.all.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.waiter = null;
        resolve();
      }
      this.waiter = done;
    });
  }
}
