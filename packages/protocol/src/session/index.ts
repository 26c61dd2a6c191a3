/**
 * v2 sessions (issue 13): the hybrid Noise handshake, the transport session, and signed prekey
 * bundles with messages sealed to them for offline peers. Library layer, not yet used by the
 * client. Wire format and construction: docs/protocol.md "v2 sessions" and "v2 prekeys".
 *
 * In Node pass `suite: nodeSuite` (from '@p2p-comm/protocol/node') so X25519 runs in OpenSSL;
 * the default is portableSuite (@noble, browsers). Same bytes either way.
 *
 * @example
 *   const { packet: m1, pending } = initiateSession({ identity: alice, remotePublicKey: bob.publicKey, suite });
 *   const { packet: m2, keys: bobKeys } = acceptSession(m1, { identity: bob, acceptInitiator: isTrusted, suite });
 *   const alices = new Session(pending.complete(m2).keys);
 *   const bobs = new Session(bobKeys);
 *   bobs.open(alices.seal(utf8('hi')));
 */
export { type ChaChaPoly, portableChaChaPoly } from './chacha-poly.js';
export type { CipherState } from './cipher-state.js';
export { type HandshakeOptions, type HandshakeResult, HandshakeState } from './handshake-state.js';
export {
  type AcceptOptions,
  acceptSession,
  HANDSHAKE_INIT_BYTES,
  HANDSHAKE_RESPONSE_MIN_BYTES,
  type InitiateOptions,
  initiateSession,
  PendingSession,
  SESSION_ALGORITHMS,
  SESSION_PROTOCOL_NAME,
  type SessionIdentity,
  type SessionKeys,
  sessionPrologue,
} from './hybrid-handshake.js';
export {
  type CreatePrekeyBundleOptions,
  createPrekeyBundle,
  decodePrekeyBundle,
  encodePrekeyBundle,
  erasePrekeySecrets,
  type PrekeyBundle,
  type PrekeySecrets,
  prekeyBundleDigest,
  prekeyBundleSignedBytes,
  type VerifyPrekeyBundleOptions,
  verifyPrekeyBundle,
} from './prekey-bundle.js';
export {
  decodePrekeyMessage,
  type OpenedPrekeyMessage,
  type OpenPrekeyMessageOptions,
  openPrekeyMessage,
  PREKEY_ALGORITHMS,
  type PrekeyMessageHeader,
  type SealToPrekeyOptions,
  sealToPrekey,
} from './prekey-message.js';
export { PrekeyReplayGuard, type PrekeyReplayGuardOptions, type PrekeyReplayState } from './prekey-replay-guard.js';
export type { RandomSource } from './random.js';
export { ReplayWindow } from './replay-window.js';
export { Session, type SessionOptions } from './session.js';
export {
  MAX_TRANSPORT_PACKET_BYTES,
  MIN_TRANSPORT_PACKET_BYTES,
  readSessionPacketType,
  readTransportHeader,
  SessionPacketType,
  TRANSPORT_HEADER_BYTES,
} from './session-packet.js';
