/**
 * An in-memory stand-in for the p2p-comm extension's JSON-RPC interface, for unit tests of the
 * gates. (The end-to-end test drives the real extension process.) Two stubs can be linked so a
 * send on one arrives as `message.received` on the other.
 */
import { EventEmitter } from 'node:events';
import type {
  ConnectOutcome,
  ConnectTarget,
  ExtensionEvents,
  HostExtension,
  PeerInfo,
} from '../../src/extension/api.js';
import type { JsonObject, JsonValue } from '../../src/extension/json-rpc.js';

export function fakeKey(seed: number): string {
  // 32 bytes → 43 base64url characters, like a real Ed25519 public key on the wire.
  return Buffer.alloc(32, seed).toString('base64url');
}

export class StubExtension extends EventEmitter<ExtensionEvents> implements HostExtension {
  readonly sent: { to: string; body: string; messageId: string }[] = [];
  readonly consents: { requestId: string; accept: boolean }[] = [];
  readonly approvalAnswers: { approvalId: string; allow: boolean }[] = [];
  readonly connects: JsonObject[] = [];
  readonly acceptedKeyChanges: JsonObject[] = [];
  readonly nameAnswers: { requestId: string; accept: boolean }[] = [];
  readonly fileAnswers: { id: string; accept: boolean }[] = [];
  readonly filesSent: { to: string; path: string; note?: string }[] = [];
  /** Makes `connect` answer like the extension does for a known name with a new key. */
  keyChangedFor:
    | ((t: ConnectTarget) => { name: string; previousFingerprint: string; fingerprint: string } | undefined)
    | undefined;
  peersList: PeerInfo[] = [];
  private seq = 0;
  private linked: StubExtension | undefined;

  constructor(readonly key: string) {
    super();
  }

  link(other: StubExtension): void {
    this.linked = other;
    other.linked = this;
  }

  async identity(): Promise<JsonObject> {
    return { publicKey: this.key, name: 'stub' };
  }
  async status(): Promise<JsonObject> {
    return { connected: true };
  }
  async listPeers(): Promise<PeerInfo[]> {
    return this.peersList.map((p) => ({ ...p }));
  }
  async connect(target: ConnectTarget): Promise<ConnectOutcome> {
    this.connects.push({ ...target });
    const changed = this.keyChangedFor?.(target);
    if (changed) return { kind: 'key-changed', ...changed };
    return { kind: 'requested', result: { requested: true } };
  }
  async acceptChangedKey(target: ConnectTarget, fingerprint: string): Promise<JsonValue> {
    this.acceptedKeyChanges.push({ ...target, fingerprint });
    return { accepted: true };
  }
  async respondNameChange(requestId: string, accept: boolean): Promise<void> {
    this.nameAnswers.push({ requestId, accept });
  }
  async respondConsent(requestId: string, accept: boolean): Promise<void> {
    this.consents.push({ requestId, accept });
  }
  async send(to: string, body: string): Promise<{ messageId: string }> {
    const messageId = `m${++this.seq}`;
    this.sent.push({ to, body, messageId });
    const peer = this.linked;
    if (peer && peer.key === to) {
      setImmediate(() => peer.emit('message', { encoding: 'text', from: this.key, messageId, body }));
    }
    return { messageId };
  }
  async respondApproval(approvalId: string, allow: boolean): Promise<void> {
    this.approvalAnswers.push({ approvalId, allow });
  }
  async sendFile(to: string, path: string, note?: string): Promise<{ transferId: string }> {
    this.filesSent.push({ to, path, ...(note !== undefined ? { note } : {}) });
    return { transferId: (++this.seq).toString(16).padStart(32, '0') };
  }
  async respondFile(id: string, accept: boolean): Promise<void> {
    this.fileAnswers.push({ id, accept });
  }
  async listFiles(): Promise<JsonValue> {
    return { incoming: [], outgoing: [] };
  }
  async close(): Promise<void> {}
}
