/**
 * @p2p-comm/client — the p2p-comm thin client as a library (SDK), plus the pieces the
 * extension and CLI are built from.
 *
 * @example
 *   import { createClient } from '@p2p-comm/client';
 *   const client = createClient({ home: `${process.env.HOME}/.nexus`, server: 'ws://127.0.0.1:8080' });
 *   client.on('message.received', (m) => console.log(`${m.name}: ${m.text}`));
 *   await client.start();
 *   client.send('Bob', { text: 'hello' });
 */
export * from './constants.js';
export * from './errors.js';
export { serveExtension } from './extension/extension.js';
export { METHODS } from './extension/methods.js';
export { type ClientEvents, createClient, type IdentityInfo, P2PClient } from './sdk/client.js';
export type { ClientConfig, ClientInit } from './sdk/config.js';
export type {
  ApprovalRequestEvent,
  ConsentRequestEvent,
  MessageReceivedEvent,
  OutgoingBody,
  PeerStatusEvent,
} from './session/session.js';
export { formatShare, parseShare, type ShareTarget } from './share.js';
export { resolveHome, storePaths } from './store/paths.js';
export { type TrustedPeer, type TrustState, TrustStore } from './store/trust-store.js';
export type { Link, PathKind } from './transports/link.js';
export { PATH_PREFERENCE } from './transports/link.js';
export { type LinkProvider, PathManager } from './transports/path-manager.js';
export { RelayLink, RelayTransport } from './transports/relay.js';
export { normalizeServerUrl, RendezvousConnection } from './transports/rendezvous-connection.js';
