import {
  CONSENT_RATE_GLOBAL,
  CONSENT_RATE_MAX_KEYS,
  CONSENT_RATE_PER_KEY,
  CONSENT_RATE_WINDOW_MS,
} from '../constants.js';

/**
 * Fixed-window limiter for consent prompts from unknown keys, so a stranger (or many) cannot
 * spam the user. Tracks at most CONSENT_RATE_MAX_KEYS keys (oldest forgotten).
 */
export class ConsentRateLimiter {
  readonly #perKey = new Map<string, { start: number; count: number }>();
  #global = { start: 0, count: 0 };
  /** Prompts refused since start, for status. */
  dropped = 0;

  constructor(
    private readonly perKey = CONSENT_RATE_PER_KEY,
    private readonly global = CONSENT_RATE_GLOBAL,
    private readonly windowMs = CONSENT_RATE_WINDOW_MS,
  ) {}

  allow(key: string, now = Date.now()): boolean {
    if (now - this.#global.start >= this.windowMs) this.#global = { start: now, count: 0 };
    let k = this.#perKey.get(key);
    if (!k || now - k.start >= this.windowMs) {
      k = { start: now, count: 0 };
      this.#perKey.delete(key);
      this.#perKey.set(key, k);
      while (this.#perKey.size > CONSENT_RATE_MAX_KEYS) this.#perKey.delete(this.#perKey.keys().next().value!);
    }
    if (k.count >= this.perKey || this.#global.count >= this.global) {
      this.dropped++;
      return false;
    }
    k.count++;
    this.#global.count++;
    return true;
  }
}
