/**
 * key → instance cache for cross-instance routing, so a busy conversation costs no presence
 * lookup per frame. Bounded (ROUTE_CACHE_MAX_ENTRIES; the oldest entry is evicted) and short
 * lived (ROUTE_CACHE_TTL_MS): a stale entry only costs one extra hop, because the instance
 * that receives a frame for a key it no longer serves looks the key up again and forwards it.
 *
 * Refreshed ahead of expiry: an entry read after ROUTE_CACHE_REFRESH_AT of its lifetime is
 * still served, and the refresher (the router's background lookup) is asked once to renew it.
 * Without that, every active key fell out of the cache once per TTL, and the frames sent to it
 * in that moment each waited for a Redis round trip: at 10 messages/s per key and a 2 s TTL,
 * one in twenty cross-instance frames, which was the two-instance RTT p99 (issue 18).
 */
import { ROUTE_CACHE_REFRESH_AT } from './constants.js';

interface Entry {
  instance: string;
  expires: number;
  /** From this time on, a read asks the refresher (once) to renew the entry, ms. */
  refreshAt: number;
  refreshing: boolean;
}

export class RouteCache {
  private readonly map = new Map<string, Entry>();
  /** Renews an entry in the background (set() or delete() when done); none: entries just expire. */
  private refresher: ((keyId: string) => void) | null = null;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  /** Install the background lookup that renews entries read past ROUTE_CACHE_REFRESH_AT of their TTL. */
  setRefresher(refresh: (keyId: string) => void): void {
    this.refresher = refresh;
  }

  get(keyId: string, now: number): string | null {
    const e = this.map.get(keyId);
    if (e === undefined) return null;
    if (e.expires <= now) {
      this.map.delete(keyId);
      return null;
    }
    if (now >= e.refreshAt && !e.refreshing && this.refresher !== null) {
      e.refreshing = true;
      this.refresher(keyId);
    }
    return e.instance;
  }

  set(keyId: string, instance: string, now: number): void {
    if (this.ttlMs === 0) return;
    if (this.map.size >= this.maxEntries && !this.map.has(keyId)) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.delete(keyId); // re-insert so insertion order tracks age
    this.map.set(keyId, {
      instance,
      expires: now + this.ttlMs,
      refreshAt: now + this.ttlMs * ROUTE_CACHE_REFRESH_AT,
      refreshing: false,
    });
  }

  /** Forget keyId (it became local here, or went offline). A refresh that fails leaves the entry to expire. */
  delete(keyId: string): void {
    this.map.delete(keyId);
  }

  get size(): number {
    return this.map.size;
  }
}
