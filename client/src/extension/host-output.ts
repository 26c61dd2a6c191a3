import type { Writable } from 'node:stream';

/**
 * The extension's output to its host (stdout), and when the host has what we wrote.
 *
 * A write to a pipe the host is slow to read does not reach the host at once: it waits in our
 * memory, and is lost if we are killed. A `message.received` in that state must not be acked
 * to its sender yet (the ack says "delivered"). `whenFlushed` runs a callback once every line
 * written so far has been handed to the OS — each write's callback has come — at once when
 * nothing is waiting.
 */
export class HostOutput {
  readonly #out: Writable;
  /** Lines written whose write callback has not come yet. */
  #unflushed = 0;
  /** A write failed (the host closed our stdout): nothing written from now on reaches it. */
  #broken = false;
  /**
   * Callbacks waiting for everything to be flushed, by key; a newer one with the same key
   * replaces the older. Keys are two per peer (its ack, its inbox position) and one per long
   * message being delivered, so the map holds at most 2 × peers + LONG_MESSAGE_MAX_INCOMING.
   */
  readonly #waiting = new Map<string, () => void>();

  constructor(out: Writable) {
    this.#out = out;
  }

  write(line: string): void {
    this.#unflushed++;
    this.#out.write(`${line}\n`, (err) => {
      this.#unflushed--;
      if (err) {
        // The host is gone: what waits was never delivered, so it is never acked (the process
        // is stopping; after a restart the messages come again).
        this.#broken = true;
        this.#waiting.clear();
      }
      if (this.#unflushed === 0 && !this.#broken) this.#release();
    });
  }

  whenFlushed(key: string, then: () => void): void {
    if (this.#broken) return;
    if (this.#unflushed === 0) {
      then();
      return;
    }
    this.#waiting.delete(key); // re-inserted last
    this.#waiting.set(key, then);
  }

  #release(): void {
    const ready = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const then of ready) then();
  }
}
