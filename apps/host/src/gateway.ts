/**
 * The gateway's call flow, independent of HTTP (routes only translate). Outgoing, in order:
 * permission → scope → risk → (high risk) runtime approval → extension. Incoming: receive
 * permission → scope → runtime approval → plugin inbox. Each gate writes one audit line; a
 * denial is final for that message and nothing of it reaches the peer or the plugin.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute } from 'node:path';
import { decodeKey, formatFingerprint } from '@p2p-comm/protocol';
import type { ApprovalQueue, ApprovalRequest, ApprovalState } from './approvals/queue.js';
import type { AuditLog } from './audit.js';
import type { HostConfig, PluginConfig } from './config.js';
import {
  APPROVAL_PREVIEW_CHARS,
  FILE_HASH_READ_BYTES,
  MAX_SHARE_CHARS,
  MAX_TRACKED_FILES,
  MAX_TRACKED_SENDS,
  PERMISSION_CONNECT,
  PERMISSION_PEERS,
  PERMISSION_RECEIVE,
  PERMISSION_SEND,
  type Permission,
  RPC_ENVELOPE_BYTES,
} from './constants.js';
import { HostError, type HostErrorCode, isHostError } from './errors.js';
import type {
  ConnectTarget,
  ConsentRequest,
  DeliveredNotice,
  FailedNotice,
  FileEnded,
  FileOffer,
  HostExtension,
  IncomingApproval,
  IncomingMessage,
  NameChangeRequest,
  PeerInfo,
} from './extension/api.js';
import type { DroppedLine, JsonObject, JsonValue } from './extension/json-rpc.js';
import { checkPermission } from './gates/permission.js';
import { type RiskReviewer, type RiskVerdict, reviewSafely } from './gates/risk.js';
import { checkScope, inScope } from './gates/scope.js';
import { Inbox, type InboxItem } from './inbox.js';
import { type MessageLimits, messageLimits } from './message-limits.js';

export interface GatewayDeps {
  config: HostConfig;
  extension: HostExtension;
  approvals: ApprovalQueue;
  audit: AuditLog;
  risk: RiskReviewer;
}

export interface SendResult {
  messageId: string;
  risk: 'low' | 'high';
}

const PEER_KEY = /^[A-Za-z0-9_-]{43}$/;

type AuditBase = { direction: 'in' | 'out'; peer: string; messageId?: string; bytes: number };
type DescribedPeer = { label: string; info: { key: string; name?: string; fingerprint: string } };

export function peerFingerprint(key: string, given?: string): string {
  if (given) return given;
  try {
    return formatFingerprint(decodeKey(key));
  } catch {
    return 'unknown';
  }
}

function preview(body: string): string {
  return body.length > APPROVAL_PREVIEW_CHARS ? `${body.slice(0, APPROVAL_PREVIEW_CHARS)}…` : body;
}

function stateToCode(state: ApprovalState, deniedCode: HostErrorCode): HostErrorCode {
  return state === 'expired' ? 'HOST_ERR_APPROVAL_TIMEOUT' : deniedCode;
}

export class Gateway {
  /** Message-sized limits, all from config `maxMessageBytes` (message-limits.ts). */
  readonly limits: MessageLimits;
  /**
   * Lines from the extension over limits.rpcLineBytes, skipped (each audited with
   * HOST_ERR_RPC_PROTOCOL). A skipped `message.received` is lost to the plugins although the
   * extension counts it delivered; reported in `…/status` as `host.rpcLinesDropped`.
   */
  rpcLinesDropped = 0;
  private readonly inboxes = new Map<string, Inbox>();
  /** Outgoing message id → plugin id, to route `message.delivered` (bounded, oldest evicted). */
  private readonly sentBy = new Map<string, string>();
  private readonly listeners: [string, (...args: never[]) => void][] = [];
  /**
   * Messages already through every incoming gate at `approval.request` time: message id →
   * the sender, a digest of the exact content reviewed, and the receiving plugin ids. The
   * released `message.received` skips the gates only if sender and content match.
   */
  private readonly preApproved = new Map<string, { from: string; digest: string; receivers: string[] }>();
  /**
   * Incoming files the gates let in: transfer id → the offer and its receiving plugins, then
   * (on `file.done`) where it landed. Only these paths are ever read or named to a plugin.
   */
  private readonly files = new Map<
    string,
    { offer: FileOffer; receivers: string[]; fingerprint: string; path?: string }
  >();
  /** Outgoing transfer id → the plugin that sent it. */
  private readonly fileSentBy = new Map<string, string>();

  constructor(private readonly deps: GatewayDeps) {
    this.limits = messageLimits(deps.config.maxMessageBytes);
    for (const p of deps.config.plugins) this.inboxes.set(p.id, new Inbox(undefined, this.limits.inboxBytes));
    const ext = deps.extension;
    const on = <
      K extends
        | 'consent'
        | 'message'
        | 'approval'
        | 'nameChange'
        | 'delivered'
        | 'failed'
        | 'protocolError'
        | 'lineDropped'
        | 'fileOffer'
        | 'fileEnded',
    >(
      event: K,
      fn: (...args: never[]) => void,
    ) => {
      ext.on(event, fn as never);
      this.listeners.push([event, fn]);
    };
    on('consent', (c: ConsentRequest) => void this.onConsent(c));
    on('message', (m: IncomingMessage) => void this.onMessage(m));
    on('approval', (a: IncomingApproval) => void this.onApprovalRequest(a));
    on('nameChange', (c: NameChangeRequest) => void this.onNameChange(c));
    on('delivered', (d: DeliveredNotice) => this.onDelivered(d));
    on('failed', (f: FailedNotice) => this.onFailed(f));
    on('fileOffer', (o: FileOffer) => void this.onFileOffer(o));
    on('fileEnded', (e: FileEnded) => this.onFileEnded(e));
    on('protocolError', (detail: string) =>
      deps.audit.record({ gate: 'rpc', outcome: 'info', code: 'HOST_ERR_RPC_PROTOCOL', detail }),
    );
    // The audit line comes with protocolError; here only the count, and the message id if known.
    on('lineDropped', (d: DroppedLine) => {
      this.rpcLinesDropped++;
      if (d.method === 'message.received' && d.id) {
        deps.audit.record({
          gate: 'deliver',
          outcome: 'deny',
          code: 'HOST_ERR_RPC_PROTOCOL',
          messageId: d.id,
          direction: 'in',
          detail: `message line over ${d.maxLineBytes} bytes; lost`,
        });
      }
    });
  }

  stop(): void {
    for (const [event, fn] of this.listeners) this.deps.extension.off(event as 'message', fn as never);
    for (const inbox of this.inboxes.values()) inbox.cancelWaiters();
  }

  /** Permission gate with its audit line. */
  permit(plugin: PluginConfig, permission: Permission, direction?: 'out' | 'in'): void {
    try {
      checkPermission(plugin, permission);
    } catch (err) {
      this.deny(err, {
        gate: 'permission',
        plugin: plugin.id,
        detail: permission,
        ...(direction ? { direction } : {}),
      });
    }
    this.deps.audit.record({
      gate: 'permission',
      outcome: 'allow',
      plugin: plugin.id,
      detail: permission,
      ...(direction ? { direction } : {}),
    });
  }

  async send(plugin: PluginConfig, to: unknown, body: unknown): Promise<SendResult> {
    const { audit, config, extension } = this.deps;
    this.permit(plugin, PERMISSION_SEND, 'out');
    if (typeof to !== 'string' || !PEER_KEY.test(to)) throw new HostError('HOST_ERR_BAD_REQUEST', 'to: peer key');
    if (typeof body !== 'string') throw new HostError('HOST_ERR_BAD_REQUEST', 'body: string');
    const bytes = Buffer.byteLength(body);
    const { sendBodyBytes, sendLineBytes } = this.limits;
    if (bytes > sendBodyBytes)
      throw new HostError('HOST_ERR_BODY_TOO_LARGE', `${bytes} bytes > maxMessageBytes ${sendBodyBytes}`);
    // The extension reads the body JSON-escaped on one line: refuse here what it would refuse.
    const escaped = Buffer.byteLength(JSON.stringify(body));
    if (escaped > sendLineBytes - RPC_ENVELOPE_BYTES)
      throw new HostError(
        'HOST_ERR_BODY_TOO_LARGE',
        `${escaped} bytes JSON-escaped > ${sendLineBytes - RPC_ENVELOPE_BYTES} (2 × maxMessageBytes)`,
      );
    const base = { direction: 'out' as const, plugin: plugin.id, peer: to, bytes };

    try {
      await checkScope(plugin, to, (k) => this.isTrusted(k));
    } catch (err) {
      this.deny(err, { gate: 'scope', ...base });
    }
    audit.record({ gate: 'scope', outcome: 'allow', ...base });

    const verdict = await reviewSafely(this.deps.risk, { direction: 'out', body, plugin: plugin.id, peer: to });
    audit.record({ gate: 'risk', outcome: 'allow', ...base, detail: `${verdict.level}:${verdict.reasons.join(',')}` });

    if (verdict.level === 'high') {
      const peer = await this.describePeer(to);
      let state: ApprovalState;
      try {
        state = await this.askUser({
          kind: 'send',
          prompt: `${config.userName}'s ${plugin.name} wants to share ${verdict.summary} with ${peer.label} via P2P. Allow?`,
          peer: peer.info,
          plugin: { id: plugin.id, name: plugin.name },
          reasons: verdict.reasons,
          preview: preview(body),
          bytes,
        });
      } catch (err) {
        this.deny(err, { gate: 'approval', ...base });
      }
      if (state !== 'accepted') {
        this.deny(new HostError(stateToCode(state, 'HOST_ERR_RISK_DENIED')), { gate: 'approval', ...base });
      }
      audit.record({ gate: 'approval', outcome: 'allow', ...base });
    }

    let messageId: string;
    try {
      ({ messageId } = await extension.send(to, body));
    } catch (err) {
      this.deny(err, { gate: 'extension', ...base });
    }
    this.track(messageId, plugin.id);
    audit.record({ gate: 'extension', outcome: 'allow', ...base, messageId });
    return { messageId, risk: verdict.level };
  }

  /**
   * A plugin offers a file: permission `send` → scope → risk review of what the peer will see
   * (name, size, note; a file's content is never read by the host) → runtime approval when
   * high risk (by default any file over `highRiskBytes`) → `files.send`.
   */
  async sendFile(plugin: PluginConfig, to: unknown, path: unknown, note: unknown): Promise<{ transferId: string }> {
    const { audit, config, extension } = this.deps;
    this.permit(plugin, PERMISSION_SEND, 'out');
    if (typeof to !== 'string' || !PEER_KEY.test(to)) throw new HostError('HOST_ERR_BAD_REQUEST', 'to: peer key');
    if (typeof path !== 'string' || !isAbsolute(path) || path.length > 4096)
      throw new HostError('HOST_ERR_BAD_REQUEST', 'path: absolute path');
    if (note !== undefined && (typeof note !== 'string' || note.length > 1024))
      throw new HostError('HOST_ERR_BAD_REQUEST', 'note: at most 1024 characters');
    const base = { direction: 'out' as const, plugin: plugin.id, peer: to, detail: 'file' };
    try {
      await checkScope(plugin, to, (k) => this.isTrusted(k));
    } catch (err) {
      this.deny(err, { gate: 'scope', ...base });
    }
    audit.record({ gate: 'scope', outcome: 'allow', ...base });
    let bytes: number;
    try {
      bytes = (await stat(path)).size;
    } catch {
      throw new HostError('HOST_ERR_BAD_REQUEST', 'path: no readable file there');
    }
    // The peer sees the name, the note and the size: those are reviewed (the host never reads the content).
    const body = `file: ${basename(path)}${note ? `\nnote: ${note}` : ''}`;
    const verdict = await reviewSafely(this.deps.risk, { direction: 'out', body, bytes, plugin: plugin.id, peer: to });
    audit.record({
      gate: 'risk',
      outcome: 'allow',
      ...base,
      detail: `file ${verdict.level}:${verdict.reasons.join(',')}`,
    });
    if (verdict.level === 'high') {
      const peer = await this.describePeer(to);
      let state: ApprovalState;
      try {
        state = await this.askUser({
          kind: 'send',
          prompt: `${config.userName}'s ${plugin.name} wants to send the file ${basename(path)} to ${peer.label} via P2P. Allow?`,
          peer: peer.info,
          plugin: { id: plugin.id, name: plugin.name },
          reasons: verdict.reasons,
          preview: `${path}${note ? `\nnote: ${preview(note as string)}` : ''}`,
          bytes,
        });
      } catch (err) {
        this.deny(err, { gate: 'approval', ...base });
      }
      if (state !== 'accepted')
        this.deny(new HostError(stateToCode(state, 'HOST_ERR_RISK_DENIED')), { gate: 'approval', ...base });
      audit.record({ gate: 'approval', outcome: 'allow', ...base });
    }
    let transferId: string;
    try {
      if (!extension.sendFile) throw new HostError('HOST_ERR_EXTENSION_ERROR', 'the extension does not send files');
      ({ transferId } = await extension.sendFile(to, path, note as string | undefined));
    } catch (err) {
      this.deny(err, { gate: 'extension', ...base });
    }
    this.fileSentBy.set(transferId, plugin.id);
    if (this.fileSentBy.size > MAX_TRACKED_FILES) this.fileSentBy.delete(this.fileSentBy.keys().next().value!);
    audit.record({ gate: 'extension', outcome: 'allow', ...base, messageId: transferId });
    return { transferId };
  }

  /** Transfers in progress (the extension's `files.list`), for plugins that may receive. */
  async listFiles(plugin: PluginConfig): Promise<JsonValue> {
    this.permit(plugin, PERMISSION_RECEIVE, 'in');
    const ext = this.deps.extension;
    if (!ext.listFiles) throw new HostError('HOST_ERR_EXTENSION_ERROR', 'the extension does not send files');
    return ext.listFiles();
  }

  /**
   * Where a received file landed and its SHA-256, re-computed now. Only a file this plugin was
   * cleared to receive, only the path the extension reported on `file.done` (an absolute path
   * with no symlink, in the directory named after the sender's key), never anything else.
   */
  async fetchFile(plugin: PluginConfig, id: unknown): Promise<JsonObject> {
    this.permit(plugin, PERMISSION_RECEIVE, 'in');
    if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id))
      throw new HostError('HOST_ERR_BAD_REQUEST', 'id: transfer id');
    const f = this.files.get(id);
    if (!f?.receivers.includes(plugin.id) || !f.path)
      throw new HostError('HOST_ERR_NOT_FOUND', `no received file ${id} for this plugin`);
    let real: string;
    try {
      real = await realpath(f.path);
    } catch {
      throw new HostError('HOST_ERR_NOT_FOUND', `file ${id} is no longer where it landed`);
    }
    if (real !== f.path || basename(dirname(real)) !== f.offer.from)
      throw new HostError('HOST_ERR_NOT_FOUND', `file ${id} was moved or replaced since it landed`);
    const sha256 = await hashFile(real);
    if (sha256 !== f.offer.sha256)
      throw new HostError('HOST_ERR_NOT_FOUND', `file ${id} changed since it landed (SHA-256 differs)`);
    return {
      transferId: id,
      path: real,
      sha256,
      size: f.offer.size,
      name: f.offer.name,
      mediaType: f.offer.mediaType,
      from: f.offer.from,
      ...(f.offer.fromName ? { fromName: f.offer.fromName } : {}),
    };
  }

  /**
   * A peer offers a file: the same incoming gates as a message, on what the offer says (name,
   * media type, size, note, SHA-256) — receive permission → scope → risk → runtime approval —
   * before `files.respond`; a denial declines it and not a byte flows.
   */
  private async onFileOffer(o: FileOffer): Promise<void> {
    const base = { direction: 'in' as const, peer: o.from, messageId: o.id, bytes: o.size };
    const receivers = await this.receiversFor(o.from, base);
    let allowed = false;
    let fingerprint = peerFingerprint(o.from, o.fingerprint);
    if (receivers.length > 0) {
      const r = await this.approveIncoming(
        {
          from: o.from,
          // What the offer says is reviewed (name, type, note; size against highRiskBytes); the
          // hash is shown to the user but not reviewed (64 hex digits look like a secret).
          body: `file: ${o.name}\ntype: ${o.mediaType}${o.note ? `\nnote: ${o.note}` : ''}`,
          bytes: o.size,
          binary: false,
          receivers,
          ...(o.fromName ? { fromName: o.fromName } : {}),
        },
        base,
        { name: o.name, mediaType: o.mediaType, sha256: o.sha256, note: o.note },
      );
      allowed = r.allowed;
      fingerprint = r.peer.info.fingerprint;
    }
    if (allowed) {
      this.files.set(o.id, { offer: o, receivers: receivers.map((p) => p.id), fingerprint });
      if (this.files.size > MAX_TRACKED_FILES) this.files.delete(this.files.keys().next().value!);
    }
    try {
      await this.deps.extension.respondFile?.(o.id, allowed);
    } catch (err) {
      this.deps.audit.record({
        gate: 'extension',
        outcome: 'info',
        ...base,
        code: codeOf(err),
        detail: 'files.respond',
      });
    }
  }

  /** A transfer ended: a landed file goes to the inboxes of the plugins cleared for it. */
  private onFileEnded(e: FileEnded): void {
    if (e.direction === 'out') {
      const pluginId = this.fileSentBy.get(e.id);
      if (!pluginId) return;
      this.fileSentBy.delete(e.id);
      const plugin = this.deps.config.plugins.find((p) => p.id === pluginId);
      if (plugin?.permissions.includes(PERMISSION_RECEIVE))
        this.inboxes.get(pluginId)!.push({ type: 'delivered', messageId: e.id, to: e.peer });
      return;
    }
    const f = this.files.get(e.id);
    if (!f || f.offer.from !== e.peer) return;
    if (!e.ok || !e.path || e.sha256 !== f.offer.sha256) {
      this.files.delete(e.id);
      return;
    }
    f.path = e.path;
    const item: InboxItem = {
      type: 'file',
      messageId: e.id,
      transferId: e.id,
      from: f.offer.from,
      fingerprint: f.fingerprint,
      name: f.offer.name,
      size: f.offer.size,
      mediaType: f.offer.mediaType,
      sha256: f.offer.sha256,
      note: f.offer.note,
      receivedAt: new Date().toISOString(),
      ...(f.offer.fromName ? { fromName: f.offer.fromName } : {}),
    };
    for (const id of f.receivers) {
      this.inboxes.get(id)?.push(item);
      this.deps.audit.record({
        gate: 'deliver',
        outcome: 'allow',
        direction: 'in',
        peer: e.peer,
        messageId: e.id,
        bytes: f.offer.size,
        plugin: id,
        detail: 'file',
      });
    }
  }

  async read(plugin: PluginConfig, max: number, waitMs: number): Promise<InboxItem[]> {
    this.permit(plugin, PERMISSION_RECEIVE, 'in');
    return this.inboxes.get(plugin.id)!.take(max, waitMs);
  }

  async peers(plugin: PluginConfig): Promise<(PeerInfo & { fingerprint: string; inScope: boolean })[]> {
    this.permit(plugin, PERMISSION_PEERS);
    const peers = await this.deps.extension.listPeers();
    const trusted = new Set(peers.filter((p) => p.trusted).map((p) => p.key));
    return Promise.all(
      peers.map(async (p) => ({
        ...p,
        fingerprint: peerFingerprint(p.key, p.fingerprint),
        inScope: await inScope(plugin, p.key, async (k) => trusted.has(k)),
      })),
    );
  }

  async status(plugin: PluginConfig): Promise<JsonObject> {
    this.permit(plugin, PERMISSION_PEERS);
    const [identity, status] = await Promise.all([this.deps.extension.identity(), this.deps.extension.status()]);
    return {
      identity,
      status,
      host: { maxMessageBytes: this.limits.maxMessageBytes, rpcLinesDropped: this.rpcLinesDropped },
    };
  }

  /**
   * A plugin asks to connect to a peer. Only `share` or `key` is forwarded (an allow-list: flags
   * such as `acceptChangedKey` never reach the extension from a plugin). A key the user has
   * not trusted yet is the user's decision: the plugin's request waits on the approval page or
   * terminal, and only then does the extension ask the peer (whose user decides in turn). If
   * the extension answers that a known name arrived with a new key, the user is asked again,
   * with both fingerprints; only that Accept calls `peers.acceptChangedKey`.
   */
  async connect(plugin: PluginConfig, params: JsonObject): Promise<JsonValue> {
    this.permit(plugin, PERMISSION_CONNECT, 'out');
    const target = connectTarget(params);
    const { key, name } = describeTarget(target);
    const { audit, config, extension } = this.deps;
    const fingerprint = peerFingerprint(key);
    const peer = { key, fingerprint, ...(name ? { name } : {}) };
    const ask = async (req: { prompt: string; reasons: string[] }, detail: string, deniedCode: HostErrorCode) => {
      const line = { gate: 'approval' as const, plugin: plugin.id, direction: 'out' as const, peer: key, detail };
      let state: ApprovalState;
      try {
        state = await this.askUser({ kind: 'connect', peer, plugin: { id: plugin.id, name: plugin.name }, ...req });
      } catch (err) {
        this.deny(err, line);
      }
      if (state !== 'accepted') this.deny(new HostError(stateToCode(state, deniedCode)), line);
      audit.record({ ...line, outcome: 'allow' });
    };

    if (!(await this.isTrusted(key))) {
      const label = name ? `"${name}"` : `a new peer`;
      await ask(
        {
          prompt: `${config.userName}'s ${plugin.name} wants to connect to ${label}. Fingerprint: ${fingerprint}. Allow?`,
          reasons: [],
        },
        'connect',
        'HOST_ERR_CONNECT_DENIED',
      );
    }
    const outcome = await extension.connect(target);
    if (outcome.kind === 'requested') {
      audit.record({ gate: 'extension', outcome: 'allow', plugin: plugin.id, peer: key, detail: 'peers.connect' });
      return outcome.result;
    }
    const label = outcome.name ? `"${outcome.name}"` : 'a known peer';
    await ask(
      {
        prompt: `WARNING: ${config.userName}'s ${plugin.name} asks to connect to ${label} with a DIFFERENT KEY. Before: ${outcome.previousFingerprint}. Now: ${outcome.fingerprint}. Trust the new key?`,
        reasons: ['key-changed'],
      },
      'key-changed',
      'HOST_ERR_KEY_CHANGE_DENIED',
    );
    const result = await extension.acceptChangedKey(target, outcome.fingerprint);
    audit.record({
      gate: 'extension',
      outcome: 'allow',
      plugin: plugin.id,
      peer: key,
      detail: 'peers.acceptChangedKey',
    });
    return result;
  }

  /** A trusted peer proposes another display name: only the local user can accept it. */
  private async onNameChange(c: NameChangeRequest): Promise<void> {
    const { audit, extension } = this.deps;
    const fingerprint = peerFingerprint(c.peer.key, c.peer.fingerprint);
    const label = c.peer.name ? c.peer.name : `Peer ${fingerprint.slice(0, 23)}`;
    let state: ApprovalState;
    try {
      state = await this.askUser({
        kind: 'rename',
        prompt: `${label} (fingerprint ${fingerprint}) asks to be shown as "${c.proposedName}". Allow?`,
        peer: { ...c.peer, fingerprint },
        reasons: [],
      });
    } catch {
      state = 'denied';
    }
    const accept = state === 'accepted';
    audit.record({
      gate: 'approval',
      outcome: accept ? 'allow' : 'deny',
      direction: 'in',
      peer: c.peer.key,
      detail: 'rename',
      ...(accept ? {} : { code: stateToCode(state, 'HOST_ERR_RECEIVE_DENIED') }),
    });
    try {
      await extension.respondNameChange(c.requestId, accept);
    } catch (err) {
      audit.record({
        gate: 'extension',
        outcome: 'info',
        peer: c.peer.key,
        code: codeOf(err),
        detail: 'names.respond',
      });
    }
  }

  /** A peer asks to connect: the user decides, the extension is told. */
  private async onConsent(c: ConsentRequest): Promise<void> {
    const { audit, extension } = this.deps;
    const fingerprint = peerFingerprint(c.peer.key, c.peer.fingerprint);
    const label = c.peer.name ? `${c.peer.name}` : `Peer ${c.peer.key.slice(0, 8)}…`;
    const prompt = c.previousFingerprint
      ? `WARNING: ${label} now has a DIFFERENT KEY. Before: ${c.previousFingerprint}. Now: ${fingerprint}. Accept the new key?`
      : `${label} wants to connect. Fingerprint: ${fingerprint}. Accept?`;
    let state: ApprovalState;
    try {
      state = await this.askUser({
        kind: 'consent',
        prompt,
        peer: { ...c.peer, fingerprint },
        reasons: c.previousFingerprint ? ['key-changed'] : [],
      });
    } catch {
      state = 'denied';
    }
    const accept = state === 'accepted';
    audit.record({
      gate: 'consent',
      outcome: accept ? 'allow' : 'deny',
      direction: 'in',
      peer: c.peer.key,
      ...(accept ? {} : { code: stateToCode(state, 'HOST_ERR_RECEIVE_DENIED') }),
    });
    try {
      await extension.respondConsent(c.requestId, accept);
    } catch (err) {
      audit.record({
        gate: 'extension',
        outcome: 'info',
        peer: c.peer.key,
        code: codeOf(err),
        detail: 'consent.respond',
      });
    }
  }

  /** Plugins that hold `receive` and have this peer in scope (one audit line per refusal). */
  private async receiversFor(from: string, base: AuditBase): Promise<PluginConfig[]> {
    const { audit, config } = this.deps;
    const receivers: PluginConfig[] = [];
    let trustedCache: boolean | undefined;
    const isTrusted = async (k: string) => {
      trustedCache ??= await this.isTrusted(k);
      return trustedCache;
    };
    for (const plugin of config.plugins) {
      if (!plugin.permissions.includes(PERMISSION_RECEIVE)) continue;
      if (await inScope(plugin, from, isTrusted)) receivers.push(plugin);
      else audit.record({ gate: 'scope', outcome: 'deny', ...base, plugin: plugin.id, code: 'HOST_ERR_SCOPE_DENIED' });
    }
    if (receivers.length === 0) {
      audit.record({ gate: 'permission', outcome: 'deny', ...base, code: 'HOST_ERR_NO_RECIPIENT' });
    } else {
      audit.record({ gate: 'scope', outcome: 'allow', ...base, detail: receivers.map((p) => p.id).join(',') });
    }
    return receivers;
  }

  /** Risk review and, when policy or risk says so, the user's runtime approval. */
  private async approveIncoming(
    input: {
      from: string;
      fromName?: string;
      body: string;
      bytes: number;
      binary: boolean;
      receivers: PluginConfig[];
      /** Only a preview was available: the review could not see everything. */
      unreviewed?: boolean;
    },
    base: AuditBase,
    file?: { name: string; mediaType: string; sha256: string; note: string },
  ): Promise<{ allowed: boolean; peer: DescribedPeer }> {
    const { audit, config } = this.deps;
    const verdict = input.unreviewed
      ? UNREVIEWED
      : await reviewSafely(this.deps.risk, {
          direction: 'in',
          body: input.body,
          bytes: input.bytes,
          binary: input.binary,
          peer: input.from,
        });
    audit.record({ gate: 'risk', outcome: 'allow', ...base, detail: `${verdict.level}:${verdict.reasons.join(',')}` });
    const peer = await this.describePeer(input.from, input.fromName);
    if (config.incomingApproval !== 'always' && verdict.level !== 'high') return { allowed: true, peer };
    const to = input.receivers.map((p) => p.name).join(', ');
    let state: ApprovalState;
    try {
      state = await this.askUser({
        kind: 'receive',
        prompt: file
          ? `${peer.label} wants to send the file "${file.name}" (${file.mediaType}, ${input.bytes} bytes) to your ${to}. Allow?`
          : `${peer.label} wants to send ${verdict.summary} to your ${to}. Allow?`,
        peer: peer.info,
        reasons: verdict.reasons,
        ...(file
          ? { preview: preview(`sha256 ${file.sha256}${file.note ? `\nnote: ${file.note}` : ''}`) }
          : input.binary
            ? {}
            : { preview: preview(input.body) }),
        bytes: input.bytes,
      });
    } catch (err) {
      audit.record({ gate: 'approval', outcome: 'deny', ...base, code: codeOf(err) });
      return { allowed: false, peer };
    }
    if (state !== 'accepted') {
      audit.record({ gate: 'approval', outcome: 'deny', ...base, code: stateToCode(state, 'HOST_ERR_RECEIVE_DENIED') });
      return { allowed: false, peer };
    }
    audit.record({ gate: 'approval', outcome: 'allow', ...base });
    return { allowed: true, peer };
  }

  /**
   * The extension holds an incoming message and asks (`--approve` mode): the host runs its
   * incoming gates on the whole content (not the preview) before the message is released.
   * An extension that sends no content, or content that disagrees with the declared size,
   * gets a review of nothing: the message is high risk and a person must look.
   */
  private async onApprovalRequest(a: IncomingApproval): Promise<void> {
    const base = { direction: 'in' as const, peer: a.from, messageId: a.messageId, bytes: a.bytes };
    const receivers = await this.receiversFor(a.from, base);
    const content = a.content !== undefined && contentBytes(a.content, a.binary) === a.bytes ? a.content : undefined;
    let allowed = false;
    if (receivers.length > 0) {
      allowed = (
        await this.approveIncoming(
          {
            from: a.from,
            body: content ?? a.preview ?? '',
            bytes: a.bytes,
            binary: a.binary,
            receivers,
            ...(content === undefined ? { unreviewed: true } : {}),
            ...(a.fromName ? { fromName: a.fromName } : {}),
          },
          base,
        )
      ).allowed;
    }
    if (allowed) {
      this.preApproved.set(a.messageId, {
        from: a.from,
        // Without the content there is nothing to bind: the released message runs every gate.
        digest: content === undefined ? '' : digestOf(content),
        receivers: receivers.map((p) => p.id),
      });
      if (this.preApproved.size > MAX_TRACKED_SENDS) this.preApproved.delete(this.preApproved.keys().next().value!);
    }
    try {
      await this.deps.extension.respondApproval(a.approvalId, allowed);
    } catch (err) {
      this.deps.audit.record({
        gate: 'extension',
        outcome: 'info',
        ...base,
        code: codeOf(err),
        detail: 'approval.respond',
      });
    }
  }

  /** Incoming data: receive permission → scope → risk → runtime approval → inboxes. */
  private async onMessage(m: IncomingMessage): Promise<void> {
    const bytes = Buffer.byteLength(m.body);
    const base = { direction: 'in' as const, peer: m.from, messageId: m.messageId, bytes };
    const approved = this.preApproved.get(m.messageId);
    if (approved) this.preApproved.delete(m.messageId);
    // The same sender and byte-for-byte the content the gates judged, or it runs them again.
    const approvedFor =
      approved && approved.digest !== '' && approved.from === m.from && approved.digest === digestOf(m.body)
        ? approved.receivers
        : undefined;
    let receivers: PluginConfig[];
    let peer: DescribedPeer;
    if (approvedFor) {
      // Already through every incoming gate at approval.request time.
      receivers = this.deps.config.plugins.filter((p) => approvedFor.includes(p.id));
      peer = await this.describePeer(m.from, m.fromName);
    } else {
      receivers = await this.receiversFor(m.from, base);
      if (receivers.length === 0) return;
      const r = await this.approveIncoming(
        {
          from: m.from,
          body: m.body,
          bytes,
          binary: m.encoding === 'base64',
          receivers,
          ...(m.fromName ? { fromName: m.fromName } : {}),
        },
        base,
      );
      if (!r.allowed) return;
      peer = r.peer;
    }
    const item: InboxItem = {
      type: 'message',
      messageId: m.messageId,
      from: m.from,
      fingerprint: peer.info.fingerprint,
      body: m.body,
      encoding: m.encoding,
      receivedAt: new Date().toISOString(),
      ...(peer.info.name ? { fromName: peer.info.name } : {}),
    };
    for (const plugin of receivers) {
      const dropped = this.inboxes.get(plugin.id)!.push(item);
      this.deps.audit.record({ gate: 'deliver', outcome: 'allow', ...base, plugin: plugin.id });
      if (dropped > 0) {
        this.deps.audit.record({
          gate: 'deliver',
          outcome: 'info',
          plugin: plugin.id,
          code: 'HOST_ERR_INBOX_OVERFLOW',
          detail: `${dropped}`,
        });
      }
    }
  }

  private onDelivered(d: DeliveredNotice): void {
    const pluginId = this.sentBy.get(d.messageId);
    if (!pluginId) return;
    const plugin = this.deps.config.plugins.find((p) => p.id === pluginId);
    // Delivery receipts go to the sender only if it may also receive.
    if (plugin?.permissions.includes(PERMISSION_RECEIVE)) {
      this.inboxes.get(pluginId)!.push({ type: 'delivered', messageId: d.messageId, ...(d.to ? { to: d.to } : {}) });
    }
  }

  /**
   * The extension gave up on a sent message (trust ended; a long message refused by the peer:
   * over its maximum, not trusted, a transfer failure). The sender plugin gets a `failed` item,
   * if it may receive, so a long message never just goes quiet.
   */
  private onFailed(f: FailedNotice): void {
    const pluginId = this.sentBy.get(f.messageId);
    if (!pluginId) return;
    this.deps.audit.record({
      gate: 'extension',
      outcome: 'info',
      direction: 'out',
      plugin: pluginId,
      messageId: f.messageId,
      ...(f.to ? { peer: f.to } : {}),
      detail: `failed: ${f.code}`,
    });
    const plugin = this.deps.config.plugins.find((p) => p.id === pluginId);
    if (plugin?.permissions.includes(PERMISSION_RECEIVE)) {
      this.inboxes
        .get(pluginId)!
        .push({ type: 'failed', messageId: f.messageId, code: f.code, ...(f.to ? { to: f.to } : {}) });
    }
  }

  private track(messageId: string, pluginId: string): void {
    this.sentBy.set(messageId, pluginId);
    if (this.sentBy.size > MAX_TRACKED_SENDS) this.sentBy.delete(this.sentBy.keys().next().value!);
  }

  private async askUser(req: ApprovalRequest): Promise<ApprovalState> {
    return this.deps.approvals.ask(req).decision;
  }

  private async isTrusted(key: string): Promise<boolean> {
    try {
      const peers = await this.deps.extension.listPeers();
      return peers.some((p) => p.key === key && p.trusted);
    } catch {
      return false; // fail closed: if we can't ask, the peer is not in scope
    }
  }

  private async describePeer(key: string, nameHint?: string): Promise<DescribedPeer> {
    let known: PeerInfo | undefined;
    try {
      known = (await this.deps.extension.listPeers()).find((p) => p.key === key);
    } catch {
      known = undefined;
    }
    const name = known?.name ?? nameHint;
    const fingerprint = peerFingerprint(key, known?.fingerprint);
    return {
      label: name ?? `Peer ${fingerprint.slice(0, 23)}`,
      info: name ? { key, name, fingerprint } : { key, fingerprint },
    };
  }

  /** Records a denial for a gate and rethrows it as a HostError. */
  private deny(err: unknown, line: Omit<Parameters<AuditLog['record']>[0], 'outcome' | 'code'>): never {
    const e = isHostError(err) ? err : new HostError('HOST_ERR_INTERNAL');
    this.deps.audit.record({ ...line, outcome: 'deny', code: e.code });
    throw e;
  }
}

/** The verdict when the content could not be reviewed: a person must look (fail closed). */
const UNREVIEWED: RiskVerdict = {
  level: 'high',
  reasons: ['unreviewed'],
  summary: 'a message the content review could not see in full',
};

function digestOf(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('base64url');
}

/** Bytes of a message body: UTF-8 of the text, or the decoded size of base64. */
function contentBytes(content: string, binary: boolean): number {
  return binary ? Buffer.from(content, 'base64').length : Buffer.byteLength(content, 'utf8');
}

const CONNECT_KEY = /^[A-Za-z0-9_-]{43}$/;
const SHARE_KEY = /^p2p-comm:\/\/([A-Za-z0-9_-]{43})(?:@[^?]*)?(?:\?(.*))?$/;
/** Characters a name must not carry into a prompt: controls, bidi and zero-width. */
const INVISIBLE = /[\p{Cc}\p{Cf}]/gu;

/**
 * The key (and the name a share string claims, for the prompt only) of a connect target.
 * The extension parses the share again and is the authority; this is what the user is shown.
 */
function describeTarget(target: ConnectTarget): { key: string; name?: string } {
  if ('key' in target) return { key: target.key };
  const m = SHARE_KEY.exec(target.share.trim());
  if (!m) throw new HostError('HOST_ERR_BAD_REQUEST', 'share: p2p-comm://<key>[@host:port][?name=…]');
  let name: string | undefined;
  try {
    name = new URLSearchParams(m[2] ?? '').get('name')?.replace(INVISIBLE, '').trim().slice(0, 64) || undefined;
  } catch {
    name = undefined;
  }
  return { key: m[1]!, ...(name ? { name } : {}) };
}

/** The allow-list of a plugin's connect request: exactly one of `share` or `key`. */
function connectTarget(params: JsonObject): ConnectTarget {
  const share = params.share;
  const key = params.key;
  if (typeof share === 'string' && key === undefined && share.length > 0 && share.length <= MAX_SHARE_CHARS)
    return { share };
  if (typeof key === 'string' && share === undefined && CONNECT_KEY.test(key)) return { key };
  throw new HostError('HOST_ERR_BAD_REQUEST', `exactly one of share (1..${MAX_SHARE_CHARS} chars) or key`);
}

function codeOf(err: unknown): HostErrorCode {
  return isHostError(err) ? err.code : 'HOST_ERR_INTERNAL';
}

/** SHA-256 (hex) of a file, streamed. */
function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: FILE_HASH_READ_BYTES })
      .on('data', (d) => h.update(d))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}
