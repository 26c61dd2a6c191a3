/**
 * Direct handshake: both ends prove their Ed25519 key over fresh challenges from each other,
 * so a wrong peer at an address is detected and dropped before any envelope flows.
 *
 *   dialer → listener   HELLO          0x01 ver key_d(32) challenge_d(32)            66 bytes
 *   listener → dialer   HELLO_PROOF    0x02 ver key_l(32) challenge_l(32) sig_l(64)  130 bytes
 *   dialer → listener   PROOF          0x03 ver sig_d(64)                             66 bytes
 *   listener → dialer   ACCEPT         0x04 ver                                       2 bytes
 *
 *   sig_x = Ed25519(DOMAIN.directAuth ‖ role_x ‖ challenge_d ‖ challenge_l ‖ key_d ‖ key_l),
 *   length-prefixed. The role label stops a signature being reflected back at its signer; both
 *   challenges stop replay; both keys stop a man in the middle relaying one side's proof to a
 *   third party (the proof names who it was made for).
 * After ACCEPT every binary WebSocket message is one opaque envelope.
 */
import {
  type CryptoSuite,
  DOMAIN,
  type Identity,
  lengthPrefixed,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  utf8,
} from '@p2p-comm/protocol';
import { DIRECT_HANDSHAKE_VERSION } from './direct-constants.js';
import { PathError } from './direct-errors.js';

export const DIRECT_CHALLENGE_BYTES = 32;

export const HandshakeType = Object.freeze({ HELLO: 1, HELLO_PROOF: 2, PROOF: 3, ACCEPT: 4 } as const);

export type HandshakeFrame =
  | { type: 1; key: Uint8Array; challenge: Uint8Array }
  | { type: 2; key: Uint8Array; challenge: Uint8Array; signature: Uint8Array }
  | { type: 3; signature: Uint8Array }
  | { type: 4 };

const SIZE: Readonly<Record<number, number>> = Object.freeze({
  1: 2 + PUBLIC_KEY_BYTES + DIRECT_CHALLENGE_BYTES,
  2: 2 + PUBLIC_KEY_BYTES + DIRECT_CHALLENGE_BYTES + SIGNATURE_BYTES,
  3: 2 + SIGNATURE_BYTES,
  4: 2,
});

export function encodeHandshake(frame: HandshakeFrame): Uint8Array {
  const out = new Uint8Array(SIZE[frame.type]!);
  out[0] = frame.type;
  out[1] = DIRECT_HANDSHAKE_VERSION;
  if (frame.type === 1 || frame.type === 2) {
    out.set(frame.key, 2);
    out.set(frame.challenge, 2 + PUBLIC_KEY_BYTES);
    if (frame.type === 2) out.set(frame.signature, 2 + PUBLIC_KEY_BYTES + DIRECT_CHALLENGE_BYTES);
  } else if (frame.type === 3) {
    out.set(frame.signature, 2);
  }
  return out;
}

/** Decode one handshake frame, expecting `want`; CLIENT_ERR_DIRECT_BAD_FRAME on anything else. */
export function decodeHandshake<T extends HandshakeFrame['type']>(
  bytes: Uint8Array,
  want: T,
): Extract<HandshakeFrame, { type: T }> {
  if (bytes.length < 2 || bytes[0] !== want)
    throw new PathError('CLIENT_ERR_DIRECT_BAD_FRAME', `expected type ${want}`);
  if (bytes[1] !== DIRECT_HANDSHAKE_VERSION) throw new PathError('CLIENT_ERR_DIRECT_BAD_FRAME', 'unsupported version');
  if (bytes.length !== SIZE[want]) throw new PathError('CLIENT_ERR_DIRECT_BAD_FRAME', `type ${want} has a wrong size`);
  const at = (offset: number, length: number) => bytes.slice(offset, offset + length);
  const k = 2;
  const c = 2 + PUBLIC_KEY_BYTES;
  const s = c + DIRECT_CHALLENGE_BYTES;
  let frame: HandshakeFrame;
  if (want === 1) frame = { type: 1, key: at(k, PUBLIC_KEY_BYTES), challenge: at(c, DIRECT_CHALLENGE_BYTES) };
  else if (want === 2)
    frame = {
      type: 2,
      key: at(k, PUBLIC_KEY_BYTES),
      challenge: at(c, DIRECT_CHALLENGE_BYTES),
      signature: at(s, SIGNATURE_BYTES),
    };
  else if (want === 3) frame = { type: 3, signature: at(2, SIGNATURE_BYTES) };
  else frame = { type: 4 };
  return frame as Extract<HandshakeFrame, { type: T }>;
}

export type HandshakeRole = 'dialer' | 'listener';

export interface Transcript {
  readonly dialerChallenge: Uint8Array;
  readonly listenerChallenge: Uint8Array;
  readonly dialerKey: Uint8Array;
  readonly listenerKey: Uint8Array;
}

function transcriptBytes(role: HandshakeRole, t: Transcript): Uint8Array {
  return lengthPrefixed(
    utf8(DOMAIN.directAuth),
    utf8(role),
    t.dialerChallenge,
    t.listenerChallenge,
    t.dialerKey,
    t.listenerKey,
  );
}

export function signTranscript(suite: CryptoSuite, me: Identity, role: HandshakeRole, t: Transcript): Uint8Array {
  return suite.sign(me.secretKey, transcriptBytes(role, t));
}

export function verifyTranscript(
  suite: CryptoSuite,
  signerKey: Uint8Array,
  role: HandshakeRole,
  t: Transcript,
  signature: Uint8Array,
): boolean {
  return suite.verify(signerKey, transcriptBytes(role, t), signature);
}
