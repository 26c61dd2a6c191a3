/**
 * ExtensionClient: the real HostExtension. Spawns the p2p-comm extension as a child process and
 * speaks JSON-RPC 2.0 to it over stdin/stdout (one message per line). The extension's stderr is
 * passed through to ours; it carries the extension's logs, never protocol.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { HostError } from '../errors.js';
import { DEFAULT_MESSAGE_LIMITS, type MessageLimits, messageLimits } from '../message-limits.js';
import {
  type ConnectOutcome,
  type ConnectTarget,
  type ExtensionEvents,
  type HostExtension,
  isRecord,
  type PeerInfo,
  parseConsentRequest,
  parseDelivered,
  parseFailed,
  parseFileEnded,
  parseFileOffer,
  parseIncomingApproval,
  parseIncomingMessage,
  parseNameChange,
  parsePeerList,
} from './api.js';
import {
  type JsonObject,
  JsonRpcConnection,
  type JsonValue,
  type RpcNotification,
  RpcRemoteError,
} from './json-rpc.js';

export interface SpawnExtensionOptions {
  command: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where the extension's stderr goes; default: inherit. */
  stderr?: 'inherit' | 'ignore' | 'pipe';
  timeoutMs?: number;
  /**
   * The host's largest message (config `maxMessageBytes`; default 16 MiB). Given to the
   * extension as P2P_COMM_MAX_LONG_MESSAGE_BYTES so it neither sends nor accepts a larger one,
   * and sizes the JSON-RPC lines and approval content read from it (message-limits.ts).
   */
  maxMessageBytes?: number;
}

/** An error answer from the extension as HOST_ERR_EXTENSION_ERROR (its code in the message). */
function remoteError(method: string, err: unknown): unknown {
  if (!(err instanceof RpcRemoteError)) return err;
  const data = isRecord(err.data) && typeof err.data.code === 'string' ? ` (${err.data.code})` : '';
  return new HostError('HOST_ERR_EXTENSION_ERROR', `${method}: ${err.message}${data}`);
}

export class ExtensionClient extends EventEmitter<ExtensionEvents> implements HostExtension {
  private readonly rpc: JsonRpcConnection;
  /** Resolves when the extension process has exited (or failed to start). */
  readonly exited: Promise<void>;

  private readonly limits: MessageLimits;

  constructor(
    private readonly child: ChildProcess,
    timeoutMs?: number,
    limits: MessageLimits = DEFAULT_MESSAGE_LIMITS,
  ) {
    super();
    if (!child.stdin || !child.stdout) throw new HostError('HOST_ERR_EXTENSION_UNAVAILABLE', 'no stdio');
    this.limits = limits;
    this.rpc = new JsonRpcConnection({
      input: child.stdout,
      output: child.stdin,
      maxLineBytes: limits.rpcLineBytes,
      onNotification: (n) => this.onNotification(n),
      onProtocolError: (d) => this.emit('protocolError', d),
      onLineDropped: (d) => this.emit('lineDropped', d),
      ...(timeoutMs ? { timeoutMs } : {}),
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.rpc.close('extension exited');
        resolve();
      });
      child.once('error', () => {
        this.rpc.close('extension failed to start');
        resolve();
      });
    });
  }

  static spawn(opts: SpawnExtensionOptions): ExtensionClient {
    const [cmd, ...args] = opts.command;
    const limits = opts.maxMessageBytes === undefined ? DEFAULT_MESSAGE_LIMITS : messageLimits(opts.maxMessageBytes);
    const child = spawn(cmd!, args, {
      // Always set, so an inherited different value cannot make the two disagree.
      env: { ...(opts.env ?? process.env), P2P_COMM_MAX_LONG_MESSAGE_BYTES: String(limits.maxMessageBytes) },
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', opts.stderr ?? 'inherit'],
    });
    return new ExtensionClient(child, opts.timeoutMs, limits);
  }

  /** Lines from the extension over the RPC line limit, skipped since start. */
  get linesDropped(): number {
    return this.rpc.linesDropped;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async call(method: string, params: JsonObject = {}): Promise<JsonValue> {
    try {
      return await this.rpc.request(method, params);
    } catch (err) {
      throw remoteError(method, err);
    }
  }

  async identity(): Promise<JsonObject> {
    const r = await this.call('identity.get');
    return isRecord(r) ? r : {};
  }

  async status(): Promise<JsonObject> {
    const r = await this.call('status');
    return isRecord(r) ? r : {};
  }

  async listPeers(): Promise<PeerInfo[]> {
    const peers = parsePeerList(await this.call('peers.list'));
    if (!peers) throw new HostError('HOST_ERR_RPC_PROTOCOL', 'peers.list result');
    return peers;
  }

  async connect(target: ConnectTarget): Promise<ConnectOutcome> {
    try {
      return { kind: 'requested', result: await this.rpc.request('peers.connect', { ...target }) };
    } catch (err) {
      // A known name with a new key: the gateway asks its user instead of failing the plugin.
      if (err instanceof RpcRemoteError && isRecord(err.data) && err.data.code === 'CLIENT_ERR_KEY_CHANGED') {
        const d = err.data;
        const text = (v: unknown) => (typeof v === 'string' && v.length <= 256 ? v : '');
        if (text(d.fingerprint) && text(d.previousFingerprint))
          return {
            kind: 'key-changed',
            name: text(d.name),
            previousFingerprint: text(d.previousFingerprint),
            fingerprint: text(d.fingerprint),
          };
      }
      throw remoteError('peers.connect', err);
    }
  }

  acceptChangedKey(target: ConnectTarget, fingerprint: string): Promise<JsonValue> {
    return this.call('peers.acceptChangedKey', { ...target, fingerprint });
  }

  async respondNameChange(requestId: string, accept: boolean): Promise<void> {
    await this.call('names.respond', { requestId, accept });
  }

  async respondConsent(requestId: string, accept: boolean): Promise<void> {
    await this.call('consent.respond', { requestId, accept });
  }

  async send(to: string, body: string): Promise<{ messageId: string }> {
    const r = await this.call('messages.send', { peer: to, text: body });
    const messageId = isRecord(r) ? (r.messageId ?? r.id) : undefined;
    if (typeof messageId !== 'string') throw new HostError('HOST_ERR_RPC_PROTOCOL', 'messages.send result');
    return { messageId };
  }

  async respondApproval(approvalId: string, allow: boolean): Promise<void> {
    await this.call('approval.respond', { approvalId, allow });
  }

  async sendFile(to: string, path: string, note?: string): Promise<{ transferId: string }> {
    const r = await this.call('files.send', { peer: to, path, ...(note !== undefined ? { note } : {}) });
    const transferId = isRecord(r) ? r.id : undefined;
    if (typeof transferId !== 'string') throw new HostError('HOST_ERR_RPC_PROTOCOL', 'files.send result');
    return { transferId };
  }

  async respondFile(id: string, accept: boolean): Promise<void> {
    await this.call('files.respond', { id, accept });
  }

  listFiles(): Promise<JsonValue> {
    return this.call('files.list');
  }

  /** Ends the extension: closes its stdin (its signal to shut down), then SIGTERM after a grace. */
  async close(graceMs = 3_000): Promise<void> {
    this.rpc.close('host shutting down');
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGTERM'), graceMs);
    const hard = setTimeout(() => this.child.kill('SIGKILL'), graceMs * 2);
    await this.exited;
    clearTimeout(timer);
    clearTimeout(hard);
  }

  private onNotification(n: RpcNotification): void {
    switch (n.method) {
      case 'consent.request': {
        const c = parseConsentRequest(n.params);
        if (c) this.emit('consent', c);
        else this.emit('protocolError', 'bad consent.request');
        return;
      }
      case 'message.received': {
        const m = parseIncomingMessage(n.params);
        if (m) this.emit('message', m);
        else this.emit('protocolError', 'bad message.received');
        return;
      }
      case 'message.delivered': {
        const d = parseDelivered(n.params);
        if (d) this.emit('delivered', d);
        return;
      }
      case 'message.failed': {
        const f = parseFailed(n.params);
        if (f) this.emit('failed', f);
        else this.emit('protocolError', 'bad message.failed');
        return;
      }
      case 'approval.request': {
        const a = parseIncomingApproval(n.params, this.limits.approvalContentChars);
        if (a) this.emit('approval', a);
        else this.emit('protocolError', 'bad approval.request');
        return;
      }
      case 'name.change': {
        const c = parseNameChange(n.params);
        if (c) this.emit('nameChange', c);
        else this.emit('protocolError', 'bad name.change');
        return;
      }
      case 'file.offer': {
        const o = parseFileOffer(n.params);
        if (o) this.emit('fileOffer', o);
        else this.emit('protocolError', 'bad file.offer');
        return;
      }
      case 'file.done':
      case 'file.failed': {
        const e = parseFileEnded(n.params, n.method === 'file.done');
        if (e) this.emit('fileEnded', e);
        else this.emit('protocolError', `bad ${n.method}`);
        return;
      }
      case 'peer.status':
        this.emit('peerStatus', n.params);
        return;
      default:
        // Unknown notifications are ignored: a newer extension may say more than we understand.
        return;
    }
  }
}
