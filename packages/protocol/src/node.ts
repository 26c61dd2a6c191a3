/** Node-only entry: the node:crypto suite (OpenSSL), byte-compatible with portableSuite. */
export { nodeSuite } from './crypto/node.js';
/** The session AEAD on OpenSSL (Session's `aead` option), byte-compatible with @noble/ciphers. */
export { nodeChaChaPoly } from './session/node-chacha-poly.js';
