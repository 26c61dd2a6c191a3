import {
  PEER_HANDSHAKE_RATE_WINDOW_MS,
  PEER_HANDSHAKE_RESPONSES_GLOBAL,
  PEER_HANDSHAKE_RESPONSES_PER_PEER,
  PEER_SESSIONS_MAX,
} from '../constants.js';

/**
 * Fixed-window limit on answering handshake message 1: each answer costs an ML-KEM-768
 * encapsulation and five X25519 operations, so one peer (or a server replaying a peer's
 * message 1) gets PEER_HANDSHAKE_RESPONSES_PER_PEER per window and everyone together
 * PEER_HANDSHAKE_RESPONSES_GLOBAL. Tracks at most PEER_SESSIONS_MAX keys (oldest forgotten).
 */
export class HandshakeLimiter {
  readonly #perPeer = new Map<string, { start: number; count: number }>();
  #global = { start: 0, count: 0 };

  constructor(
    private readonly perPeer = PEER_HANDSHAKE_RESPONSES_PER_PEER,
    private readonly global = PEER_HANDSHAKE_RESPONSES_GLOBAL,
    private readonly windowMs = PEER_HANDSHAKE_RATE_WINDOW_MS,
  ) {}

  allow(peer: string, now: number): boolean {
    if (now - this.#global.start >= this.windowMs || now < this.#global.start) this.#global = { start: now, count: 0 };
    let k = this.#perPeer.get(peer);
    if (!k || now - k.start >= this.windowMs || now < k.start) {
      k = { start: now, count: 0 };
      this.#perPeer.delete(peer);
      this.#perPeer.set(peer, k);
      while (this.#perPeer.size > PEER_SESSIONS_MAX) this.#perPeer.delete(this.#perPeer.keys().next().value!);
    }
    if (k.count >= this.perPeer || this.#global.count >= this.global) return false;
    k.count++;
    this.#global.count++;
    return true;
  }
}
