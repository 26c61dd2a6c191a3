import { describe, expect, it } from 'vitest';
import {
  decodeEnvelope,
  EnvelopeType,
  generateIdentity,
  openEnvelope,
  ProtocolError,
  portableSuite,
  ReplayGuard,
  sealEnvelope,
  utf8,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';

describe('envelope', () => {
  for (const suite of [nodeSuite, portableSuite]) {
    it(`round-trips with ${suite.name}`, () => {
      const alice = generateIdentity(suite);
      const bob = generateIdentity(suite);
      const bytes = sealEnvelope(suite, {
        type: EnvelopeType.DATA,
        sender: alice,
        recipient: bob.publicKey,
        plaintext: utf8('hello bob'),
      });
      const opened = openEnvelope(suite, bytes, { recipient: bob, replayGuard: new ReplayGuard() });
      expect(new TextDecoder().decode(opened.plaintext)).toBe('hello bob');
      expect(opened.fields.sender).toEqual(alice.publicKey);
    });
  }

  it('opens with the other suite (same bytes either way)', () => {
    const alice = generateIdentity(nodeSuite);
    const bob = generateIdentity(portableSuite);
    const bytes = sealEnvelope(nodeSuite, {
      type: EnvelopeType.DATA,
      sender: alice,
      recipient: bob.publicKey,
      plaintext: utf8('x'),
    });
    const opened = openEnvelope(portableSuite, bytes, { recipient: bob, replayGuard: new ReplayGuard() });
    expect(opened.plaintext).toEqual(utf8('x'));
  });

  it('rejects a replay with PROTO_ERR_REPLAY', () => {
    const alice = generateIdentity(nodeSuite);
    const bob = generateIdentity(nodeSuite);
    const guard = new ReplayGuard();
    const bytes = sealEnvelope(nodeSuite, {
      type: EnvelopeType.DATA,
      sender: alice,
      recipient: bob.publicKey,
      plaintext: utf8('x'),
    });
    openEnvelope(nodeSuite, bytes, { recipient: bob, replayGuard: guard });
    expect(() => openEnvelope(nodeSuite, bytes, { recipient: bob, replayGuard: guard })).toThrowError(
      expect.objectContaining({ code: 'PROTO_ERR_REPLAY' }),
    );
    expect(() => decodeEnvelope(new Uint8Array(3))).toThrow(ProtocolError);
  });
});
