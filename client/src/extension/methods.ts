import { isAbsolute } from 'node:path';
import { formatFingerprint } from '@p2p-comm/protocol';
import { ClientError } from '../errors.js';
import { FILE_MAX_MEDIA_TYPE_BYTES, FILE_MAX_NAME_BYTES, FILE_MAX_NOTE_BYTES } from '../files/constants.js';
import type { P2PClient } from '../sdk/client.js';
import { parseShare } from '../share.js';
import { bool, obj, str } from './jsonrpc.js';

export type Method = (client: P2PClient, params: unknown) => unknown;

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
/** Transfer ids are 16 random bytes in hex (files/sender.ts). */
const TRANSFER_ID_RE = /^[0-9a-f]{32}$/;
/** Longest path `files.send` takes, characters (PATH_MAX on Linux). */
const MAX_PATH_CHARS = 4_096;

function transferId(p: Record<string, unknown>): string {
  const id = str(p, 'id', { max: 64 })!;
  if (!TRANSFER_ID_RE.test(id)) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'id must be a transfer id');
  return id;
}

function connectTarget(p: Record<string, unknown>): string {
  const target = str(p, 'share', { optional: true, max: 1024 }) ?? str(p, 'key', { optional: true, max: 64 });
  if (target === undefined) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'share or key is required');
  return target;
}

/** The extension's methods (docs/extension-rpc.md). Params are validated here, at the edge. */
export const METHODS: Readonly<Record<string, Method>> = Object.freeze({
  'identity.get': (c) => c.id(),
  'identity.setName': (c, params) => c.setName(str(obj(params), 'name', { max: 256 })!),
  'peers.list': (c) => ({ peers: c.peers() }),
  'peers.connect': (c, params) => {
    const p = obj(params);
    // A host may forward a plugin's connect here; a plugin must never be able to replace a
    // trusted key, so accepting a changed key has its own method (below), called only by the
    // host's user-approval path after its user saw both fingerprints.
    if (bool(p, 'acceptChangedKey', { optional: true }) === true)
      throw new ClientError(
        'CLIENT_ERR_LOCAL_APPROVAL_REQUIRED',
        'peers.connect never accepts a changed key; the host calls peers.acceptChangedKey after its user approved',
      );
    return c.connect(connectTarget(p));
  },
  'peers.acceptChangedKey': (c, params) => {
    const p = obj(params);
    const target = connectTarget(p);
    // Binds the call to what the user was shown: the new key's fingerprint.
    const fingerprint = str(p, 'fingerprint', { max: 256 })!;
    const key = parseShare(target).key;
    if (fingerprint !== formatFingerprint(key))
      throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'fingerprint does not match the key');
    return c.connect(target, { acceptChangedKey: true });
  },
  'peers.setName': (c, params) => {
    const p = obj(params);
    return c.renamePeer(str(p, 'peer', { max: 256 })!, str(p, 'name', { max: 256 })!);
  },
  'names.pending': (c) => ({ requests: c.session.pendingNameChanges() }),
  'names.respond': (c, params) => {
    const p = obj(params);
    const ref = str(p, 'requestId', { optional: true, max: 64 }) ?? str(p, 'key', { optional: true, max: 64 });
    if (ref === undefined) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'requestId or key is required');
    return c.respondNameChange(ref, bool(p, 'accept')!);
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
    // The line limit bounds both; the byte limit (maxLongMessageBytes, CLIENT_ERR_MESSAGE_TOO_LARGE)
    // is the client's send, which also decides one packet or a long message.
    const text = str(p, 'text', { optional: true });
    const data = str(p, 'data', { optional: true, max: Math.ceil((c.config.maxLongMessageBytes * 4) / 3) + 4 });
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
  'files.send': (c, params) => {
    const p = obj(params);
    const path = str(p, 'path', { max: MAX_PATH_CHARS })!;
    // The extension's working directory is not the caller's: only an absolute path names one file.
    if (!isAbsolute(path)) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'path must be absolute');
    const note = str(p, 'note', { optional: true, max: FILE_MAX_NOTE_BYTES });
    const name = str(p, 'name', { optional: true, max: FILE_MAX_NAME_BYTES });
    const mediaType = str(p, 'mediaType', { optional: true, max: FILE_MAX_MEDIA_TYPE_BYTES });
    return c.sendFile(str(p, 'peer', { max: 256 })!, path, {
      ...(note !== undefined ? { note } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(mediaType !== undefined ? { mediaType } : {}),
    });
  },
  'files.list': (c) => c.files.list(),
  'files.respond': (c, params) => {
    const p = obj(params);
    return c.files.respond(transferId(p), bool(p, 'accept')!);
  },
  'files.cancel': (c, params) => c.files.cancel(transferId(obj(params))),
  status: (c) => c.status(),
  'server.reconnect': (c) => ({ server: c.reconnectServer() }),
});
