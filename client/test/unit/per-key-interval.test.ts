import { describe, expect, it } from 'vitest';
import { PerKeyInterval } from '../../src/session/per-key-interval.js';

describe('PerKeyInterval', () => {
  it('allows a key once per interval, each key on its own', () => {
    const limit = new PerKeyInterval(1_000, 10);
    expect(limit.allow('a', 5_000)).toBe(true);
    expect(limit.allow('a', 5_999)).toBe(false);
    expect(limit.allow('b', 5_999)).toBe(true);
    expect(limit.allow('a', 6_000)).toBe(true);
  });

  it('remembers at most maxKeys keys, forgetting the least recently allowed', () => {
    const limit = new PerKeyInterval(1_000, 2);
    expect(limit.allow('a', 0)).toBe(true);
    expect(limit.allow('b', 1)).toBe(true);
    expect(limit.allow('c', 2)).toBe(true); // 'a' is forgotten
    expect(limit.allow('b', 3)).toBe(false);
    expect(limit.allow('c', 3)).toBe(false);
    expect(limit.allow('a', 3)).toBe(true);
  });

  it('allows at once when the clock went backwards', () => {
    const limit = new PerKeyInterval(60_000, 10);
    expect(limit.allow('a', 100_000)).toBe(true);
    expect(limit.allow('a', 50_000)).toBe(true);
    expect(limit.allow('a', 50_001)).toBe(false);
  });
});
