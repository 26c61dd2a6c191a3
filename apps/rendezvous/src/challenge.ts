import { randomFillSync } from 'node:crypto';

// Challenges are drawn from a pooled random buffer: one getrandom call per 256 connections.
const RANDOM_POOL_BYTES = 32 * 256;
let pool = Buffer.allocUnsafe(0);
let poolOff = 0;
/** 32 fresh random bytes for a CHALLENGE (a view into a pooled buffer; do not mutate). */
export function newChallenge(): Buffer {
  if (poolOff + 32 > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(RANDOM_POOL_BYTES));
    poolOff = 0;
  }
  const b = pool.subarray(poolOff, poolOff + 32);
  poolOff += 32;
  return b;
}
