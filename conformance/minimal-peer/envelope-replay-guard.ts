// The envelope v1 replay guard, minimal form (docs/protocol.md "Envelope v1" → "What is MUST
// in the replay guard"): every accepted (sender, nonce) pair is kept while its timestamp can
// still pass the ±5 min window; a repeat is PROTO_ERR_REPLAY. Memory is bounded by refusing,
// never by forgetting (PROTO_ERR_REPLAY_BUDGET), which the spec says conforms. The two pools
// and per-sender budgets of our client are SHOULD and are left out.

import { toHex } from './bytes.js';
import { TIMESTAMP_WINDOW_MS } from './envelope.js';
import { PeerError } from './errors.js';

/** Pairs held at once, all senders together; past it new envelopes are refused, not recorded. */
export const REPLAY_MAX_PAIRS = 65_536;

export class EnvelopeReplayGuard {
  /** key = sender hex + nonce hex → the envelope's timestamp. */
  private readonly pairs = new Map<string, number>();

  check(sender: Uint8Array, nonce: Uint8Array, _timestamp: number, now: number): void {
    this.prune(now);
    if (this.pairs.has(toHex(sender) + toHex(nonce))) {
      throw new PeerError('PROTO_ERR_REPLAY', 'this (sender, nonce) was already accepted');
    }
    if (this.pairs.size >= REPLAY_MAX_PAIRS) throw new PeerError('PROTO_ERR_REPLAY_BUDGET', 'replay guard full');
  }

  accept(sender: Uint8Array, nonce: Uint8Array, timestamp: number, _now: number): void {
    this.pairs.set(toHex(sender) + toHex(nonce), timestamp);
  }

  /** What a restart carries over (the conformance kit's `restart: true`). */
  snapshot(): string {
    return JSON.stringify([...this.pairs]);
  }

  static restore(snapshot: string): EnvelopeReplayGuard {
    const guard = new EnvelopeReplayGuard();
    for (const [key, timestamp] of JSON.parse(snapshot) as [string, number][]) guard.pairs.set(key, timestamp);
    return guard;
  }

  /** A pair dated more than the window before now can no longer pass the clock check. */
  private prune(now: number): void {
    for (const [key, timestamp] of this.pairs) {
      if (timestamp < now - TIMESTAMP_WINDOW_MS) this.pairs.delete(key);
    }
  }
}
