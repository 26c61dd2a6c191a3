/**
 * The host's typed view of the p2p-comm extension's JSON-RPC interface (docs/extension-rpc.md).
 * Everything the extension sends is untrusted input: results and notifications are validated
 * here, and a malformed one is reported (HOST_ERR_RPC_PROTOCOL) and dropped.
 */
import type { EventEmitter } from 'node:events';
import { DEFAULT_MESSAGE_LIMITS } from '../message-limits.js';
import type { DroppedLine, JsonObject, JsonValue } from './json-rpc.js';

export interface PeerInfo {
  key: string;
  name?: string;
  fingerprint?: string;
  trusted: boolean;
  /** The extension's trust state: pending-out, trusted, revoked, revoked-by-peer. */
  state?: string;
  /** Human path status ("relay: connected"). */
  path?: string;
}

export interface ConsentRequest {
  requestId: string;
  peer: { key: string; name?: string; fingerprint?: string };
  /** Set when a known peer's name arrives with a new key: the user must see it (TOFU stop). */
  previousFingerprint?: string;
}

/** The extension holds an incoming message until the host answers (`--approve` mode). */
export interface IncomingApproval {
  approvalId: string;
  from: string;
  fromName?: string;
  fingerprint?: string;
  messageId: string;
  bytes: number;
  /** Start of a text message; absent for binary. */
  preview?: string;
  /**
   * The whole content (text, or base64 when `binary`), so the risk review judges all of it.
   * Absent from an extension that sends only a preview: then the message counts as unreviewed.
   */
  content?: string;
  binary: boolean;
}

/** A trusted peer proposes another display name; only the local user can accept it. */
export interface NameChangeRequest {
  requestId: string;
  peer: { key: string; name?: string; fingerprint?: string };
  proposedName: string;
}

/** What a plugin may pass to connect: exactly one of these, nothing else is forwarded. */
export type ConnectTarget = { share: string } | { key: string };

/** The extension's answer to a connect: asked, or stopped because a known name has a new key. */
export type ConnectOutcome =
  | { kind: 'requested'; result: JsonValue }
  | { kind: 'key-changed'; name: string; previousFingerprint: string; fingerprint: string };

export interface IncomingMessage {
  from: string;
  messageId: string;
  /** Text, or base64 when `encoding` is "base64" (a binary message). */
  body: string;
  encoding: 'text' | 'base64';
  fromName?: string;
}

/** A trusted peer offers a file (`file.offer`): nothing flows until the host answers. */
export interface FileOffer {
  id: string;
  from: string;
  fromName?: string;
  fingerprint?: string;
  /** The sanitised name it will land under. */
  name: string;
  size: number;
  mediaType: string;
  sha256: string;
  note: string;
}

/** A transfer ended (`file.done` / `file.failed`), either direction. */
export interface FileEnded {
  id: string;
  peer: string;
  direction: 'in' | 'out';
  ok: boolean;
  /** `in` and ok: where the verified file landed. */
  path?: string;
  sha256?: string;
  size?: number;
  name?: string;
  code?: string;
}

export interface DeliveredNotice {
  messageId: string;
  to?: string;
}

/** `message.failed`: a message the extension gave up on (trust ended, or a long message refused). */
export interface FailedNotice {
  messageId: string;
  to?: string;
  /** The extension's code (CLIENT_ERR_…), e.g. CLIENT_ERR_MESSAGE_TOO_LARGE over the peer's maximum. */
  code: string;
}

export interface ExtensionEvents {
  consent: [ConsentRequest];
  message: [IncomingMessage];
  delivered: [DeliveredNotice];
  failed: [FailedNotice];
  approval: [IncomingApproval];
  nameChange: [NameChangeRequest];
  fileOffer: [FileOffer];
  fileEnded: [FileEnded];
  peerStatus: [JsonObject];
  protocolError: [string];
  /** A line over the host's RPC line limit was skipped (what is known of it). */
  lineDropped: [DroppedLine];
}

/** What the gateway needs from the extension; the real one is ExtensionClient. */
export interface HostExtension extends EventEmitter<ExtensionEvents> {
  identity(): Promise<JsonObject>;
  status(): Promise<JsonObject>;
  listPeers(): Promise<PeerInfo[]>;
  /** `peers.connect` with only the target; a changed key comes back as `key-changed`. */
  connect(target: ConnectTarget): Promise<ConnectOutcome>;
  /** `peers.acceptChangedKey`: only after the local user approved the change. */
  acceptChangedKey(target: ConnectTarget, fingerprint: string): Promise<JsonValue>;
  /** Answer a `name.change` (the local user's decision). */
  respondNameChange(requestId: string, accept: boolean): Promise<void>;
  respondConsent(requestId: string, accept: boolean): Promise<void>;
  send(to: string, body: string): Promise<{ messageId: string }>;
  /** Answer an `approval.request`: allow hands the message to the host, deny drops it. */
  respondApproval(approvalId: string, allow: boolean): Promise<void>;
  // Files (optional: an extension without them never sends `file.offer`).
  /** `files.send`: offer the file at an absolute path; the transfer id. */
  sendFile?(to: string, path: string, note?: string): Promise<{ transferId: string }>;
  /** `files.respond`: the host's answer to a `file.offer`. */
  respondFile?(id: string, accept: boolean): Promise<void>;
  /** `files.list`: transfers waiting and in progress. */
  listFiles?(): Promise<JsonValue>;
  close(): Promise<void>;
}

const KEY = /^[A-Za-z0-9_-]{43}$/;

export function isRecord(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, max = 4096): string | undefined {
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

export function parsePeer(v: unknown): PeerInfo | undefined {
  if (!isRecord(v)) return undefined;
  const key = str(v.publicKey) ?? str(v.key) ?? str(v.peer);
  if (!key || !KEY.test(key)) return undefined;
  const state = str(v.state, 64);
  // Trust is what the extension says it is; a peer with no explicit trust is not trusted.
  const peer: PeerInfo = { key, trusted: state !== undefined ? state === 'trusted' : v.trusted === true };
  if (state) peer.state = state;
  const name = str(v.name, 256) ?? str(v.displayName, 256);
  if (name) peer.name = name;
  const fp = str(v.fingerprint, 256);
  if (fp) peer.fingerprint = fp;
  const path = str(v.path, 256);
  if (path) peer.path = path;
  return peer;
}

export function parsePeerList(v: unknown): PeerInfo[] | undefined {
  const list = Array.isArray(v) ? v : isRecord(v) && Array.isArray(v.peers) ? v.peers : undefined;
  if (!list) return undefined;
  return list.map(parsePeer).filter((p): p is PeerInfo => p !== undefined);
}

export function parseConsentRequest(p: JsonObject): ConsentRequest | undefined {
  const requestId = str(p.requestId, 256) ?? str(p.id, 256);
  const peer = parsePeer(isRecord(p.peer) ? p.peer : p);
  if (!requestId || !peer) return undefined;
  const out: ConsentRequest = { requestId, peer: { key: peer.key } };
  if (peer.name) out.peer.name = peer.name;
  if (peer.fingerprint) out.peer.fingerprint = peer.fingerprint;
  if (isRecord(p.keyChanged)) out.previousFingerprint = str(p.keyChanged.previousFingerprint, 256) ?? 'unknown';
  return out;
}

export function parseIncomingMessage(p: JsonObject): IncomingMessage | undefined {
  const from = str(p.from) ?? str(p.peer);
  const messageId = str(p.messageId, 256) ?? str(p.id, 256);
  const text = p.text ?? p.body;
  const data = p.data;
  let msg: IncomingMessage;
  if (!from || !KEY.test(from) || !messageId) return undefined;
  if (typeof text === 'string') msg = { from, messageId, body: text, encoding: 'text' };
  else if (typeof data === 'string') msg = { from, messageId, body: data, encoding: 'base64' };
  else return undefined;
  const fromName = str(p.fromName, 256) ?? str(p.name, 256);
  if (fromName) msg.fromName = fromName;
  return msg;
}

export function parseDelivered(p: JsonObject): DeliveredNotice | undefined {
  const messageId = str(p.messageId, 256) ?? str(p.id, 256);
  if (!messageId) return undefined;
  const to = str(p.to) ?? str(p.peer);
  return to ? { messageId, to } : { messageId };
}

/** `maxContentChars`: the host's approvalContentChars (base64 of its message maximum). */
export function parseFailed(p: JsonObject): FailedNotice | undefined {
  const messageId = str(p.messageId, 256) ?? str(p.id, 256);
  const code = str(p.code, 64);
  if (!messageId || !code || !/^[A-Z][A-Z0-9_]*$/.test(code)) return undefined;
  const to = str(p.to) ?? str(p.peer);
  return to ? { messageId, to, code } : { messageId, code };
}

export function parseIncomingApproval(
  p: JsonObject,
  maxContentChars = DEFAULT_MESSAGE_LIMITS.approvalContentChars,
): IncomingApproval | undefined {
  const approvalId = str(p.approvalId, 256);
  const from = str(p.from);
  const messageId = str(p.id, 256) ?? str(p.messageId, 256);
  const bytes = p.bytes;
  if (!approvalId || !from || !KEY.test(from) || !messageId) return undefined;
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0) return undefined;
  const a: IncomingApproval = { approvalId, from, messageId, bytes, binary: p.enc === 'bytes' };
  const fromName = str(p.name, 256);
  if (fromName) a.fromName = fromName;
  const fp = str(p.fingerprint, 256);
  if (fp) a.fingerprint = fp;
  const preview = str(p.preview, 4096);
  if (preview !== undefined) a.preview = preview;
  const content = a.binary ? str(p.data, maxContentChars) : str(p.text, maxContentChars);
  if (content !== undefined) a.content = content;
  return a;
}

export function parseNameChange(p: JsonObject): NameChangeRequest | undefined {
  const requestId = str(p.requestId, 256);
  const peer = parsePeer(p);
  const proposedName = str(p.proposedName, 256);
  if (!requestId || !peer || !proposedName) return undefined;
  const out: NameChangeRequest = { requestId, peer: { key: peer.key }, proposedName };
  if (peer.name) out.peer.name = peer.name;
  if (peer.fingerprint) out.peer.fingerprint = peer.fingerprint;
  return out;
}

const TRANSFER_ID = /^[0-9a-f]{32}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

function size(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

export function parseFileOffer(p: JsonObject): FileOffer | undefined {
  const id = str(p.id, 64);
  const from = str(p.peer);
  const name = str(p.name, 1024);
  const mediaType = str(p.mediaType, 256);
  const sha256 = str(p.sha256, 64);
  const bytes = size(p.size);
  const note = str(p.note, 4096) ?? '';
  if (!id || !TRANSFER_ID.test(id) || !from || !KEY.test(from) || !name || !mediaType) return undefined;
  if (!sha256 || !SHA256_HEX.test(sha256) || bytes === undefined) return undefined;
  const o: FileOffer = { id, from, name, size: bytes, mediaType, sha256, note };
  const fromName = str(p.from, 256);
  if (fromName) o.fromName = fromName;
  const fp = str(p.fingerprint, 256);
  if (fp) o.fingerprint = fp;
  return o;
}

export function parseFileEnded(p: JsonObject, ok: boolean): FileEnded | undefined {
  const id = str(p.id, 64);
  const peer = str(p.peer);
  const direction = p.direction === 'in' || p.direction === 'out' ? p.direction : undefined;
  if (!id || !TRANSFER_ID.test(id) || !peer || !KEY.test(peer) || !direction) return undefined;
  const e: FileEnded = { id, peer, direction, ok };
  const path = str(p.path, 4096);
  if (path) e.path = path;
  const sha256 = str(p.sha256, 64);
  if (sha256 && SHA256_HEX.test(sha256)) e.sha256 = sha256;
  const bytes = size(p.size);
  if (bytes !== undefined) e.size = bytes;
  const name = str(p.name, 1024);
  if (name) e.name = name;
  const code = str(p.code, 128);
  if (code) e.code = code;
  return e;
}
