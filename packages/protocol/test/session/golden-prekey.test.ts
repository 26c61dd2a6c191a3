/**
 * Golden v2 prekey vectors (test/vectors/golden-prekey.json): reproduced byte for byte with X25519
 * and Ed25519 from each suite, and every recorded message opens once at the recipient.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/bytes.js';
import { PREKEY_BUNDLE_BYTES, PREKEY_MESSAGE_HEADER_BYTES } from '../../src/constants.js';
import { nodeSuite } from '../../src/crypto/node.js';
import { portableSuite } from '../../src/crypto/portable.js';
import { createPrekeyBundle, verifyPrekeyBundle } from '../../src/session/prekey-bundle.js';
import { openPrekeyMessage } from '../../src/session/prekey-message.js';
import { PrekeyReplayGuard } from '../../src/session/prekey-replay-guard.js';
import { scriptedRandom } from '../../src/session/random.js';
import { buildGoldenPrekey, GOLDEN_PREKEY } from './golden-prekey-build.js';
import { bob } from './helpers.js';

const golden = JSON.parse(readFileSync(new URL('../vectors/golden-prekey.json', import.meta.url), 'utf8'));
const hex = (s: string) => fromHex(s)!;

describe.each([nodeSuite, portableSuite])('golden v2 prekeys with $name', (suite) => {
  it('are reproduced byte for byte from their inputs', () => {
    const { source: _source, ...expected } = golden;
    expect(buildGoldenPrekey(suite)).toEqual(expected);
  });

  it('the bundle verifies and every message opens exactly once, 3 days after it was sealed', () => {
    expect(hex(golden.bundle.encoded).length).toBe(PREKEY_BUNDLE_BYTES);
    verifyPrekeyBundle(suite, hex(golden.bundle.encoded), { now: golden.sealedAt, expectedIdentity: bob.publicKey });
    const { secrets } = createPrekeyBundle(suite, {
      identity: bob,
      bundleId: GOLDEN_PREKEY.bundleId,
      createdAt: GOLDEN_PREKEY.createdAt,
      lifetimeMs: GOLDEN_PREKEY.lifetimeMs,
      random: scriptedRandom([GOLDEN_PREKEY.bundleRandom.x25519Prekey, GOLDEN_PREKEY.bundleRandom.kemSeed]),
    });
    const guard = new PrekeyReplayGuard();
    // No clock on the recipient's side: the messages open whenever the mailbox delivers them.
    for (const m of golden.messages) {
      const bytes = hex(m.message);
      expect(bytes.length).toBe(PREKEY_MESSAGE_HEADER_BYTES + hex(m.plaintext).length + 16);
      const opened = openPrekeyMessage(suite, bytes, { recipient: bob, prekeys: () => secrets, replayGuard: guard });
      expect(toHex(opened.plaintext)).toBe(m.plaintext);
      expect(opened.sequence).toBe(m.sequence);
      expect(toHex(opened.messageId)).toBe(m.messageId);
      expect(() =>
        openPrekeyMessage(suite, bytes, { recipient: bob, prekeys: () => secrets, replayGuard: guard }),
      ).toThrow(expect.objectContaining({ code: 'PROTO_ERR_PREKEY_REPLAY' }));
    }
  });
});
