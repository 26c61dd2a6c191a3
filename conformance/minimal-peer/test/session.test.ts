// v2 handshake and transport against packages/protocol/test/vectors/golden-session.json:
// both messages, h, the epoch-0 keys and all five transport packets, byte for byte.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../bytes.js';
import { prologue, readMessage1AndRespond, readMessage2, writeMessage1 } from '../handshake.js';
import { identityFromSeed } from '../identity.js';
import { Session } from '../session.js';

const g = JSON.parse(
  readFileSync(new URL('../../../packages/protocol/test/vectors/golden-session.json', import.meta.url), 'utf8'),
);

describe('golden session', () => {
  const initiator = identityFromSeed(fromHex(g.initiator.ed25519SecretKey));
  const responder = identityFromSeed(fromHex(g.responder.ed25519SecretKey));

  it('derives the X25519 forms of both identities', () => {
    expect(toHex(initiator.x25519Secret)).toBe(g.initiator.x25519SecretKey);
    expect(toHex(initiator.x25519Public)).toBe(g.initiator.x25519PublicKey);
    expect(toHex(responder.x25519Public)).toBe(g.responder.x25519PublicKey);
  });

  it('reproduces the prologue, both messages, h, the keys and the transport packets', () => {
    expect(toHex(prologue(responder.publicKey))).toBe(g.prologue);
    const { message1, state } = writeMessage1(initiator, responder.publicKey, {
      ephemeralSecret: fromHex(g.random.initiatorEphemeral),
      kemSeed: fromHex(g.random.initiatorKemSeed),
    });
    expect(toHex(message1)).toBe(g.message1);
    const r = readMessage1AndRespond(
      responder,
      message1,
      () => true,
      { ephemeralSecret: fromHex(g.random.responderEphemeral), kemRandom: fromHex(g.random.responderKemRandom) },
      fromHex(g.responderPayload),
    );
    expect(toHex(r.message2)).toBe(g.message2);
    expect(toHex(r.initiatorEd25519)).toBe(g.initiator.ed25519PublicKey);
    const i = readMessage2(initiator, state, r.message2);
    expect(toHex(i.payload)).toBe(g.responderPayload);
    for (const keys of [i.keys, r.keys]) {
      expect(toHex(keys.handshakeHash)).toBe(g.handshakeHash);
      expect(toHex(keys.initiatorToResponder)).toBe(g.initiatorToResponderKey);
      expect(toHex(keys.responderToInitiator)).toBe(g.responderToInitiatorKey);
    }
    const opts = { rekeyAfterMessages: g.rekeyAfterMessages };
    const iSession = new Session(
      i.keys.initiatorToResponder,
      i.keys.responderToInitiator,
      i.keys.handshakeHash,
      0,
      opts,
    );
    const rSession = new Session(
      r.keys.responderToInitiator,
      r.keys.initiatorToResponder,
      r.keys.handshakeHash,
      0,
      opts,
    );
    for (const t of g.transport) {
      const [from, to] = t.from === 'initiator' ? [iSession, rSession] : [rSession, iSession];
      const packet = from.seal(fromHex(t.plaintext), 0);
      expect(toHex(packet)).toBe(t.packet);
      expect(toHex(to.open(packet, 0))).toBe(t.plaintext);
      expect(() => to.open(packet, 0)).toThrow(expect.objectContaining({ code: 'PROTO_ERR_SESSION_REPLAY' }));
    }
  });

  it('refuses a message 1 whose initiator is not accepted', () => {
    const { message1 } = writeMessage1(initiator, responder.publicKey, {
      ephemeralSecret: fromHex(g.random.initiatorEphemeral),
      kemSeed: fromHex(g.random.initiatorKemSeed),
    });
    const random = { ephemeralSecret: new Uint8Array(32).fill(9), kemRandom: new Uint8Array(32) };
    expect(() => readMessage1AndRespond(responder, message1, () => false, random)).toThrow(
      expect.objectContaining({ code: 'PROTO_ERR_HANDSHAKE_IDENTITY' }),
    );
    const tampered = message1.slice();
    tampered[100] = (tampered[100] as number) ^ 1;
    expect(() =>
      readMessage1AndRespond(responder, tampered, () => true, {
        ...random,
        ephemeralSecret: new Uint8Array(32).fill(9),
      }),
    ).toThrow(expect.objectContaining({ code: 'PROTO_ERR_DECRYPT_FAILED' }));
  });
});
