import { buildHello, encodeFrame, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { expect, it } from 'vitest';
import { fastHello } from '../src/protocols/rendezvous.js';

it("the generator's HELLO is byte-identical to buildHello's", () => {
  const me = generateIdentity(nodeSuite);
  const challenge = new Uint8Array(32).fill(5);
  const now = 1_790_000_000_000;
  const want = encodeFrame(buildHello(nodeSuite, me, challenge, '127.0.0.1:9', { now }));
  expect(Buffer.from(fastHello(me, challenge, '127.0.0.1:9', now)).equals(Buffer.from(want))).toBe(true);
});
