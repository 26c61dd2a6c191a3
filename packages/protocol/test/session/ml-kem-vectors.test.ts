/**
 * ML-KEM-768 known-answer tests from NIST's ACVP FIPS 203 sample vector sets
 * (test/vectors/acvp-ml-kem-768.json, source cited there), run through the wrapper the handshake
 * uses (src/session/ml-kem.ts) and, for key generation, @noble/post-quantum directly.
 */
import { readFileSync } from 'node:fs';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../src/bytes.js';
import { isProtocolError } from '../../src/errors.js';
import { mlKemDecapsulate, mlKemEncapsulate, mlKemGenerateKeyPair } from '../../src/session/ml-kem.js';
import { scriptedRandom } from '../../src/session/random.js';

interface Acvp {
  source: string;
  keyGen: { tests: { tcId: number; d: string; z: string; ek: string; dk: string }[] };
  encapsulation: { tests: { tcId: number; ek: string; m: string; c: string; k: string }[] };
  decapsulation: { tests: { tcId: number; dk: string; c: string; k: string; reason: string }[] };
  encapsulationKeyCheck: { tests: { tcId: number; ek: string; testPassed: boolean; reason: string }[] };
}

const acvp = JSON.parse(readFileSync(new URL('../vectors/acvp-ml-kem-768.json', import.meta.url), 'utf8')) as Acvp;
const hex = (s: string) => fromHex(s)!;

describe('ML-KEM-768 ACVP known answers (FIPS 203)', () => {
  it.each(acvp.keyGen.tests)('keyGen tcId $tcId', (t) => {
    const kp = mlKemGenerateKeyPair(scriptedRandom([concatBytes(hex(t.d), hex(t.z))]));
    expect(toHex(kp.publicKey)).toBe(t.ek.toLowerCase());
    expect(toHex(kp.secretKey)).toBe(t.dk.toLowerCase());
    expect(toHex(ml_kem768.getPublicKey(kp.secretKey))).toBe(t.ek.toLowerCase());
  });

  it.each(acvp.encapsulation.tests)('encapsulation tcId $tcId', (t) => {
    const { cipherText, sharedSecret } = mlKemEncapsulate(hex(t.ek), scriptedRandom([hex(t.m)]));
    expect(toHex(cipherText)).toBe(t.c.toLowerCase());
    expect(toHex(sharedSecret)).toBe(t.k.toLowerCase());
  });

  it.each(acvp.decapsulation.tests)('decapsulation tcId $tcId ($reason)', (t) => {
    // Modified ciphertexts decapsulate to the implicit-rejection secret the vector gives.
    expect(toHex(mlKemDecapsulate(hex(t.c), hex(t.dk)))).toBe(t.k.toLowerCase());
  });

  it.each(acvp.encapsulationKeyCheck.tests)('encapsulationKeyCheck tcId $tcId ($reason)', (t) => {
    let outcome: 'accepted' | string;
    try {
      mlKemEncapsulate(hex(t.ek), scriptedRandom([new Uint8Array(32)]));
      outcome = 'accepted';
    } catch (err) {
      outcome = isProtocolError(err) ? err.code : 'other';
    }
    expect(outcome).toBe(t.testPassed ? 'accepted' : 'PROTO_ERR_BAD_KEY');
  });

  it('counts: 4 keyGen, 4 encapsulation, 10 decapsulation, 10 key checks', () => {
    expect(acvp.keyGen.tests).toHaveLength(4);
    expect(acvp.encapsulation.tests).toHaveLength(4);
    expect(acvp.decapsulation.tests).toHaveLength(10);
    expect(acvp.encapsulationKeyCheck.tests).toHaveLength(10);
  });
});
