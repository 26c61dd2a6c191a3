/** checkEnvelope is decodeEnvelope's structure check without the views: same verdict on any input. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkEnvelope,
  decodeEnvelope,
  ENVELOPE_RECIPIENT_OFFSET,
  ENVELOPE_SENDER_OFFSET,
  EnvelopeType,
  generateIdentity,
  ProtocolError,
  sealEnvelope,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';

const alice = generateIdentity(nodeSuite);
const bob = generateIdentity(nodeSuite);
const good = sealEnvelope(nodeSuite, {
  type: EnvelopeType.DATA,
  sender: alice,
  recipient: bob.publicKey,
  plaintext: new Uint8Array(40),
});

function verdict(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (err) {
    return err instanceof ProtocolError ? err.code : `other: ${String(err)}`;
  }
}

describe('checkEnvelope', () => {
  it('accepts a sealed envelope, returns its ciphertext length, and the offsets locate sender and recipient', () => {
    expect(checkEnvelope(good)).toBe(decodeEnvelope(good).ciphertext.length);
    expect(good.subarray(ENVELOPE_SENDER_OFFSET, ENVELOPE_SENDER_OFFSET + 32)).toEqual(alice.publicKey);
    expect(good.subarray(ENVELOPE_RECIPIENT_OFFSET, ENVELOPE_RECIPIENT_OFFSET + 32)).toEqual(bob.publicKey);
  });

  it('gives the same verdict as decodeEnvelope on mutated and random input (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc
            .record({ i: fc.nat(good.length - 1), v: fc.integer({ min: 0, max: 255 }), cut: fc.nat(good.length + 8) })
            .map(({ i, v, cut }) => {
              const b = new Uint8Array(Math.max(cut, 0));
              b.set(good.subarray(0, Math.min(cut, good.length)));
              if (i < b.length) b[i] = v;
              return b;
            }),
        ),
        (bytes) => {
          expect(verdict(() => checkEnvelope(bytes))).toBe(verdict(() => decodeEnvelope(bytes)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses timestamps beyond 2^53 ms like decodeEnvelope', () => {
    const b = new Uint8Array(good);
    b[82] = 0x00;
    b[83] = 0x20; // high word 0x00200000 > 0x1fffff
    expect(verdict(() => checkEnvelope(b))).toBe('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW');
    b[83] = 0x1f;
    b.fill(0xff, 84, 90); // exactly 2^53 - 1
    expect(verdict(() => checkEnvelope(b))).toBe('ok');
  });
});
