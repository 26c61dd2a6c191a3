/**
 * key → instance cache for cross-instance routing, so a busy conversation costs no presence
 * lookup per frame. Bounded (ROUTE_CACHE_MAX_ENTRIES; the oldest entry is evicted) and short
 * lived (ROUTE_CACHE_TTL_MS): a stale entry only costs one extra hop, because the instance
 * that receives a frame for a key it no longer serves looks the key up again and forwards it.
 */
export class RouteCache {
  private readonly map = new Map<string, { instance: string; expires: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get(keyId: string, now: number): string | null {
    const e = this.map.get(keyId);
    if (e === undefined) return null;
    if (e.expires <= now) {
      this.map.delete(keyId);
      return null;
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
    this.map.set(keyId, { instance, expires: now + this.ttlMs });
  }

  delete(keyId: string): void {
    this.map.delete(keyId);
  }

  get size(): number {
    return this.map.size;
  }
}
