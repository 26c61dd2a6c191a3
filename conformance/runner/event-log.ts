/**
 * An ordered log of events (the peer's stdout events, our client's SDK events) that steps wait
 * on. A matched event is consumed, so two expectations of the same kind need two events; label
 * expectations search the whole log, the others only what came after the script's last action.
 */
import { StepFailure } from './step-failure.js';

/** Events kept per log, count: a peer that floods is failed, not buffered without end. */
export const MAX_EVENTS = 10_000;

export interface LoggedEvent {
  event: string;
  [field: string]: unknown;
  /** Position in the log. */
  index: number;
}

export class EventLog {
  readonly events: LoggedEvent[] = [];
  readonly #consumed = new Set<number>();
  readonly #listeners = new Set<() => void>();
  /** Set when the source can produce no more events (the peer exited or broke the interface). */
  #dead: string | null = null;

  push(e: { event: string; [k: string]: unknown }): boolean {
    if (this.events.length >= MAX_EVENTS) {
      this.kill(`more than ${MAX_EVENTS} events`);
      return false;
    }
    this.events.push({ ...e, index: this.events.length });
    this.notify();
    return true;
  }

  kill(why: string): void {
    this.#dead ??= why;
    this.notify();
  }

  get dead(): string | null {
    return this.#dead;
  }

  notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  /** Unconsumed events at or after `from` that `match` accepts. */
  find(match: (e: LoggedEvent) => boolean, from = 0): LoggedEvent[] {
    return this.events.slice(from).filter((e) => !this.#consumed.has(e.index) && match(e));
  }

  /** The first unconsumed matching event at or after `from`, consumed; fails naming `what` after timeoutMs. */
  wait(match: (e: LoggedEvent) => boolean, timeoutMs: number, what: string, from = 0): Promise<LoggedEvent> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      const check = () => {
        const hit = this.find(match, from)[0];
        if (hit) {
          done();
          this.#consumed.add(hit.index);
          resolve(hit);
        } else if (this.#dead) {
          done();
          reject(new StepFailure(`waiting for ${what}: ${this.#dead}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new StepFailure(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.#listeners.add(check);
      check();
    });
  }

  /** Resolves null if no matching event comes within ms, or with the first one that does. */
  async absent(match: (e: LoggedEvent) => boolean, ms: number, from = 0): Promise<LoggedEvent | null> {
    try {
      return await this.wait(match, ms, '', from);
    } catch (err) {
      if (err instanceof StepFailure && err.message.startsWith('timed out')) return null;
      throw err;
    }
  }
}
