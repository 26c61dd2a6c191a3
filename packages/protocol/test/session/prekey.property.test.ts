/**
 * Decoders of untrusted prekey input (bundles, messages, persisted replay state) never throw
 * anything but a ProtocolError, and a valid bundle or message mutated anywhere never verifies
 * or opens.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/bytes.js';
import { PREKEY_BUNDLE_BYTES, PREKEY_MESSAGE_HEADER_BYTES } from '../../src/constants.js';
import { nodeSuite } from '../../src/crypto/node.js';
import { isProtocolError } from '../../src/errors.js';
import { createPrekeyBundle, decodePrekeyBundle, verifyPrekeyBundle } from '../../src/session/prekey-bundle.js';
import { decodePrekeyMessage, openPrekeyMessage, sealToPrekey } from '../../src/session/prekey-message.js';
import { PrekeyReplayGuard } from '../../src/session/prekey-replay-guard.js';
import { alice, bob } from './helpers.js';

const T0 = 1_767_225_600_000;
const made = createPrekeyBundle(nodeSuite, { identity: bob, bundleId: 1, createdAt: T0 });
const message = sealToPrekey(nodeSuite, {
  sender: alice,
  recipient: bob.publicKey,
  bundle: made.encoded,
  now: T0,
  sequence: 0,
  plaintext: utf8('property'),
}).message;

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!isProtocolError(err)) throw err;
  }
}

/** Random bytes, biased towards the right version byte and the right lengths. */
const input = (validVersion: number, lengths: number[]) =>
  fc.oneof(
    fc.uint8Array({ maxLength: 2048 }),
    fc.tuple(fc.constantFrom(...lengths), fc.boolean()).chain(([length, keepVersion]) =>
      fc.uint8Array({ minLength: length, maxLength: length }).map((b) => {
        if (keepVersion && b.length > 0) b[0] = validVersion;
        return b;
      }),
    ),
  );

describe('prekey decoders on random input', () => {
  it('decodePrekeyBundle / verifyPrekeyBundle throw only ProtocolErrors', () => {
    fc.assert(
      fc.property(input(1, [PREKEY_BUNDLE_BYTES - 1, PREKEY_BUNDLE_BYTES, PREKEY_BUNDLE_BYTES + 1]), (bytes) => {
        onlyProtocolErrors(() => decodePrekeyBundle(bytes));
        onlyProtocolErrors(() => verifyPrekeyBundle(nodeSuite, bytes, { now: T0 }));
      }),
      { numRuns: 300 },
    );
  });

  it('decodePrekeyMessage / openPrekeyMessage throw only ProtocolErrors', () => {
    fc.assert(
      fc.property(
        input(1, [
          PREKEY_MESSAGE_HEADER_BYTES + 15,
          PREKEY_MESSAGE_HEADER_BYTES + 16,
          PREKEY_MESSAGE_HEADER_BYTES + 40,
        ]),
        (bytes) => {
          onlyProtocolErrors(() => decodePrekeyMessage(bytes));
          onlyProtocolErrors(() =>
            openPrekeyMessage(nodeSuite, bytes, { recipient: bob, prekeys: () => made.secrets }),
          );
          // Addressed to bob and answered for any bundle id, so random bytes reach the key agreement,
          // the KEM and the AEAD, not just the recipient check.
          const toBob = Uint8Array.from(bytes);
          if (toBob.length >= 65) toBob.set(bob.publicKey, 33);
          onlyProtocolErrors(() =>
            openPrekeyMessage(nodeSuite, toBob, {
              recipient: bob,
              prekeys: (id) => ({ ...made.secrets, bundleId: id }),
            }),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('PrekeyReplayGuard.fromState throws only ProtocolErrors on any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => onlyProtocolErrors(() => PrekeyReplayGuard.fromState(value))),
      { numRuns: 300 },
    );
  });

  it('a valid bundle or message with one byte changed never verifies or opens', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean(), (where, xor, inBundle) => {
        const target = Uint8Array.from(inBundle ? made.encoded : message);
        target[where % target.length]! ^= xor;
        const run = () =>
          inBundle
            ? verifyPrekeyBundle(nodeSuite, target, { now: T0 })
            : openPrekeyMessage(nodeSuite, target, { recipient: bob, prekeys: () => made.secrets });
        let failed = false;
        try {
          run();
        } catch (err) {
          failed = isProtocolError(err);
        }
        expect(failed).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
