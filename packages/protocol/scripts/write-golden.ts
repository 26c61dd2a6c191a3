/**
 * Regenerates test/vectors/golden-*.json from test/golden-inputs.ts. Run only when the wire
 * format changes on purpose (and bump the version): the tests compare against these files.
 *   node --conditions=source --import tsx packages/protocol/scripts/write-golden.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildHello, encodeFrame, identityFromSecret, sealEnvelope, toHex } from '../src/index.js';
import { nodeSuite } from '../src/node.js';
import { ALICE_SECRET, BOB_SECRET, GOLDEN_ENVELOPE_INPUTS, GOLDEN_FRAMES } from '../test/golden-inputs.js';

const alice = identityFromSecret(nodeSuite, ALICE_SECRET);
const bob = identityFromSecret(nodeSuite, BOB_SECRET);
const out = (name: string) => fileURLToPath(new URL(`../test/vectors/${name}`, import.meta.url));

const envelopes = GOLDEN_ENVELOPE_INPUTS.map((input) => ({
  name: input.name,
  senderSecret: toHex(ALICE_SECRET),
  senderPublic: toHex(alice.publicKey),
  recipientSecret: toHex(BOB_SECRET),
  recipientPublic: toHex(bob.publicKey),
  type: input.type,
  timestamp: input.timestamp,
  messageId: toHex(input.messageId),
  nonce: toHex(input.nonce),
  ephemeralSecret: toHex(input.ephemeralSecret),
  plaintext: toHex(input.plaintext),
  envelope: toHex(
    sealEnvelope(nodeSuite, {
      ...input,
      sender: alice,
      recipient: bob.publicKey,
      ephemeralSecret: input.ephemeralSecret,
    }),
  ),
}));
writeFileSync(out('golden-envelopes.json'), `${JSON.stringify({ version: 1, envelopes }, null, 2)}\n`);

const hello = buildHello(nodeSuite, alice, new Uint8Array(32).fill(0xab), 'rdv.example.org:443', {
  now: 1_764_000_000_000,
  token: '',
});
const frames = [...GOLDEN_FRAMES, { name: 'hello', frame: hello }].map(({ name, frame }) => ({
  name,
  hex: toHex(encodeFrame(frame)),
}));
writeFileSync(out('golden-frames.json'), `${JSON.stringify({ version: 1, frames }, null, 2)}\n`);
console.log(`wrote ${envelopes.length} envelopes, ${frames.length} frames`);
