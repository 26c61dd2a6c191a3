/**
 * RouteCache: entries are served until they expire, and renewed ahead of that (issue 18: every
 * active key used to fall out once per TTL, and its frames then waited for a Redis lookup).
 */
import { describe, expect, it } from 'vitest';
import { ROUTE_CACHE_REFRESH_AT } from '../src/constants.js';
import { RouteCache } from '../src/route-cache.js';

describe('RouteCache', () => {
  it('serves an entry until its TTL, then forgets it', () => {
    const c = new RouteCache(1_000, 10);
    c.set('k', 'i1', 0);
    expect(c.get('k', 999)).toBe('i1');
    expect(c.get('k', 1_000)).toBeNull();
    expect(c.size).toBe(0);
  });

  it('asks the refresher once when an entry is read past ROUTE_CACHE_REFRESH_AT of its TTL, and a renewal starts over', () => {
    const c = new RouteCache(1_000, 10);
    const asked: string[] = [];
    c.setRefresher((k) => asked.push(k));
    c.set('k', 'i1', 0);
    const half = 1_000 * ROUTE_CACHE_REFRESH_AT;
    expect(c.get('k', half - 1)).toBe('i1');
    expect(asked).toEqual([]);
    expect(c.get('k', half)).toBe('i1'); // still served while the refresh runs
    expect(c.get('k', half + 10)).toBe('i1');
    expect(asked).toEqual(['k']); // once, not per read
    c.set('k', 'i2', half + 20); // the refresh answered: a new lifetime
    expect(c.get('k', 999)).toBe('i2'); // past the old expiry
    expect(c.get('k', half + 20 + half)).toBe('i2');
    expect(asked).toEqual(['k', 'k']);
  });

  it('evicts the oldest entry when full, and stores nothing with TTL 0', () => {
    const c = new RouteCache(1_000, 2);
    c.set('a', 'i', 0);
    c.set('b', 'i', 0);
    c.set('c', 'i', 0);
    expect([c.get('a', 1), c.get('b', 1), c.get('c', 1)]).toEqual([null, 'i', 'i']);
    const off = new RouteCache(0, 2);
    off.set('a', 'i', 0);
    expect(off.get('a', 0)).toBeNull();
  });
});
