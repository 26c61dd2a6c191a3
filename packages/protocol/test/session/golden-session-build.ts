/**
 * Runs the golden v2 session from the fixed inputs: used by the test and by the script that
 * writes test/vectors/golden-session.json.
 */
import { toHex } from '../../src/bytes.js';
import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../../src/crypto/convert.js';
import { portableSuite } from '../../src/crypto/portable.js';
import type { CryptoSuite } from '../../src/crypto/suite.js';
import {
  acceptSession,
  initiateSession,
  SESSION_ALGORITHMS,
  SESSION_PROTOCOL_NAME,
  sessionPrologue,
} from '../../src/session/hybrid-handshake.js';
import { scriptedRandom } from '../../src/session/random.js';
import { Session } from '../../src/session/session.js';
import { readTransportHeader } from '../../src/session/session-packet.js';
import {
  GOLDEN_REKEY_AFTER_MESSAGES,
  GOLDEN_RESPONDER_PAYLOAD,
  GOLDEN_SESSION_RANDOM,
  GOLDEN_TRANSPORT,
} from './golden-session-inputs.js';
import { alice, bob } from './helpers.js';

/** `suite` runs the X25519 parts; every suite must give the same file. */
export function buildGoldenSession(suite: CryptoSuite = portableSuite) {
  const R = GOLDEN_SESSION_RANDOM;
  const { packet: message1, pending } = initiateSession({
    identity: alice,
    remotePublicKey: bob.publicKey,
    random: scriptedRandom([R.initiatorEphemeral, R.initiatorKemSeed]),
    suite,
  });
  const accepted = acceptSession(message1, {
    identity: bob,
    acceptInitiator: () => true,
    payload: GOLDEN_RESPONDER_PAYLOAD,
    random: scriptedRandom([R.responderEphemeral, R.responderKemRandom]),
    suite,
  });
  const done = pending.complete(accepted.packet);
  const i2r = toHex(done.keys.sendKey);
  const r2i = toHex(done.keys.receiveKey);
  const a = new Session(done.keys, { rekeyAfterMessages: GOLDEN_REKEY_AFTER_MESSAGES, now: () => 0 });
  const b = new Session(accepted.keys, { rekeyAfterMessages: GOLDEN_REKEY_AFTER_MESSAGES, now: () => 0 });
  const transport = GOLDEN_TRANSPORT.map((t) => {
    const packet = (t.from === 'initiator' ? a : b).seal(t.plaintext);
    const { epoch, counter } = readTransportHeader(packet);
    return { from: t.from, epoch, counter, plaintext: toHex(t.plaintext), packet: toHex(packet) };
  });
  const party = (id: typeof alice) => ({
    ed25519SecretKey: toHex(id.secretKey),
    ed25519PublicKey: toHex(id.publicKey),
    x25519SecretKey: toHex(ed25519SecretToX25519(id.secretKey)),
    x25519PublicKey: toHex(ed25519PublicToX25519(id.publicKey)),
  });
  return {
    protocolName: SESSION_PROTOCOL_NAME,
    algorithms: SESSION_ALGORITHMS,
    initiator: party(alice),
    responder: party(bob),
    random: {
      initiatorEphemeral: toHex(R.initiatorEphemeral),
      initiatorKemSeed: toHex(R.initiatorKemSeed),
      responderEphemeral: toHex(R.responderEphemeral),
      responderKemRandom: toHex(R.responderKemRandom),
    },
    prologue: toHex(sessionPrologue(bob.publicKey)),
    message1: toHex(message1),
    message2: toHex(accepted.packet),
    responderPayload: toHex(done.payload),
    handshakeHash: toHex(done.keys.handshakeHash),
    initiatorToResponderKey: i2r,
    responderToInitiatorKey: r2i,
    rekeyAfterMessages: GOLDEN_REKEY_AFTER_MESSAGES,
    transport,
  };
}
