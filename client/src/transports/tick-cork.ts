/**
 * Corks a WebSocket's TCP socket until the end of the current tick, so a burst of messages sent
 * in one go (a file sender's read-ahead, a credit's worth of chunks) leaves in one writev(2)
 * instead of one write each. ws has no public cork, so its socket is reached through `_socket`;
 * without one (or a destroyed one) writes go out as before. One per link or connection.
 */
import type { WebSocket } from 'ws';

interface Corkable {
  cork(): void;
  uncork(): void;
  destroyed?: boolean;
}

export class TickCork {
  #corked: Corkable | null = null;

  /** Cork `ws`'s socket if it is not already corked this tick; uncorked on the next tick. */
  cork(ws: WebSocket): void {
    if (this.#corked !== null) return;
    const sock = (ws as unknown as { _socket?: Corkable })._socket;
    if (!sock || typeof sock.cork !== 'function' || sock.destroyed) return;
    this.#corked = sock;
    sock.cork();
    process.nextTick(() => this.flush());
  }

  /** Hand what this tick wrote to the kernel now (before a terminate, which would drop it). */
  flush(): void {
    const sock = this.#corked;
    this.#corked = null;
    sock?.uncork();
  }
}
