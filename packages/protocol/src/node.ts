/** Node-only entry: the node:crypto suite (OpenSSL), byte-compatible with portableSuite. */
export { nodeSuite } from './crypto/node.js';
