import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  decodeFrame,
  encodeFrame,
  fromHex,
  identityFromSecret,
  openEnvelope,
  portableSuite,
  ReplayGuard,
  sealEnvelope,
  toHex,
  verifyHello,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';
import { ALICE_SECRET, BOB_SECRET, GOLDEN_ENVELOPE_INPUTS, GOLDEN_FRAMES } from './golden-inputs.js';

const load = (name: string) => JSON.parse(readFileSync(new URL(`./vectors/${name}`, import.meta.url), 'utf8'));
const hex = (h: string) => fromHex(h) ?? new Uint8Array();

const goldenEnvelopes: { name: string; envelope: string; plaintext: string; timestamp: number }[] =
  load('golden-envelopes.json').envelopes;
const goldenFrames: { name: string; hex: string }[] = load('golden-frames.json').frames;

describe('golden envelopes (byte compatibility across implementations)', () => {
  for (const suite of [nodeSuite, portableSuite]) {
    const alice = identityFromSecret(suite, ALICE_SECRET);
    const bob = identityFromSecret(suite, BOB_SECRET);
    for (const input of GOLDEN_ENVELOPE_INPUTS) {
      const golden = goldenEnvelopes.find((g) => g.name === input.name);
      it(`${input.name}: ${suite.name} seals the same bytes and opens them`, () => {
        expect(golden).toBeDefined();
        const sealed = sealEnvelope(suite, { ...input, sender: alice, recipient: bob.publicKey });
        expect(toHex(sealed)).toBe(golden?.envelope);
        const opened = openEnvelope(suite, hex(golden?.envelope ?? ''), {
          recipient: bob,
          replayGuard: new ReplayGuard(),
          now: input.timestamp,
        });
        expect(toHex(opened.plaintext)).toBe(golden?.plaintext);
        expect(decodeEnvelope(sealed).type).toBe(input.type);
      });
    }
  }
});

describe('golden frames', () => {
  for (const { name, frame } of GOLDEN_FRAMES) {
    it(`${name} encodes to the golden bytes and decodes back`, () => {
      const golden = goldenFrames.find((g) => g.name === name);
      expect(toHex(encodeFrame(frame))).toBe(golden?.hex);
      expect(decodeFrame(hex(golden?.hex ?? ''))).toEqual(frame);
    });
  }

  it('the golden hello verifies for its origin only', () => {
    const golden = goldenFrames.find((g) => g.name === 'hello');
    const hello = decodeFrame(hex(golden?.hex ?? ''));
    if (hello.type !== 0x02) throw new Error('not a hello');
    const challenge = new Uint8Array(32).fill(0xab);
    expect(() =>
      verifyHello(nodeSuite, hello, challenge, ['rdv.example.org:443'], { now: 1_764_000_000_000 }),
    ).not.toThrow();
    expect(() => verifyHello(nodeSuite, hello, challenge, ['evil.example:443'], { now: 1_764_000_000_000 })).toThrow(
      expect.objectContaining({ code: 'PROTO_ERR_BAD_SIGNATURE' }),
    );
  });
});
