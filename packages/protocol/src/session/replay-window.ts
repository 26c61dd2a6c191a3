import { SESSION_REPLAY_WINDOW_MESSAGES } from '../constants.js';
import { ProtocolError } from '../errors.js';

/**
 * Sliding anti-replay window over 64-bit packet counters, as in WireGuard and RFC 6479: a
 * bitmap of `size` bits behind the highest counter accepted. Memory is fixed at construction
 * (size / 32 + 1 words), whatever the traffic. Two steps, so that nothing unauthenticated is
 * ever recorded: `check` before decrypting (cheap refusal), `commit` once the tag verified.
 */
export type WindowVerdict = 'ok' | 'too-old' | 'replay';

export class ReplayWindow {
  /** Window width, counters. */
  readonly size: number;
  private readonly words: Uint32Array;
  private top = -1;

  constructor(size: number = SESSION_REPLAY_WINDOW_MESSAGES) {
    if (!Number.isInteger(size) || size < 32 || size % 32 !== 0)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'size must be a positive multiple of 32');
    this.size = size;
    // One spare word: whole words are cleared as the window slides, and the newest word may be
    // partly filled, so size / 32 + 1 words keep every counter within `size` of the top.
    this.words = new Uint32Array(size / 32 + 1);
  }

  /** Highest counter accepted so far (−1 before the first). */
  get highest(): number {
    return this.top;
  }

  /** Bytes of state this window holds (constant). */
  get stateBytes(): number {
    return this.words.byteLength;
  }

  /** Whether `counter` is acceptable; records nothing. Callers map the refusals to their codes. */
  verdict(counter: number): WindowVerdict {
    if (counter > this.top) return 'ok';
    if (this.top - counter >= this.size) return 'too-old';
    return this.isSet(counter) ? 'replay' : 'ok';
  }

  /** Throws PROTO_ERR_SESSION_TOO_OLD or PROTO_ERR_SESSION_REPLAY; records nothing. */
  check(counter: number): void {
    const v = this.verdict(counter);
    if (v === 'too-old') throw new ProtocolError('PROTO_ERR_SESSION_TOO_OLD', `counter ${counter}`);
    if (v === 'replay') throw new ProtocolError('PROTO_ERR_SESSION_REPLAY', `counter ${counter}`);
  }

  /** Record an authenticated counter (call `check` first). */
  commit(counter: number): void {
    this.check(counter);
    this.record(counter);
  }

  /** Set the bit of a counter already judged acceptable (`verdict` 'ok'), sliding the window. */
  record(counter: number): void {
    if (counter > this.top) {
      const n = this.words.length;
      const oldWord = this.top < 0 ? -1 : Math.floor(this.top / 32);
      const newWord = Math.floor(counter / 32);
      const clear = Math.min(newWord - oldWord, n);
      for (let i = 1; i <= clear; i++) this.words[(newWord - clear + i) % n] = 0;
      this.top = counter;
    }
    this.words[Math.floor(counter / 32) % this.words.length]! |= 1 << (counter % 32);
  }

  /** The bitmap as little-endian u32 words (size / 32 + 1 of them), for persistence. */
  bitmapBytes(): Uint8Array {
    const out = new Uint8Array(this.words.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < this.words.length; i++) view.setUint32(i * 4, this.words[i]!, true);
    return out;
  }

  /** A window restored from `highest` and `bitmapBytes()`; null when the sizes disagree. */
  static restore(size: number, highest: number, bitmap: Uint8Array): ReplayWindow | null {
    const w = new ReplayWindow(size);
    if (bitmap.length !== w.words.length * 4 || !Number.isSafeInteger(highest) || highest < -1) return null;
    const view = new DataView(bitmap.buffer, bitmap.byteOffset, bitmap.byteLength);
    for (let i = 0; i < w.words.length; i++) w.words[i] = view.getUint32(i * 4, true);
    w.top = highest;
    return w;
  }

  private isSet(counter: number): boolean {
    return (this.words[Math.floor(counter / 32) % this.words.length]! & (1 << (counter % 32))) !== 0;
  }
}
