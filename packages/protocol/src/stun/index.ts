/**
 * @p2p-comm/protocol/stun — the one STUN codec (RFC 5389 / RFC 8489) of the client and the
 * rendezvous server. A subpath of its own because it needs node:zlib (CRC-32 for FINGERPRINT).
 *
 * @example
 *   import { bindingOutcome, decodeStunMessage, encodeBindingRequest } from '@p2p-comm/protocol/stun';
 *   socket.send(encodeBindingRequest(txId), port, host);
 *   const { mapped } = bindingOutcome(decodeStunMessage(datagram)); // throws ProtocolError PROTO_ERR_STUN_*
 */
export { encodeXorMappedAddress, parseMappedAddress, parseXorMappedAddress, type TransportAddress } from './address.js';
export {
  type BindingOutcome,
  bindingOutcome,
  decodeStunMessage,
  type EncodeOptions,
  encodeBindingRequest,
  encodeStunMessage,
  type StunAttribute,
  type StunMessage,
} from './codec.js';
export * from './constants.js';
