// Sliding replay window of a v2 receiving key (docs/protocol.md "v2 sessions — transport" →
// Replay window): WireGuard / RFC 6479 style, SESSION_REPLAY_WINDOW_MESSAGES bits behind the
// highest accepted counter, fixed memory, no clock.

import { PeerError } from './errors.js';

/** SESSION_REPLAY_WINDOW_MESSAGES (docs/limits.md). */
export const REPLAY_WINDOW_MESSAGES = 2048;

export class ReplayWindow {
  /** bit i%W says counter i was accepted, for i in (highest − W, highest]. */
  private readonly seen = new Uint8Array(REPLAY_WINDOW_MESSAGES);
  private highest = -1;

  /** Throws PROTO_ERR_SESSION_TOO_OLD / PROTO_ERR_SESSION_REPLAY; records nothing. */
  check(counter: number): void {
    if (counter > this.highest) return;
    if (this.highest - counter >= REPLAY_WINDOW_MESSAGES) {
      throw new PeerError('PROTO_ERR_SESSION_TOO_OLD', `counter ${counter} is behind the replay window`);
    }
    if (this.seen[counter % REPLAY_WINDOW_MESSAGES] === 1) {
      throw new PeerError('PROTO_ERR_SESSION_REPLAY', `counter ${counter} was already accepted`);
    }
  }

  /** Record a counter whose packet authenticated (call check first). */
  accept(counter: number): void {
    if (counter > this.highest) {
      // Slots between the old highest and the new one now stand for counters never seen.
      const clear = Math.min(counter - this.highest, REPLAY_WINDOW_MESSAGES);
      for (let i = 1; i <= clear; i++) this.seen[(this.highest + i) % REPLAY_WINDOW_MESSAGES] = 0;
      this.highest = counter;
    }
    this.seen[counter % REPLAY_WINDOW_MESSAGES] = 1;
  }
}
