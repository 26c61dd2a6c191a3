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
import { type CryptoSuite, passesStrictPrechecks } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';

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
      if (!passesStrictPrechecks(publicKey, message, signature)) return false;
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
