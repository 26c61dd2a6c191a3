import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, utf8 } from '../../src/bytes.js';
import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../../src/crypto/convert.js';
import { isProtocolError, type ProtocolErrorCode } from '../../src/errors.js';
import { HandshakeState } from '../../src/session/handshake-state.js';
import {
  acceptSession,
  HANDSHAKE_INIT_BYTES,
  HANDSHAKE_RESPONSE_MIN_BYTES,
  initiateSession,
  SESSION_PROTOCOL_NAME,
  sessionPrologue,
} from '../../src/session/hybrid-handshake.js';
import { scriptedRandom } from '../../src/session/random.js';
import { Session } from '../../src/session/session.js';
import { encodeHandshakePacket } from '../../src/session/session-packet.js';
import { alice, bob, carol, handshake } from './helpers.js';

function codeOf(fn: () => unknown): ProtocolErrorCode | 'no error' | 'not a ProtocolError' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return isProtocolError(err) ? err.code : 'not a ProtocolError';
  }
}

const flip = (bytes: Uint8Array, index: number, bit = 0): Uint8Array => {
  const out = Uint8Array.from(bytes);
  out[index]! ^= 1 << bit;
  return out;
};

const accept = (m1: Uint8Array) => acceptSession(m1, { identity: bob, acceptInitiator: () => true });

describe('hybrid handshake (Noise_IKhfs_25519+MLKEM768_ChaChaPoly_SHA256)', () => {
  it('two identities agree on crossed keys and h; both sessions carry data both ways', () => {
    const h = handshake(utf8('welcome'));
    expect(h.message1.length).toBe(HANDSHAKE_INIT_BYTES);
    expect(h.message2.length).toBe(HANDSHAKE_RESPONSE_MIN_BYTES + 'welcome'.length);
    expect(toHex(h.initiatorKeys.sendKey)).toBe(toHex(h.responderKeys.receiveKey));
    expect(toHex(h.initiatorKeys.receiveKey)).toBe(toHex(h.responderKeys.sendKey));
    expect(toHex(h.initiatorKeys.sendKey)).not.toBe(toHex(h.initiatorKeys.receiveKey));
    expect(toHex(h.initiatorKeys.handshakeHash)).toBe(toHex(h.responderKeys.handshakeHash));
    expect(toHex(h.initiatorKeys.remotePublicKey)).toBe(toHex(bob.publicKey));
    expect(toHex(h.responderKeys.remotePublicKey)).toBe(toHex(alice.publicKey));
    expect(new TextDecoder().decode(h.responderPayload)).toBe('welcome');
    const a = new Session(h.initiatorKeys);
    const b = new Session(h.responderKeys);
    expect(new TextDecoder().decode(b.open(a.seal(utf8('ping'))))).toBe('ping');
    expect(new TextDecoder().decode(a.open(b.seal(utf8('pong'))))).toBe('pong');
  });

  it('the keys depend on the X25519 ephemerals and on ML-KEM separately', () => {
    const run = (eI: number, kemSeed: number, eR: number, kemM: number) => {
      const { packet, pending } = initiateSession({
        identity: alice,
        remotePublicKey: bob.publicKey,
        random: scriptedRandom([new Uint8Array(32).fill(eI), new Uint8Array(64).fill(kemSeed)]),
      });
      const r = acceptSession(packet, {
        identity: bob,
        acceptInitiator: () => true,
        random: scriptedRandom([new Uint8Array(32).fill(eR), new Uint8Array(32).fill(kemM)]),
      });
      const keys = pending.complete(r.packet).keys;
      expect(toHex(keys.sendKey)).toBe(toHex(r.keys.receiveKey));
      return toHex(keys.sendKey);
    };
    const base = run(1, 2, 3, 4);
    expect(run(1, 2, 3, 4)).toBe(base); // deterministic given the randomness
    expect(run(1, 2, 3, 5)).not.toBe(base); // only the KEM encapsulation randomness differs
    expect(run(1, 9, 3, 4)).not.toBe(base); // only the KEM key pair differs
    expect(run(1, 2, 8, 4)).not.toBe(base); // only the responder's X25519 ephemeral differs
  });

  describe('tampering with each field fails closed', () => {
    const h = handshake();
    // Message 1: prefix(2) e(32) enc(e1)(1,200) enc(s)(48) enc(payload)(48).
    const m1Fields: [string, number, number, ProtocolErrorCode][] = [
      ['version', 0, 1, 'PROTO_ERR_BAD_VERSION'],
      ['type', 1, 1, 'PROTO_ERR_BAD_TYPE'],
      ['e', 2, 32, 'PROTO_ERR_DECRYPT_FAILED'],
      ['enc(e1)', 34, 1_200, 'PROTO_ERR_DECRYPT_FAILED'],
      ['enc(s)', 1_234, 48, 'PROTO_ERR_DECRYPT_FAILED'],
      ['enc(payload)', 1_282, 48, 'PROTO_ERR_DECRYPT_FAILED'],
    ];
    for (const [name, start, length, code] of m1Fields) {
      it(`message 1 ${name}: first, middle and last byte, low and high bit`, () => {
        for (const i of new Set([start, start + (length >> 1), start + length - 1]))
          for (const bit of [0, 7])
            expect(
              codeOf(() => accept(flip(h.message1, i, bit))),
              `byte ${i} bit ${bit}`,
            ).toBe(code);
      });
    }
    it('message 1 truncated or with a trailing byte', () => {
      expect(codeOf(() => accept(h.message1.subarray(0, HANDSHAKE_INIT_BYTES - 1)))).toBe('PROTO_ERR_TRUNCATED');
      expect(codeOf(() => accept(concatBytes(h.message1, new Uint8Array(1))))).toBe('PROTO_ERR_TRAILING_BYTES');
    });

    // Message 2: prefix(2) e(32) enc(ct)(1,104) enc(payload)(16).
    const m2Fields: [string, number, number, ProtocolErrorCode][] = [
      ['version', 0, 1, 'PROTO_ERR_BAD_VERSION'],
      ['type', 1, 1, 'PROTO_ERR_BAD_TYPE'],
      ['e', 2, 32, 'PROTO_ERR_DECRYPT_FAILED'],
      ['enc(ekem1)', 34, 1_104, 'PROTO_ERR_DECRYPT_FAILED'],
      ['enc(payload)', 1_138, 16, 'PROTO_ERR_DECRYPT_FAILED'],
    ];
    for (const [name, start, length, code] of m2Fields) {
      it(`message 2 ${name}: first, middle and last byte; the initiator's state is then dead`, () => {
        for (const i of new Set([start, start + (length >> 1), start + length - 1])) {
          const { packet, pending } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey });
          const m2 = accept(packet).packet;
          expect(
            codeOf(() => pending.complete(flip(m2, i))),
            `byte ${i}`,
          ).toBe(code);
          // Fail closed: the untampered message no longer completes this state.
          expect(codeOf(() => pending.complete(m2))).toBe('PROTO_ERR_HANDSHAKE_STATE');
        }
      });
    }
    it('message 2 truncated (shorter than a tag) or with a trailing byte (changes the payload)', () => {
      const cases: [(m: Uint8Array) => Uint8Array, ProtocolErrorCode][] = [
        [(m) => m.subarray(0, m.length - 1), 'PROTO_ERR_TRUNCATED'],
        [(m) => concatBytes(m, Uint8Array.of(0)), 'PROTO_ERR_DECRYPT_FAILED'],
      ];
      for (const [cut, code] of cases) {
        const { packet, pending } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey });
        expect(codeOf(() => pending.complete(cut(accept(packet).packet)))).toBe(code);
      }
    });
  });

  it('message 1 for Bob does not open at Carol', () => {
    const { packet } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey });
    expect(codeOf(() => acceptSession(packet, { identity: carol, acceptInitiator: () => true }))).toBe(
      'PROTO_ERR_DECRYPT_FAILED',
    );
  });

  it('a responder that does not accept the initiator refuses with PROTO_ERR_HANDSHAKE_IDENTITY', () => {
    const { packet } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey });
    const seen: string[] = [];
    const code = codeOf(() =>
      acceptSession(packet, {
        identity: bob,
        acceptInitiator: (key) => {
          seen.push(toHex(key));
          return false;
        },
      }),
    );
    expect(code).toBe('PROTO_ERR_HANDSHAKE_IDENTITY');
    expect(seen).toEqual([toHex(alice.publicKey)]);
  });

  it("an initiator claiming another Ed25519 key than its static key's is refused", () => {
    // Alice's static key, Carol's Ed25519 key in the payload.
    const state = new HandshakeState({
      protocolName: SESSION_PROTOCOL_NAME,
      initiator: true,
      prologue: sessionPrologue(bob.publicKey),
      staticSecretKey: ed25519SecretToX25519(alice.secretKey),
      remoteStaticKey: ed25519PublicToX25519(bob.publicKey),
    });
    const packet = encodeHandshakePacket(1, state.writeMessage(carol.publicKey));
    expect(codeOf(() => accept(packet))).toBe('PROTO_ERR_HANDSHAKE_IDENTITY');
  });

  it('downgrade: a classical IK message 1 or another version in the prologue does not open', () => {
    const classical = new HandshakeState({
      protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256',
      initiator: true,
      prologue: sessionPrologue(bob.publicKey),
      staticSecretKey: ed25519SecretToX25519(alice.secretKey),
      remoteStaticKey: ed25519PublicToX25519(bob.publicKey),
    });
    const m = classical.writeMessage(alice.publicKey);
    // Same length as ours once padded, so the refusal comes from the transcript, not the size.
    const padded = concatBytes(m, new Uint8Array(HANDSHAKE_INIT_BYTES - 2 - m.length));
    expect(codeOf(() => accept(encodeHandshakePacket(1, padded)))).toBe('PROTO_ERR_DECRYPT_FAILED');

    const otherPrologue = sessionPrologue(bob.publicKey);
    otherPrologue[otherPrologue.length - 32 - 4 - 1]! ^= 1; // a byte of the algorithm list
    const downgraded = new HandshakeState({
      protocolName: SESSION_PROTOCOL_NAME,
      initiator: true,
      prologue: otherPrologue,
      staticSecretKey: ed25519SecretToX25519(alice.secretKey),
      remoteStaticKey: ed25519PublicToX25519(bob.publicKey),
    });
    expect(codeOf(() => accept(encodeHandshakePacket(1, downgraded.writeMessage(alice.publicKey))))).toBe(
      'PROTO_ERR_DECRYPT_FAILED',
    );
  });

  it('message 1 replayed into a new responder yields a session nobody else can use', () => {
    const h = handshake();
    const alices = new Session(h.initiatorKeys);
    // The replay: a fresh responder (e.g. after a restart) answers the recorded message 1 again.
    const replayed = accept(h.message1);
    expect(toHex(replayed.keys.receiveKey)).not.toBe(toHex(h.responderKeys.receiveKey));
    const replayedSession = new Session(replayed.keys);
    // Alice's real traffic does not open in the replayed session, and what the replayed
    // responder sends does not open at Alice: no message crosses between the two.
    expect(codeOf(() => replayedSession.open(alices.seal(utf8('to the real Bob'))))).toBe('PROTO_ERR_DECRYPT_FAILED');
    expect(codeOf(() => alices.open(replayedSession.seal(utf8('from the replay'))))).toBe('PROTO_ERR_DECRYPT_FAILED');
    // Alice's handshake state is finished: the replayed answer cannot be fed to it either.
    const { packet, pending } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey });
    expect(codeOf(() => pending.complete(replayed.packet))).toBe('PROTO_ERR_DECRYPT_FAILED');
    pending.destroy();
    expect(packet.length).toBe(HANDSHAKE_INIT_BYTES);
  });

  it('message 2 is refused by a responder and message 1 by an initiator (type confusion)', () => {
    const h = handshake();
    expect(codeOf(() => accept(h.message2))).toBe('PROTO_ERR_BAD_TYPE');
    const { pending } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey });
    expect(codeOf(() => pending.complete(h.message1))).toBe('PROTO_ERR_BAD_TYPE');
  });
});
