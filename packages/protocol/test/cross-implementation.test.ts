import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EnvelopeType,
  identityFromSecret,
  openEnvelope,
  portableSuite,
  ReplayGuard,
  sealEnvelope,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';

// The Node fast path and the portable (browser) path must be indistinguishable on the wire:
// same public keys, same deterministic signatures, same accept/reject decisions.
describe('node:crypto suite ≡ portable suite', () => {
  const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const message = fc.uint8Array({ maxLength: 512 });

  it('derive the same keys and signatures', () => {
    fc.assert(
      fc.property(seed, message, (secret, msg) => {
        expect(nodeSuite.ed25519PublicKey(secret)).toEqual(portableSuite.ed25519PublicKey(secret));
        expect(nodeSuite.sign(secret, msg)).toEqual(portableSuite.sign(secret, msg));
        expect(nodeSuite.x25519PublicKey(secret)).toEqual(portableSuite.x25519PublicKey(secret));
      }),
      { numRuns: 200 },
    );
  });

  it('agree on every verification outcome, including mutated signatures and keys', () => {
    fc.assert(
      fc.property(seed, message, fc.nat(), fc.constantFrom('sig', 'key', 'msg', 'none'), (secret, msg, pos, what) => {
        const pub = nodeSuite.ed25519PublicKey(secret).slice();
        const sig = nodeSuite.sign(secret, msg).slice();
        const m = msg.slice();
        if (what === 'sig') sig[pos % 64]! ^= 1 << (pos % 8);
        if (what === 'key') pub[pos % 32]! ^= 1 << (pos % 8);
        if (what === 'msg' && m.length > 0) m[pos % m.length]! ^= 1 << (pos % 8);
        const a = nodeSuite.verify(pub, m, sig);
        const b = portableSuite.verify(pub, m, sig);
        expect(a).toBe(b);
        if (what === 'none') expect(a).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('agree on X25519 shared secrets', () => {
    fc.assert(
      fc.property(seed, seed, (a, b) => {
        const pubB = portableSuite.x25519PublicKey(b);
        expect(nodeSuite.x25519(a, pubB)).toEqual(portableSuite.x25519(a, pubB));
      }),
      { numRuns: 100 },
    );
  });

  it('x25519Key (uncached, for handshakes): same public key and agreements as x25519; bad inputs refused alike', () => {
    fc.assert(
      fc.property(seed, seed, (a, b) => {
        const pubB = portableSuite.x25519PublicKey(b);
        const n = nodeSuite.x25519Key(a);
        const p = portableSuite.x25519Key(a);
        expect(n.publicKey).toEqual(portableSuite.x25519PublicKey(a));
        expect(p.publicKey).toEqual(n.publicKey);
        expect(n.agree(pubB)).toEqual(portableSuite.x25519(a, pubB));
        expect(p.agree(pubB)).toEqual(n.agree(pubB));
      }),
      { numRuns: 50 },
    );
    for (const suite of [nodeSuite, portableSuite]) {
      expect(() => suite.x25519Key(new Uint8Array(31))).toThrow(/32 bytes/);
      // u = 0 is of low order: the all-zero result is refused in both.
      expect(() => suite.x25519Key(new Uint8Array(32).fill(1)).agree(new Uint8Array(32))).toThrow(/all-zero/);
    }
  });

  it('envelopes sealed by one open under the other', () => {
    fc.assert(
      fc.property(seed, seed, message, (s1, s2, plaintext) => {
        const [sealer, opener] = s1[0]! % 2 ? [nodeSuite, portableSuite] : [portableSuite, nodeSuite];
        const alice = identityFromSecret(sealer, s1);
        const bob = identityFromSecret(opener, s2);
        const bytes = sealEnvelope(sealer, {
          type: EnvelopeType.DATA,
          sender: alice,
          recipient: bob.publicKey,
          plaintext,
        });
        const opened = openEnvelope(opener, bytes, { recipient: bob, replayGuard: new ReplayGuard() });
        expect(opened.plaintext).toEqual(plaintext);
      }),
      { numRuns: 50 },
    );
  });
});
