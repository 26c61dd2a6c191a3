import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DOMAIN,
  decodeEnvelope,
  decodeFrame,
  EnvelopeType,
  ed25519PublicToX25519,
  generateIdentity,
  lengthPrefixed,
  MAX_ENVELOPE_BYTES,
  openEnvelope,
  ProtocolError,
  ReplayGuard,
  sealEnvelope,
  utf8,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';

const suite = nodeSuite;
const alice = generateIdentity(suite);
const bob = generateIdentity(suite);
const carol = generateIdentity(suite);
const NOW = 1_764_000_000_000;

const typeArb = fc.constantFrom(...Object.values(EnvelopeType));
const payloadArb = fc.uint8Array({ maxLength: 2048 });

function seal(plaintext: Uint8Array, type: EnvelopeType = EnvelopeType.DATA): Uint8Array {
  return sealEnvelope(suite, { type, sender: alice, recipient: bob.publicKey, plaintext, timestamp: NOW });
}

function open(bytes: Uint8Array, guard = new ReplayGuard()) {
  return openEnvelope(suite, bytes, { recipient: bob, replayGuard: guard, now: NOW });
}

/** Runs fn and returns the ProtocolError code it threw, or 'ok'. Any other exception fails the test. */
function outcome(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
}

describe('envelope properties', () => {
  it('seal → open round-trips any payload and type', () => {
    fc.assert(
      fc.property(payloadArb, typeArb, (plaintext, type) => {
        const bytes = seal(plaintext, type);
        const opened = open(bytes);
        expect(opened.plaintext).toEqual(plaintext);
        expect(opened.fields.type).toBe(type);
        const decoded = decodeEnvelope(bytes);
        expect(decoded.sender).toEqual(alice.publicKey);
        expect(decoded.recipient).toEqual(bob.publicKey);
      }),
      { numRuns: 100 },
    );
  });

  it('any single bit flip anywhere is rejected with a typed error', () => {
    const bytes = seal(new TextEncoder().encode('the quick brown fox'));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length * 8 - 1 }), (bit) => {
        const tampered = bytes.slice();
        tampered[bit >> 3]! ^= 1 << (bit & 7);
        const code = outcome(() => open(tampered));
        expect(code).not.toBe('ok');
      }),
      { numRuns: 400 },
    );
  });

  it('every bit flip is rejected (exhaustive over a small envelope)', () => {
    const bytes = seal(new Uint8Array(0), EnvelopeType.ACK);
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const tampered = bytes.slice();
      tampered[bit >> 3]! ^= 1 << (bit & 7);
      expect(outcome(() => open(tampered))).not.toBe('ok');
    }
  });

  it('truncated, oversized or random bytes give a typed error and never anything else', () => {
    const good = seal(new TextEncoder().encode('payload'));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: good.length - 1 }), (len) => {
        expect(outcome(() => open(good.subarray(0, len)))).not.toBe('ok');
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (random) => {
        expect(outcome(() => open(random))).not.toBe('ok');
      }),
      { numRuns: 500 },
    );
    const huge = new Uint8Array(MAX_ENVELOPE_BYTES + 1);
    expect(outcome(() => open(huge))).toBe('PROTO_ERR_TOO_LARGE');
    const withTrailing = new Uint8Array(good.length + 1);
    withTrailing.set(good);
    expect(outcome(() => open(withTrailing))).toBe('PROTO_ERR_TRAILING_BYTES');
  });

  it('random bytes with a valid-looking header still give a typed error', () => {
    const good = seal(new Uint8Array(10));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 400 }), (tail) => {
        const bytes = new Uint8Array(2 + tail.length);
        bytes.set(good.subarray(0, 2));
        bytes.set(tail, 2);
        expect(outcome(() => open(bytes))).not.toBe('ok');
      }),
      { numRuns: 300 },
    );
  });

  it('surreptitious forwarding: Bob re-encrypting Alice’s signed message to Carol is rejected', () => {
    fc.assert(
      fc.property(payloadArb, (plaintext) => {
        const fromAlice = seal(plaintext);
        const { plaintext: decrypted } = open(fromAlice);
        // Bob re-seals the same plaintext to Carol but keeps Alice's header and signature.
        const toCarol = sealEnvelope(suite, {
          type: EnvelopeType.DATA,
          sender: alice,
          recipient: carol.publicKey,
          plaintext: decrypted,
          timestamp: NOW,
        });
        const forged = toCarol.slice();
        forged.set(fromAlice.subarray(fromAlice.length - 64), forged.length - 64);
        const code = outcome(() =>
          openEnvelope(suite, forged, { recipient: carol, replayGuard: new ReplayGuard(), now: NOW }),
        );
        expect(code).toBe('PROTO_ERR_BAD_SIGNATURE');
        // Forwarding Alice's envelope unchanged to Carol fails: it names Bob as recipient.
        expect(
          outcome(() => openEnvelope(suite, fromAlice, { recipient: carol, replayGuard: new ReplayGuard(), now: NOW })),
        ).toBe('PROTO_ERR_WRONG_RECIPIENT');
      }),
      { numRuns: 30 },
    );
  });

  it('a replay is rejected, also by a fresh guard restored from persisted state', () => {
    fc.assert(
      fc.property(fc.array(payloadArb, { minLength: 1, maxLength: 20 }), (payloads) => {
        const persisted: [string, string, number][] = [];
        const guard = new ReplayGuard({ onAccept: (sender, nonce, ts) => persisted.push([sender, nonce, ts]) });
        const envelopes = payloads.map((p) => seal(p));
        for (const e of envelopes) open(e, guard);
        for (const e of envelopes) expect(outcome(() => open(e, guard))).toBe('PROTO_ERR_REPLAY');

        // Restart from a snapshot...
        const restored = ReplayGuard.restore(JSON.parse(JSON.stringify(guard.snapshot())));
        for (const e of envelopes) expect(outcome(() => open(e, restored))).toBe('PROTO_ERR_REPLAY');
        // ...or from the append log the onAccept hook wrote.
        const fromLog = new ReplayGuard();
        for (const [sender, nonce, ts] of persisted) fromLog.replay(sender, nonce, ts);
        for (const e of envelopes) expect(outcome(() => open(e, fromLog))).toBe('PROTO_ERR_REPLAY');
      }),
      { numRuns: 20 },
    );
  });

  it('a sender at its budget loses its own oldest pair and refuses anything that old as stale', () => {
    const guard = new ReplayGuard({ trusted: { maxEntriesPerSender: 3 } });
    const envelopes = [0, 1, 2, 3].map((i) =>
      sealEnvelope(suite, {
        type: EnvelopeType.DATA,
        sender: alice,
        recipient: bob.publicKey,
        plaintext: new Uint8Array([i]),
        timestamp: NOW + i,
      }),
    );
    for (const e of envelopes) openEnvelope(suite, e, { recipient: bob, replayGuard: guard, now: NOW });
    expect(guard.size).toBe(3);
    // The first was evicted but is still refused: its timestamp is at the floor.
    expect(outcome(() => openEnvelope(suite, envelopes[0]!, { recipient: bob, replayGuard: guard, now: NOW }))).toBe(
      'PROTO_ERR_STALE',
    );
  });

  it('timestamps outside the window are refused', () => {
    const old = sealEnvelope(suite, {
      type: EnvelopeType.DATA,
      sender: alice,
      recipient: bob.publicKey,
      plaintext: new Uint8Array(1),
      timestamp: NOW - 5 * 60 * 1000 - 1,
    });
    expect(outcome(() => open(old))).toBe('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW');
    expect(
      outcome(() =>
        openEnvelope(suite, old, {
          recipient: bob,
          replayGuard: new ReplayGuard({ windowMs: 10 * 60 * 1000 }),
          now: NOW,
        }),
      ),
    ).toBe('ok');
  });

  it('a correctly signed envelope with a low-order ephemeral key is refused with PROTO_ERR_WEAK_KEY', () => {
    const good = seal(new Uint8Array(4));
    const f = decodeEnvelope(good);
    const forged = good.slice();
    forged.fill(0, 106, 138); // u = 0: a low-order X25519 point, shared secret would be all zeros
    // Re-sign over the documented signature input so the forgery gets past the signature check.
    const ts = new Uint8Array(8);
    new DataView(ts.buffer).setBigUint64(0, BigInt(f.timestamp));
    const signed = lengthPrefixed(
      utf8(DOMAIN.envelopeSignature),
      Uint8Array.of(f.version),
      Uint8Array.of(f.type),
      f.messageId,
      f.sender,
      f.recipient,
      ts,
      f.nonce,
      forged.subarray(106, 138),
      f.ciphertext,
    );
    forged.set(suite.sign(alice.secretKey, signed), forged.length - 64);
    expect(outcome(() => open(forged))).toBe('PROTO_ERR_WEAK_KEY');
    expect(() => ed25519PublicToX25519(new Uint8Array(32).fill(0xff))).toThrow(ProtocolError);
  });
});

describe('frame decoder', () => {
  it('random bytes give a frame or a typed error, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        outcome(() => decodeFrame(bytes));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x30 }), fc.uint8Array({ maxLength: 200 }), (type, body) => {
        const bytes = new Uint8Array(1 + body.length);
        bytes[0] = type;
        bytes.set(body, 1);
        outcome(() => decodeFrame(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses frames over the size limit', () => {
    expect(outcome(() => decodeFrame(new Uint8Array(70_000)))).toBe('PROTO_ERR_TOO_LARGE');
    expect(outcome(() => decodeFrame(new Uint8Array(0)))).toBe('PROTO_ERR_TRUNCATED');
    expect(outcome(() => decodeFrame(Uint8Array.of(0x7f)))).toBe('PROTO_ERR_BAD_TYPE');
  });
});
