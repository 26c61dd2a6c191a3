/**
 * "At most once per interval for each key", remembering at most `maxKeys` keys (the least
 * recently allowed is forgotten first, so a flood of keys costs at most one extra action for a
 * forgotten one). A clock that went backwards allows at once rather than blocking until it
 * catches up.
 */
export class PerKeyInterval {
  readonly #last = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys: number,
  ) {}

  /** True (and remembered) when `key` was not allowed within the interval before `now`. */
  allow(key: string, now: number): boolean {
    const last = this.#last.get(key);
    if (last !== undefined && now >= last && now - last < this.intervalMs) return false;
    this.#last.delete(key);
    this.#last.set(key, now);
    if (this.#last.size > this.maxKeys) this.#last.delete(this.#last.keys().next().value!);
    return true;
  }
}
