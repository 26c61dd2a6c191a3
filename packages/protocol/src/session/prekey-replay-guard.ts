import { fromBase64url, toBase64url } from '../bytes.js';
import {
  PREKEY_REPLAY_MAX_PEERS,
  PREKEY_REPLAY_STATE_VERSION,
  PREKEY_REPLAY_WINDOW_MESSAGES,
  PUBLIC_KEY_BYTES,
} from '../constants.js';
import { assertBytes, ProtocolError } from '../errors.js';
import { ReplayWindow } from './replay-window.js';

/**
 * Replay protection for prekey messages by sequence number, per sender, with no clock: a
 * mailbox copy stays acceptable for as long as the mailbox keeps it, and is accepted once.
 * Per sender: a ReplayWindow (the session layer's sliding bitmap, WireGuard / RFC 6479 style), so out-of-order mailbox delivery within the window is fine
 * and anything older is refused. Bounded: at most `maxPeers` senders; a new sender past that
 * is refused (PROTO_ERR_TOO_LARGE), never makes room by forgetting one (forgetting would let
 * that sender's old messages replay). `forget(peer)` when a peer is revoked.
 *
 * Persist `toState()` after each accepted message (or batch) and `PrekeyReplayGuard.fromState`
 * at start: the state is plain JSON with a version; unknown versions are refused.
 */

/** The persisted shape (JSON-safe). */
export interface PrekeyReplayState {
  readonly version: number;
  /** Window width, sequences. */
  readonly window: number;
  readonly peers: readonly {
    /** Sender Ed25519 key, base64url. */
    readonly peer: string;
    readonly highest: number;
    /** Bitmap words, little-endian u32s, base64url. */
    readonly bitmap: string;
  }[];
}

export interface PrekeyReplayGuardOptions {
  /** Sequences remembered below the highest, per sender (multiple of 32). */
  readonly window?: number;
  /** Senders tracked at once. */
  readonly maxPeers?: number;
}

export class PrekeyReplayGuard {
  readonly window: number;
  readonly maxPeers: number;
  readonly #peers = new Map<string, ReplayWindow>();

  constructor(options: PrekeyReplayGuardOptions = {}) {
    const window = options.window ?? PREKEY_REPLAY_WINDOW_MESSAGES;
    const maxPeers = options.maxPeers ?? PREKEY_REPLAY_MAX_PEERS;
    if (!Number.isInteger(window) || window < 32 || window % 32 !== 0 || window > 65_536)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'window must be a multiple of 32 in [32, 65536]');
    if (!Number.isInteger(maxPeers) || maxPeers < 1)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'maxPeers must be a positive integer');
    this.window = window;
    this.maxPeers = maxPeers;
  }

  /** Senders tracked. */
  get size(): number {
    return this.#peers.size;
  }

  /**
   * Throws PROTO_ERR_PREKEY_REPLAY (seen, or below the window) or PROTO_ERR_TOO_LARGE (a new
   * sender and no room); records nothing.
   */
  check(peer: Uint8Array, sequence: number): void {
    assertBytes(peer, PUBLIC_KEY_BYTES, 'peer');
    if (!Number.isSafeInteger(sequence) || sequence < 0)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'sequence must be a non-negative safe integer');
    const w = this.#peers.get(toBase64url(peer));
    if (!w) {
      if (this.#peers.size >= this.maxPeers)
        throw new ProtocolError('PROTO_ERR_TOO_LARGE', `prekey replay guard tracks ${this.maxPeers} senders`);
      return;
    }
    const v = w.verdict(sequence);
    if (v === 'too-old') throw new ProtocolError('PROTO_ERR_PREKEY_REPLAY', `sequence ${sequence} is below the window`);
    if (v === 'replay') throw new ProtocolError('PROTO_ERR_PREKEY_REPLAY', `sequence ${sequence}`);
  }

  /** Record an authenticated message's sequence (checks first). */
  commit(peer: Uint8Array, sequence: number): void {
    this.check(peer, sequence);
    const id = toBase64url(peer);
    let w = this.#peers.get(id);
    if (!w) {
      w = new ReplayWindow(this.window);
      this.#peers.set(id, w);
    }
    w.record(sequence);
  }

  /** Drop a sender's state (after revoking it: its messages are refused elsewhere). */
  forget(peer: Uint8Array): void {
    this.#peers.delete(toBase64url(peer));
  }

  /** Highest sequence accepted from `peer`, or −1. */
  highest(peer: Uint8Array): number {
    return this.#peers.get(toBase64url(peer))?.highest ?? -1;
  }

  toState(): PrekeyReplayState {
    return {
      version: PREKEY_REPLAY_STATE_VERSION,
      window: this.window,
      peers: [...this.#peers].map(([peer, w]) => ({
        peer,
        highest: w.highest,
        bitmap: toBase64url(w.bitmapBytes()),
      })),
    };
  }

  /**
   * Restore persisted state. Refuses (PROTO_ERR_BAD_VERSION) any version but
   * PREKEY_REPLAY_STATE_VERSION and (PROTO_ERR_BAD_ENCODING) anything malformed: a guard that
   * silently started empty would accept every stored message again.
   */
  static fromState(state: unknown, options: Omit<PrekeyReplayGuardOptions, 'window'> = {}): PrekeyReplayGuard {
    const bad = (why: string) => new ProtocolError('PROTO_ERR_BAD_ENCODING', `prekey replay state: ${why}`);
    if (typeof state !== 'object' || state === null) throw bad('not an object');
    const s = state as Partial<PrekeyReplayState>;
    if (s.version !== PREKEY_REPLAY_STATE_VERSION)
      throw new ProtocolError(
        'PROTO_ERR_BAD_VERSION',
        `prekey replay state version ${String(s.version)}, this implementation reads ${PREKEY_REPLAY_STATE_VERSION}`,
      );
    const window = s.window as number;
    if (!Number.isInteger(window) || window < 32 || window % 32 !== 0 || window > 65_536 || !Array.isArray(s.peers))
      throw bad('window / peers');
    const guard = new PrekeyReplayGuard({ ...options, window });
    if (s.peers.length > guard.maxPeers) throw bad('more senders than maxPeers');
    for (const p of s.peers as unknown[]) {
      const e = p as { peer?: unknown; highest?: unknown; bitmap?: unknown };
      const key = typeof e?.peer === 'string' ? fromBase64url(e.peer) : null;
      const bitmap = typeof e?.bitmap === 'string' ? fromBase64url(e.bitmap) : null;
      if (!key || key.length !== PUBLIC_KEY_BYTES) throw bad('peer');
      if (!Number.isSafeInteger(e.highest) || (e.highest as number) < -1) throw bad('highest');
      const w = bitmap ? ReplayWindow.restore(guard.window, e.highest as number, bitmap) : null;
      if (!w) throw bad('bitmap');
      const id = toBase64url(key);
      if (guard.#peers.has(id)) throw bad('duplicate peer');
      guard.#peers.set(id, w);
    }
    return guard;
  }
}
