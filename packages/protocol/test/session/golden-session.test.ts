/**
 * Golden v2 session (test/vectors/golden-session.json): this implementation must reproduce it
 * byte for byte, and the recorded packets must open with a fresh responder and initiator. Other
 * implementations check themselves against the same file.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/bytes.js';
import { nodeSuite } from '../../src/crypto/node.js';
import { portableSuite } from '../../src/crypto/portable.js';
import { acceptSession, initiateSession } from '../../src/session/hybrid-handshake.js';
import { scriptedRandom } from '../../src/session/random.js';
import { Session } from '../../src/session/session.js';
import { buildGoldenSession } from './golden-session-build.js';
import { alice, bob } from './helpers.js';

const golden = JSON.parse(readFileSync(new URL('../vectors/golden-session.json', import.meta.url), 'utf8'));
const hex = (s: string) => fromHex(s)!;

describe.each([nodeSuite, portableSuite])('golden v2 session with X25519 from $name', (suite) => {
  it('is reproduced byte for byte from its inputs', () => {
    const { source: _source, ...expected } = golden;
    expect(buildGoldenSession(suite)).toEqual(expected);
  });

  it('message 1 and 2 sizes, and every packet opens exactly once at its receiver', () => {
    expect(hex(golden.message1).length).toBe(1_330);
    expect(hex(golden.message2).length).toBe(1_154 + hex(golden.responderPayload).length);
    const r = golden.random;
    const { pending } = initiateSession({
      identity: alice,
      remotePublicKey: bob.publicKey,
      random: scriptedRandom([hex(r.initiatorEphemeral), hex(r.initiatorKemSeed)]),
      suite,
    });
    const accepted = acceptSession(hex(golden.message1), {
      identity: bob,
      acceptInitiator: () => true,
      random: scriptedRandom([hex(r.responderEphemeral), hex(r.responderKemRandom)]),
      suite,
      payload: hex(golden.responderPayload),
    });
    expect(toHex(accepted.packet)).toBe(golden.message2);
    const a = new Session(pending.complete(hex(golden.message2)).keys);
    const b = new Session(accepted.keys);
    for (const t of golden.transport) {
      const receiver = t.from === 'initiator' ? b : a;
      expect(toHex(receiver.open(hex(t.packet)))).toBe(t.plaintext);
      expect(() => receiver.open(hex(t.packet))).toThrow(/already accepted/);
    }
    expect(golden.transport.some((t: { epoch: number }) => t.epoch === 1)).toBe(true);
  });
});
