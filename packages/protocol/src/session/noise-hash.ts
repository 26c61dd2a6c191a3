import { blake2b } from '@noble/hashes/blake2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type { CHash } from '@noble/hashes/utils.js';

/**
 * The hash functions a Noise protocol name may select (Noise rev. 34 §4.3, §12.5), and the
 * spec's HKDF over each. Noise's HKDF(ck, ikm, n) is RFC 5869 HKDF with salt = ck, empty info,
 * and n × HASHLEN output bytes, so @noble/hashes' hkdf computes it exactly.
 */
export interface NoiseHash {
  /** The name in `Noise_<pattern>_<dh>_<cipher>_<hash>`. */
  readonly name: 'SHA256' | 'SHA512' | 'BLAKE2b';
  /** HASHLEN, bytes. */
  readonly hashLen: number;
  hash(data: Uint8Array): Uint8Array;
  /** Noise HKDF with two or three outputs of HASHLEN bytes each. */
  hkdf(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, outputs: 2 | 3): Uint8Array[];
}

const EMPTY = new Uint8Array(0);

// biome-ignore lint/suspicious/noExplicitAny: the CHash generic is per-hash; only outputLen and the call are used.
function noiseHash(name: NoiseHash['name'], fn: CHash<any, any>): NoiseHash {
  const hashLen = fn.outputLen;
  return Object.freeze({
    name,
    hashLen,
    hash: (data: Uint8Array) => fn(data),
    hkdf(chainingKey: Uint8Array, inputKeyMaterial: Uint8Array, outputs: 2 | 3): Uint8Array[] {
      const okm = hkdf(fn, inputKeyMaterial, chainingKey, EMPTY, outputs * hashLen);
      const out: Uint8Array[] = [];
      for (let i = 0; i < outputs; i++) out.push(okm.slice(i * hashLen, (i + 1) * hashLen));
      okm.fill(0);
      return out;
    },
  });
}

export const NOISE_HASHES: Readonly<Record<NoiseHash['name'], NoiseHash>> = Object.freeze({
  SHA256: noiseHash('SHA256', sha256),
  SHA512: noiseHash('SHA512', sha512),
  BLAKE2b: noiseHash('BLAKE2b', blake2b),
});
