import type { Writable } from 'node:stream';

/**
 * Waits kept per key, at most: a host that does not read while lines keep coming cannot grow
 * them without bound. Dropping the oldest is safe for the keys the session uses (an ack or a
 * position written later covers an earlier one; a long message has a key of its own).
 */
export const HOST_OUTPUT_WAITS_PER_KEY = 256;

/**
 * The extension's output to its host (stdout), and when the host has what we wrote.
 *
 * A write to a pipe the host is slow to read does not reach the host at once: it waits in our
 * memory, and is lost if we are killed. A `message.received` in that state must not be acked
 * to its sender yet (the ack says "delivered"), nor written to disk as delivered. `whenFlushed`
 * runs a callback once every line written before the call has been handed to the OS (the
 * write callbacks come in order) — at once when they all have.
 */
export class HostOutput {
  readonly #out: Writable;
  /** Lines written, and lines known to be handed to the OS (always ≤ written). */
  #written = 0;
  #flushed = 0;
  /** A write failed (the host closed our stdout): nothing written from now on reaches it. */
  #broken = false;
  /**
   * Waits by key, oldest first, each for the lines written before it. Of the ones a flush makes
   * due, only the newest of a key runs (acks and positions are cumulative). Keys are two per
   * peer (its ack, its inbox position) and one per long message being delivered.
   */
  readonly #waiting = new Map<string, Array<{ target: number; run: () => void }>>();

  constructor(out: Writable) {
    this.#out = out;
  }

  write(line: string): void {
    const seq = ++this.#written;
    this.#out.write(`${line}\n`, (err) => {
      this.#flushed = Math.max(this.#flushed, seq);
      if (err) {
        // The host is gone: what waits was never delivered, so it is never acked (the process
        // is stopping; after a restart the messages come again).
        this.#broken = true;
        this.#waiting.clear();
      }
      if (!this.#broken) this.#release();
    });
    // Nothing left in our memory: the OS took this line (and all before it) in the write
    // itself. Counted now, not a tick later when its callback comes: a wait made right after
    // (the message's position on disk) then runs at once, and a kill can no longer fall between
    // the host having the line and the position being written.
    if (this.#out.writableLength === 0 && !this.#broken) {
      this.#flushed = this.#written;
      this.#release();
    }
  }

  whenFlushed(key: string, then: () => void): void {
    if (this.#broken) return;
    const target = this.#written;
    if (this.#flushed >= target) {
      then();
      return;
    }
    const list = this.#waiting.get(key) ?? [];
    const last = list.at(-1);
    if (last?.target === target)
      last.run = then; // nothing written since: the newer says it all
    else {
      list.push({ target, run: then });
      if (list.length > HOST_OUTPUT_WAITS_PER_KEY) list.shift();
    }
    this.#waiting.set(key, list);
  }

  #release(): void {
    for (const [key, list] of this.#waiting) {
      let due: (() => void) | null = null;
      while (list.length > 0 && list[0]!.target <= this.#flushed) due = list.shift()!.run;
      if (list.length === 0) this.#waiting.delete(key);
      due?.();
    }
  }
}
