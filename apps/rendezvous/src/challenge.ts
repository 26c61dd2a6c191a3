import { randomFillSync } from 'node:crypto';
import { CHALLENGE_BYTES, FRAME_PROTOCOL_VERSION, FrameType, MAX_ORIGIN_BYTES } from '@p2p-comm/protocol';

// Challenges are drawn from a pooled random buffer: one getrandom call per 256 connections.
const RANDOM_POOL_BYTES = CHALLENGE_BYTES * 256;
let pool = Buffer.allocUnsafe(0);
let poolOff = 0;
/** 32 fresh random bytes for a CHALLENGE (a view into a pooled buffer; do not mutate). */
export function newChallenge(): Buffer {
  if (poolOff + CHALLENGE_BYTES > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(RANDOM_POOL_BYTES));
    poolOff = 0;
  }
  const b = pool.subarray(poolOff, poolOff + CHALLENGE_BYTES);
  poolOff += CHALLENGE_BYTES;
  return b;
}

/** type u8 ‖ version u8 ‖ challenge[32] ‖ serverTime u64: where the origin's length starts. */
const ORIGIN_LENGTH_AT = 2 + CHALLENGE_BYTES + 8;
const TIME_AT = 2 + CHALLENGE_BYTES;
/**
 * Encoded CHALLENGE frames for one origin with the challenge and time still to fill in, by
 * origin. Origins come from our own list (PUBLIC_ORIGINS or the derived ones), never from the
 * client, so this holds one entry per configured origin; the cap only guards a misuse.
 */
const TEMPLATE_MAX_ENTRIES = 256;
const templates = new Map<string, Buffer>();

function templateFor(origin: string): Buffer {
  let t = templates.get(origin);
  if (t !== undefined) return t;
  const originLength = Buffer.byteLength(origin, 'utf8');
  if (originLength > MAX_ORIGIN_BYTES) throw new RangeError(`origin over ${MAX_ORIGIN_BYTES} bytes`);
  t = Buffer.alloc(ORIGIN_LENGTH_AT + 2 + originLength);
  t[0] = FrameType.CHALLENGE;
  t[1] = FRAME_PROTOCOL_VERSION;
  t.writeUInt16BE(originLength, ORIGIN_LENGTH_AT);
  t.write(origin, ORIGIN_LENGTH_AT + 2, 'utf8');
  if (templates.size >= TEMPLATE_MAX_ENTRIES) templates.clear();
  templates.set(origin, t);
  return t;
}

/**
 * The CHALLENGE frame, byte for byte what `encodeFrame` gives, built from a per-origin template
 * (issue 18: the generic encoder's writer, BigInt time and UTF-8 encoding ran once per connection).
 * `serverTime` is ms since the epoch (a safe integer, as encodeFrame requires).
 */
export function challengeFrame(challenge: Uint8Array, serverTime: number, origin: string): Buffer {
  if (challenge.length !== CHALLENGE_BYTES) throw new RangeError(`challenge must be ${CHALLENGE_BYTES} bytes`);
  if (!Number.isSafeInteger(serverTime) || serverTime < 0) throw new RangeError('serverTime must be a u53');
  const t = templateFor(origin);
  const b = Buffer.allocUnsafe(t.length);
  t.copy(b);
  b.set(challenge, 2);
  b.writeUInt32BE(Math.floor(serverTime / 0x1_0000_0000), TIME_AT);
  b.writeUInt32BE(serverTime >>> 0, TIME_AT + 4);
  return b;
}
