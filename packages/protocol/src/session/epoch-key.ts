import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8 } from '../bytes.js';
import { DOMAIN } from '../constants.js';
import { CHACHA_KEY_BYTES } from './chacha-poly.js';

const REKEY_INFO = utf8(DOMAIN.sessionRekey);

/**
 * The key of the next epoch of one direction:
 *   key[n+1] = HKDF-SHA-256(ikm = key[n], salt = empty, info = DOMAIN.sessionRekey ‖ u32 BE (n+1), 32)
 * One-way: holding key[n+1] reveals nothing about key[n], so erasing key[n] gives forward secrecy
 * inside a session. Does not touch `key`.
 */
export function nextEpochKey(key: Uint8Array, nextEpoch: number): Uint8Array {
  const epochBytes = new Uint8Array(4);
  new DataView(epochBytes.buffer).setUint32(0, nextEpoch);
  return hkdf(sha256, key, new Uint8Array(0), concatBytes(REKEY_INFO, epochBytes), CHACHA_KEY_BYTES);
}
