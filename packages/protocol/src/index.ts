/**
 * @p2p-comm/protocol — everything both ends of p2p-comm agree on.
 *
 * @example
 *   import { generateIdentity, sealEnvelope, openEnvelope, EnvelopeType, ReplayGuard, portableSuite } from '@p2p-comm/protocol';
 *   const alice = generateIdentity(portableSuite);
 *   const bob = generateIdentity(portableSuite);
 *   const bytes = sealEnvelope(portableSuite, { type: EnvelopeType.DATA, sender: alice, recipient: bob.publicKey, plaintext: new TextEncoder().encode('hi') });
 *   const { plaintext } = openEnvelope(portableSuite, bytes, { recipient: bob, replayGuard: new ReplayGuard() });
 *
 * In Node, import `nodeSuite` from '@p2p-comm/protocol/node' for the fast path (same bytes).
 */

export * from './auth.js';
export * from './bytes.js';
export * from './constants.js';
export { aeadOpen, aeadSeal, deriveEnvelopeKey } from './crypto/aead.js';
export { ed25519PublicToX25519, ed25519SecretToX25519 } from './crypto/convert.js';
export {
  isCanonicalPointEncoding,
  isCanonicalScalar,
  isSmallOrderEncoding,
  isSmallOrderPoint,
  passesStrictPrechecks,
  SMALL_ORDER_ENCODINGS,
} from './crypto/ed25519-strict.js';
export { portableSuite } from './crypto/portable.js';
export type { CryptoSuite, X25519Key } from './crypto/suite.js';
export * from './envelope.js';
export * from './errors.js';
export * from './frames.js';
export * from './identity.js';
export * from './invite.js';
export * from './ip-address.js';
export * from './peer-packet.js';
export * from './replay-guard.js';
export * from './session/index.js';
