import { MAX_MESSAGE_BYTES } from '../constants.js';
import { ClientError } from '../errors.js';
import type { P2PClient } from '../sdk/client.js';
import { bool, obj, str } from './jsonrpc.js';

export type Method = (client: P2PClient, params: unknown) => unknown;

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** The extension's methods (docs/extension-rpc.md). Params are validated here, at the edge. */
export const METHODS: Readonly<Record<string, Method>> = Object.freeze({
  'identity.get': (c) => c.id(),
  'identity.setName': (c, params) => c.setName(str(obj(params), 'name', { max: 256 })!),
  'peers.list': (c) => ({ peers: c.peers() }),
  'peers.connect': (c, params) => {
    const p = obj(params);
    const target = str(p, 'share', { optional: true, max: 1024 }) ?? str(p, 'key', { optional: true, max: 64 });
    if (target === undefined) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'share or key is required');
    return c.connect(target, { acceptChangedKey: bool(p, 'acceptChangedKey', { optional: true }) ?? false });
  },
  'peers.revoke': (c, params) => c.revoke(str(obj(params), 'peer', { max: 256 })!),
  'consent.pending': (c) => ({ requests: c.session.pendingConsents() }),
  'consent.respond': (c, params) => {
    const p = obj(params);
    const ref = str(p, 'requestId', { optional: true, max: 64 }) ?? str(p, 'key', { optional: true, max: 64 });
    if (ref === undefined) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'requestId or key is required');
    return c.respondConsent(ref, bool(p, 'accept')!);
  },
  'messages.send': (c, params) => {
    const p = obj(params);
    const peer = str(p, 'peer', { max: 256 })!;
    const text = str(p, 'text', { optional: true, max: MAX_MESSAGE_BYTES });
    const data = str(p, 'data', { optional: true, max: Math.ceil((MAX_MESSAGE_BYTES * 4) / 3) + 4 });
    if ((text === undefined) === (data === undefined))
      throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'exactly one of text or data (base64) is required');
    if (data !== undefined) {
      if (!BASE64_RE.test(data)) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'data must be base64');
      return c.send(peer, { data: new Uint8Array(Buffer.from(data, 'base64')) });
    }
    return c.send(peer, { text: text! });
  },
  'approval.respond': (c, params) => {
    const p = obj(params);
    return c.respondApproval(str(p, 'approvalId', { max: 64 })!, bool(p, 'allow')!);
  },
  status: (c) => c.status(),
  'server.reconnect': (c) => ({ server: c.reconnectServer() }),
});
