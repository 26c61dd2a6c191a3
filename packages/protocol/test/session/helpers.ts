/** Shared fixtures for the session tests: fixed identities and a handshake between them. */
import { identityFromSecret } from '../../src/identity.js';
import { nodeSuite } from '../../src/node.js';
import { acceptSession, initiateSession, type SessionKeys } from '../../src/session/hybrid-handshake.js';
import { ALICE_SECRET, BOB_SECRET } from '../golden-inputs.js';

export const alice = identityFromSecret(nodeSuite, ALICE_SECRET);
export const bob = identityFromSecret(nodeSuite, BOB_SECRET);
export const carol = identityFromSecret(nodeSuite, new Uint8Array(32).fill(7));

/** Everything a relay could record of one handshake, plus both sides' keys. */
export function handshake(payload?: Uint8Array): {
  message1: Uint8Array;
  message2: Uint8Array;
  initiatorKeys: SessionKeys;
  responderKeys: SessionKeys;
  responderPayload: Uint8Array;
} {
  const { packet: message1, pending } = initiateSession({
    identity: alice,
    remotePublicKey: bob.publicKey,
    suite: nodeSuite,
  });
  const { packet: message2, keys: responderKeys } = acceptSession(message1, {
    identity: bob,
    acceptInitiator: () => true,
    payload,
    suite: nodeSuite,
  });
  const { keys: initiatorKeys, payload: responderPayload } = pending.complete(message2);
  return { message1, message2, initiatorKeys, responderKeys, responderPayload };
}
