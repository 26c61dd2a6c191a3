// Direct link handshake (docs/protocol.md "Path upgrade signalling" → Direct link). OPTIONAL:
// the minimal peer never opens or serves a direct link; this module answers the kit's direct.*
// vectors and shows the messages a porter needs. Each message is one binary WebSocket message:
//
//   HELLO        0x01 ver key_d[32] challenge_d[32]             66 bytes   dialer → listener
//   HELLO_PROOF  0x02 ver key_l[32] challenge_l[32] sig_l[64]   130 bytes  listener → dialer
//   PROOF        0x03 ver sig_d[64]                             66 bytes   dialer → listener
//   ACCEPT       0x04 ver                                       2 bytes    listener → dialer
//   sig_x = Ed25519(lp("p2p-comm/v1/direct-auth") ‖ lp(role_x) ‖ lp(challenge_d) ‖ lp(challenge_l)
//                   ‖ lp(key_d) ‖ lp(key_l)),  role_x = "dialer" | "listener"

import { concat, lp, toHex, utf8 } from './bytes.js';
import { PeerError } from './errors.js';
import { verifyStrict } from './strict-ed25519.js';

const DIRECT_VERSION = 1;
const MESSAGES: Record<string, { type: number; size: number }> = {
  HELLO: { type: 0x01, size: 66 },
  HELLO_PROOF: { type: 0x02, size: 130 },
  PROOF: { type: 0x03, size: 66 },
  ACCEPT: { type: 0x04, size: 2 },
};

export interface DirectProofInput {
  role: 'dialer' | 'listener';
  dialerChallenge: Uint8Array;
  listenerChallenge: Uint8Array;
  dialerKey: Uint8Array;
  listenerKey: Uint8Array;
}

export function directSignedBytes(p: DirectProofInput): Uint8Array {
  return concat(
    lp(utf8('p2p-comm/v1/direct-auth')),
    lp(utf8(p.role)),
    lp(p.dialerChallenge),
    lp(p.listenerChallenge),
    lp(p.dialerKey),
    lp(p.listenerKey),
  );
}

export function verifyDirectProof(signer: Uint8Array, signature: Uint8Array, p: DirectProofInput): void {
  if (!verifyStrict(signature, directSignedBytes(p), signer)) {
    throw new PeerError('CLIENT_ERR_DIRECT_BAD_PROOF', 'direct handshake signature does not verify');
  }
}

/** Decode the message the reader waits for; anything else is CLIENT_ERR_DIRECT_BAD_FRAME. */
export function decodeDirectMessage(message: Uint8Array, expected: string): Record<string, string> {
  const spec = MESSAGES[expected];
  if (spec === undefined) throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `unknown direct message ${expected}`);
  if (message.length < 2 || message[0] !== spec.type)
    throw new PeerError('CLIENT_ERR_DIRECT_BAD_FRAME', `not a ${expected}`);
  if (message[1] !== DIRECT_VERSION) throw new PeerError('CLIENT_ERR_DIRECT_BAD_FRAME', `direct version ${message[1]}`);
  if (message.length !== spec.size)
    throw new PeerError('CLIENT_ERR_DIRECT_BAD_FRAME', `${expected} is ${spec.size} bytes`);
  switch (expected) {
    case 'HELLO':
      return { type: expected, key: toHex(message.subarray(2, 34)), challenge: toHex(message.subarray(34, 66)) };
    case 'HELLO_PROOF':
      return {
        type: expected,
        key: toHex(message.subarray(2, 34)),
        challenge: toHex(message.subarray(34, 66)),
        signature: toHex(message.subarray(66, 130)),
      };
    case 'PROOF':
      return { type: expected, signature: toHex(message.subarray(2, 66)) };
    default:
      return { type: expected };
  }
}
