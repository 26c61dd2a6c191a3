/**
 * The server's Ed25519 check for HELLO signatures: libsodium (sodium-native, pinned) when its
 * prebuilt addon loads, else node:crypto (the protocol package's nodeSuite). Issue 18: one
 * verification per authenticated connection was ~19 % of the server's connect CPU, and
 * libsodium's verify costs ~0.4× OpenSSL's through node:crypto (no per-key import either).
 *
 * Same rule either way (packages/protocol/src/crypto/ed25519-strict.ts): the shared byte
 * pre-checks (S < L, canonical A and R, neither of small order) run here first, then the
 * cofactorless equation. libsodium's crypto_sign_verify_detached checks exactly that equation
 * (it recomputes R' = [S]B − [k]A and compares its encoding with R, which the pre-checks made
 * canonical), so both paths give one verdict; test/hello-verifier.test.ts holds them to it
 * with RFC 8032 vectors, the speccheck cases and torsion-crafted inputs.
 */
import { createRequire } from 'node:module';
import {
  type CryptoSuite,
  isCanonicalPointEncoding,
  isCanonicalScalar,
  isSmallOrderEncoding,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';

/** Bytes in an Ed25519 public key / in a signature (R ‖ S). */
const KEY_BYTES = 32;
const SIGNATURE_BYTES = 64;

/** The one libsodium function we use. */
export interface SodiumVerify {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

/** sodium-native if its addon loads on this platform, else null (node:crypto is used). */
export function loadSodium(): SodiumVerify | null {
  try {
    const mod = createRequire(import.meta.url)('sodium-native') as Partial<SodiumVerify>;
    return typeof mod.crypto_sign_verify_detached === 'function' ? (mod as SodiumVerify) : null;
  } catch {
    return null;
  }
}

/** Checks 1-4 of the strict rule (byte comparisons, no curve arithmetic). */
function passesPrechecks(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_BYTES) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
  if (!(message instanceof Uint8Array)) return false;
  const r = signature.subarray(0, KEY_BYTES);
  if (!isCanonicalScalar(signature.subarray(KEY_BYTES))) return false;
  if (!isCanonicalPointEncoding(publicKey) || !isCanonicalPointEncoding(r)) return false;
  return !isSmallOrderEncoding(publicKey) && !isSmallOrderEncoding(r);
}

/**
 * A CryptoSuite for `verifyHello` whose `verify` is libsodium's when `sodium` is given; every
 * other member is nodeSuite's (the server only verifies hellos with it). Never throws.
 */
export function helloSuiteWith(sodium: SodiumVerify | null): CryptoSuite {
  if (sodium === null) return nodeSuite;
  return Object.freeze({
    ...nodeSuite,
    name: 'libsodium (sodium-native) verify, node:crypto otherwise',
    verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (!passesPrechecks(publicKey, message, signature)) return false;
      try {
        return sodium.crypto_sign_verify_detached(signature, message, publicKey) === true;
      } catch {
        return false;
      }
    },
  });
}

/** The suite the server verifies hellos with (chosen once, at load). */
export const helloSuite: CryptoSuite = helloSuiteWith(loadSodium());
