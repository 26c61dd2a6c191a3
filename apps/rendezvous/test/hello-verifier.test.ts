/**
 * The server's hello verifier (src/hello-verifier.ts): libsodium when it loads, node:crypto
 * otherwise, one strict rule either way. Published vectors: RFC 8032 §7.1 and the 12
 * "Taming the many EdDSAs" speccheck cases (packages/protocol/test/vectors/, with sources);
 * then torsion-crafted, mutated and random inputs where libsodium must agree with nodeSuite.
 */
import { readFileSync } from 'node:fs';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex, SMALL_ORDER_ENCODINGS, toHex } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { helloSuite, helloSuiteWith, loadSodium } from '../src/hello-verifier.js';

const { Point } = ed25519;
const L = Point.Fn.ORDER;
const P = Point.Fp.ORDER;
const sodium = loadSodium();
const withSodium = helloSuiteWith(sodium);
const fallback = helloSuiteWith(null);

function hex(text: string): Uint8Array {
  const b = fromHex(text);
  if (b === null) throw new Error(`bad hex ${text.slice(0, 16)}`);
  return b;
}
function vectors<T>(file: string): T[] {
  const url = new URL(`../../../packages/protocol/test/vectors/${file}`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { tests: T[] }).tests;
}
function le32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let rest = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}
const k = (r: Uint8Array, a: Uint8Array, m: Uint8Array) =>
  Point.Fn.create(bytesToNumberLE(sha512(concatBytes(r, a, m))));
const T8 = Point.fromBytes(hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'));
const TORSION = Array.from({ length: 8 }, (_, i) => T8.multiplyUnsafe(BigInt(i)));

describe('hello verifier', () => {
  it('loads libsodium from the pinned sodium-native prebuild on this platform, and uses it', () => {
    expect(sodium).not.toBeNull();
    expect(helloSuite.name).toContain('libsodium');
    expect(fallback).toBe(nodeSuite);
  });

  it('RFC 8032 §7.1: every vector verifies; one flipped bit in key, message or signature does not', () => {
    const tests = vectors<{ name: string; secretKey: string; publicKey: string; message: string; signature: string }>(
      'rfc8032-ed25519.json',
    );
    expect(tests.length).toBe(5);
    for (const suite of [withSodium, fallback]) {
      for (const t of tests) {
        const a = hex(t.publicKey);
        const m = hex(t.message);
        const sig = hex(t.signature);
        expect(suite.verify(a, m, sig), t.name).toBe(true);
        const badSig = sig.slice();
        badSig[7]! ^= 1;
        expect(suite.verify(a, m, badSig)).toBe(false);
        const badKey = a.slice();
        badKey[3]! ^= 4;
        expect(suite.verify(badKey, m, sig)).toBe(false);
        const badMsg = concatBytes(m, new Uint8Array([0]));
        expect(suite.verify(a, badMsg, sig)).toBe(false);
      }
    }
  });

  it('speccheck cases 0-11: libsodium gives nodeSuite verdict on each, and only case 3 verifies', () => {
    const tests = vectors<{ case: number; message: string; pub_key: string; signature: string }>(
      'ed25519-speccheck.json',
    );
    expect(tests.map((t) => t.case)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const got = tests.map((t) => withSodium.verify(hex(t.pub_key), hex(t.message), hex(t.signature)));
    const ref = tests.map((t) => nodeSuite.verify(hex(t.pub_key), hex(t.message), hex(t.signature)));
    expect(got).toEqual(ref);
    expect(got.map((v, i) => (v ? i : -1)).filter((i) => i >= 0)).toEqual([3]);
  });

  it('small-order keys with R = identity, S = 0 (the equation holds) are refused; so are wrong lengths', () => {
    const identity = Point.ZERO.toBytes();
    for (const enc of SMALL_ORDER_ENCODINGS) {
      const a = hex(enc);
      const sig = concatBytes(identity, new Uint8Array(32));
      for (const text of ['', 'hello']) expect(withSodium.verify(a, new TextEncoder().encode(text), sig)).toBe(false);
    }
    const seed = new Uint8Array(32).fill(9);
    const m = new Uint8Array([1, 2, 3]);
    const pub = ed25519.getPublicKey(seed);
    const sig = ed25519.sign(m, seed);
    expect(withSodium.verify(pub, m, sig)).toBe(true);
    expect(withSodium.verify(pub.subarray(1), m, sig)).toBe(false);
    expect(withSodium.verify(pub, m, sig.subarray(1))).toBe(false);
    expect(withSodium.verify(pub, m, concatBytes(sig, new Uint8Array(1)))).toBe(false);
    // S + L: the same signature with a non-canonical scalar.
    const sPlusL = concatBytes(sig.subarray(0, 32), le32(bytesToNumberLE(sig.subarray(32)) + L));
    expect(withSodium.verify(pub, m, sPlusL)).toBe(false);
  });

  it('agrees with nodeSuite on torsion-crafted, mutated and random inputs', () => {
    const signers = Array.from({ length: 4 }, (_, i) => {
      const seed = new Uint8Array(32).fill(i + 1);
      const { scalar, pointBytes } = ed25519.utils.getExtendedPublicKey(seed);
      return { seed, scalar, pub: pointBytes };
    });
    const torsion = fc.nat(7).map((i) => TORSION[i]!);
    const crafted = fc
      .record({
        signer: fc.nat(3),
        m: fc.uint8Array({ maxLength: 64 }),
        r: fc.bigInt({ min: 1n, max: L - 1n }),
        tR: torsion,
        tA: torsion,
        smallA: fc.boolean(),
        mutate: fc.constantFrom('none', 'none', 'sig-bit', 'key-bit', 'S+L'),
        pos: fc.nat(),
      })
      .map(({ signer, m, r, tR, tA, smallA, mutate, pos }) => {
        const secret = smallA ? 0n : signers[signer]!.scalar;
        const pub = Point.BASE.multiplyUnsafe(secret).add(tA).toBytes();
        const rBytes = Point.BASE.multiply(r).add(tR).toBytes();
        let s = Point.Fn.create(r + k(rBytes, pub, m) * secret);
        if (mutate === 'S+L') s += L;
        const sig = concatBytes(rBytes, le32(s));
        if (mutate === 'sig-bit') sig[pos % 64]! ^= 1 << (pos % 8);
        if (mutate === 'key-bit') pub[pos % 32]! ^= 1 << (pos % 8);
        return { pub, m, sig };
      });
    const point = fc.oneof(
      torsion.map((t) => t.toBytes()),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.bigInt({ min: 0n, max: 18n }).map((y) => le32(y + P)),
    );
    const arbitrary = fc
      .tuple(point, point, fc.bigInt({ min: 0n, max: 2n ** 256n - 1n }), fc.uint8Array({ maxLength: 64 }))
      .map(([pub, r, s, m]) => ({ pub, m, sig: concatBytes(r, le32(s)) }));
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(crafted, crafted, arbitrary), ({ pub, m, sig }) => {
        const v = withSodium.verify(pub, m, sig);
        if (v) accepted++;
        expect(v, `A=${toHex(pub)} M=${toHex(m)} sig=${toHex(sig)}`).toBe(nodeSuite.verify(pub, m, sig));
      }),
      { numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(0); // the accepting branch was exercised too
  });
});
