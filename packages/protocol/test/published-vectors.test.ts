/**
 * Published test vectors (RFC 8032 §7.1, Wycheproof X25519 and XChaCha20-Poly1305) run against
 * both crypto suites. Self-consistency tests (sign then verify) cannot catch an implementation that
 * is wrong in the same way on both sides; only third-party answers can. The data files and the
 * rule used to pick the Wycheproof subsets are described in test/vectors/README.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  aeadOpen,
  aeadSeal,
  type CryptoSuite,
  concatBytes,
  fromHex,
  ProtocolError,
  portableSuite,
  toHex,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';

interface Rfc8032Vector {
  readonly name: string;
  readonly secretKey: string;
  readonly publicKey: string;
  readonly message: string;
  readonly signature: string;
}
interface XdhVector {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly public: string;
  readonly private: string;
  readonly shared: string;
  readonly result: 'valid' | 'acceptable' | 'invalid';
}
interface AeadVector {
  readonly tcId: number;
  readonly comment: string;
  readonly flags: readonly string[];
  readonly key: string;
  readonly iv: string;
  readonly aad: string;
  readonly msg: string;
  readonly ct: string;
  readonly tag: string;
  readonly result: 'valid' | 'acceptable' | 'invalid';
}

function loadVectors<T>(file: string): readonly T[] {
  const parsed = JSON.parse(readFileSync(new URL(`./vectors/${file}`, import.meta.url), 'utf8')) as { tests: T[] };
  return parsed.tests;
}

function hex(text: string): Uint8Array {
  const bytes = fromHex(text);
  if (bytes === null) throw new Error(`bad hex in vector file: ${text.slice(0, 16)}…`);
  return bytes;
}

const SUITES: readonly CryptoSuite[] = [portableSuite, nodeSuite];
const RFC8032 = loadVectors<Rfc8032Vector>('rfc8032-ed25519.json');
const X25519 = loadVectors<XdhVector>('wycheproof-x25519.json');
const XCHACHA = loadVectors<AeadVector>('wycheproof-xchacha20poly1305.json');
const XCHACHA_NONCE_BYTES = 24;

/** Ed25519 group order L (RFC 8032 §5.1). */
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}
function bigintToLe(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let rest = n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  if (rest !== 0n) throw new Error('value does not fit');
  return out;
}
function flipBit(bytes: Uint8Array, index: number): Uint8Array {
  const copy = bytes.slice();
  copy[index >> 3]! ^= 1 << (index & 7);
  return copy;
}

/** What a suite does with one X25519 input: the shared secret, or the error code it threw. */
function x25519Outcome(suite: CryptoSuite, v: XdhVector): string {
  try {
    return `shared:${toHex(suite.x25519(hex(v.private), hex(v.public)))}`;
  } catch (error) {
    return error instanceof ProtocolError ? `error:${error.code}` : `foreign-error:${String(error)}`;
  }
}

function isAllZeroHex(text: string): boolean {
  return /^(00)+$/.test(text);
}

describe('vector files', () => {
  it('hold the expected number of cases', () => {
    expect(RFC8032.map((v) => v.name)).toEqual(['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)']);
    expect(X25519.length).toBeGreaterThanOrEqual(40);
    expect(XCHACHA.length).toBeGreaterThanOrEqual(40);
    // Every flag the selection rule promises is present, so a trimmed file cannot silently weaken the test.
    const xFlags = new Set(X25519.flatMap((v) => v.flags));
    for (const flag of ['Ktv', 'Normal', 'Twist', 'LowOrderPublic', 'NonCanonicalPublic', 'ZeroSharedSecret']) {
      expect(xFlags.has(flag), flag).toBe(true);
    }
    const aFlags = new Set(XCHACHA.flatMap((v) => v.flags));
    for (const flag of [
      'Ktv',
      'Pseudorandom',
      'ModifiedTag',
      'EdgeCasePolyKey',
      'EdgeCaseTag',
      'EdgeCasePoly1305',
      'InvalidNonceSize',
    ]) {
      expect(aFlags.has(flag), flag).toBe(true);
    }
  });
});

describe.each(SUITES.map((suite) => [suite.name, suite] as const))('RFC 8032 §7.1 Ed25519 with %s', (_name, suite) => {
  for (const v of RFC8032) {
    const seed = hex(v.secretKey);
    const publicKey = hex(v.publicKey);
    const message = hex(v.message);
    const signature = hex(v.signature);

    it(`${v.name}: public key and signature match byte for byte`, () => {
      expect(toHex(suite.ed25519PublicKey(seed))).toBe(v.publicKey);
      expect(toHex(suite.sign(seed, message))).toBe(v.signature);
    });

    it(`${v.name}: the published signature verifies`, () => {
      expect(suite.verify(publicKey, message, signature)).toBe(true);
    });

    it(`${v.name}: a modified message or signature is rejected`, () => {
      const longerMessage = concatBytes(message, new Uint8Array([0]));
      expect(suite.verify(publicKey, longerMessage, signature)).toBe(false);
      if (message.length > 0) {
        expect(suite.verify(publicKey, flipBit(message, 0), signature)).toBe(false);
        expect(suite.verify(publicKey, flipBit(message, message.length * 8 - 1), signature)).toBe(false);
      }
      expect(suite.verify(publicKey, message, flipBit(signature, 3))).toBe(false); // in R
      expect(suite.verify(publicKey, message, flipBit(signature, 300))).toBe(false); // in S
      expect(suite.verify(publicKey, message, signature.subarray(0, 63))).toBe(false);
      expect(suite.verify(flipBit(publicKey, 9), message, signature)).toBe(false);
    });

    it(`${v.name}: S + L (same signature, non-canonical scalar) is rejected`, () => {
      const s = leToBigint(signature.subarray(32));
      expect(s < ED25519_L).toBe(true);
      const malleated = concatBytes(signature.subarray(0, 32), bigintToLe(s + ED25519_L, 32));
      expect(toHex(malleated)).not.toBe(v.signature);
      expect(suite.verify(publicKey, message, malleated)).toBe(false);
    });
  }
});

describe('Wycheproof X25519', () => {
  for (const v of X25519) {
    const label = `tcId ${v.tcId} (${v.result}; ${v.flags.join(', ')})`;

    if (isAllZeroHex(v.shared)) {
      // Our chosen behaviour (RFC 7748 §6.1 check): an all-zero shared secret is refused in both suites.
      it(`${label}: all-zero result throws PROTO_ERR_WEAK_KEY in both suites`, () => {
        for (const suite of SUITES) {
          expect(x25519Outcome(suite, v), suite.name).toBe('error:PROTO_ERR_WEAK_KEY');
        }
      });
    } else if (v.result === 'valid') {
      it(`${label}: both suites produce the published shared secret`, () => {
        for (const suite of SUITES) {
          expect(x25519Outcome(suite, v), suite.name).toBe(`shared:${v.shared}`);
        }
      });
    } else {
      // 'acceptable' (twist points, non-canonical encodings, ...): RFC 7748 lets an implementation
      // accept or refuse these, but both suites must decide the same way, and an accepted input
      // must give the RFC 7748 answer.
      it(`${label}: both suites agree, and an accepted input gives the published secret`, () => {
        const outcomes = SUITES.map((suite) => x25519Outcome(suite, v));
        expect(outcomes[1]).toBe(outcomes[0]);
        for (const outcome of outcomes) {
          if (outcome.startsWith('shared:')) expect(outcome).toBe(`shared:${v.shared}`);
          else expect(outcome).toBe('error:PROTO_ERR_WEAK_KEY');
        }
      });
    }
  }

  it('the published public key of every Ktv private key is derived identically by both suites', () => {
    for (const v of X25519.filter((t) => t.flags.includes('Ktv'))) {
      const secret = hex(v.private);
      expect(toHex(nodeSuite.x25519PublicKey(secret))).toBe(toHex(portableSuite.x25519PublicKey(secret)));
    }
  });
});

describe('Wycheproof XChaCha20-Poly1305 (aeadSeal / aeadOpen)', () => {
  for (const v of XCHACHA) {
    const label = `tcId ${v.tcId} (${v.result}; ${v.flags.join(', ')})`;
    const key = hex(v.key);
    const nonce = hex(v.iv);
    const aad = hex(v.aad);
    const msg = hex(v.msg);
    const sealed = concatBytes(hex(v.ct), hex(v.tag));

    if (v.result === 'valid') {
      it(`${label}: seals to ct‖tag and opens back`, () => {
        expect(toHex(aeadSeal(key, nonce, msg, aad))).toBe(v.ct + v.tag);
        const opened = aeadOpen(key, nonce, sealed, aad);
        expect(opened).not.toBeNull();
        expect(toHex(opened!)).toBe(v.msg);
      });
    } else if (nonce.length === XCHACHA_NONCE_BYTES) {
      it(`${label}: aeadOpen returns null`, () => {
        expect(aeadOpen(key, nonce, sealed, aad)).toBeNull();
      });
    } else {
      it(`${label}: a ${nonce.length}-byte nonce never seals or opens`, () => {
        expect(() => aeadSeal(key, nonce, msg, aad)).toThrow();
        // Also try a real-looking ct‖tag (16 bytes), not only the empty one in the vector.
        for (const candidate of [sealed, new Uint8Array(16)]) {
          let opened: Uint8Array | null;
          try {
            opened = aeadOpen(key, nonce, candidate, aad);
          } catch {
            opened = null;
          }
          expect(opened).toBeNull();
        }
      });
    }
  }
});
