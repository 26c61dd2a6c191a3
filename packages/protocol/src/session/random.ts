import { randomBytes } from '../bytes.js';

/**
 * Where a handshake draws its randomness: ephemeral X25519 secrets, the ML-KEM key-generation
 * seed and the ML-KEM encapsulation message. Injected so that golden vectors are reproducible;
 * production code leaves it at the default (Web Crypto).
 */
export type RandomSource = (length: number) => Uint8Array;

export const secureRandom: RandomSource = randomBytes;

/**
 * A RandomSource that hands out the given byte strings in order, each exactly once, and
 * throws if a draw asks for another length or for more than was given. Tests and golden
 * vectors only: never use it for real sessions.
 */
export function scriptedRandom(draws: readonly Uint8Array[]): RandomSource {
  const queue = draws.map((d) => Uint8Array.from(d));
  return (length: number) => {
    const next = queue.shift();
    if (!next) throw new Error('scriptedRandom: no draws left');
    if (next.length !== length) throw new Error(`scriptedRandom: draw of ${length} bytes, scripted ${next.length}`);
    return next;
  };
}
