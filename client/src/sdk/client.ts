import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { encodeKey, formatFingerprint, type Identity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { MAX_MESSAGE_BYTES } from '../constants.js';
import { ClientError } from '../errors.js';
import { InboxState } from '../session/inbox-state.js';
import { Outbox } from '../session/outbox.js';
import { PersistentPrekeyReplay } from '../session/prekey-replay-store.js';
import { chosenByUser, openPersistentReplayGuard } from '../session/replay-store.js';
import { sendWindowBytes } from '../session/send-window.js';
import { type OutgoingBody, Session, type SessionEvents } from '../session/session.js';
import { formatShare, parseShare } from '../share.js';
import { displayLabel } from '../store/display-name.js';
import { HomeLock } from '../store/home-lock.js';
import { IdentityStore } from '../store/identity-store.js';
import { OwnPrekeys } from '../store/own-prekeys.js';
import { storePaths } from '../store/paths.js';
import { PeerPrekeys } from '../store/peer-prekeys.js';
import { TrustStore } from '../store/trust-store.js';
import { type ConnectFailure, unreachableError } from '../transports/connect-failure.js';
import { PathUpgrader } from '../transports/direct-paths.js';
import { PathManager } from '../transports/path-manager.js';
import { RelayTransport } from '../transports/relay.js';
import { type ConnectionState, RendezvousConnection } from '../transports/rendezvous-connection.js';
import { type ClientConfig, type ClientInit, validateClientInit } from './config.js';
import { type ClientFileEvents, ClientFiles, type SendFileParams } from './files-wiring.js';

/** Server refusals that retrying cannot fix; others (draining, busy) are waited out. */
const FINAL_REFUSALS: ReadonlySet<string> = new Set([
  'RDV_ERR_ADMISSION_DENIED',
  'RDV_ERR_AUTH_FAILED',
  // The server does not serve the name we dialed: only another URL (or its PUBLIC_ORIGINS) helps.
  'RDV_ERR_WRONG_ORIGIN',
  'RDV_ERR_AUTH_BLOCKED',
  'RDV_ERR_REPLACED',
]);

export interface ClientEvents extends SessionEvents, ClientFileEvents {
  'server.status': [{ state: ConnectionState; detail: string }];
}

export interface IdentityInfo {
  key: string;
  fingerprint: string;
  name: string;
  share: string;
}

/**
 * The p2p-comm client as a library. Construction has no side effects; `start()` takes the
 * NEXUS_HOME lock, loads (or creates) the identity and state, and dials the rendezvous
 * server; `stop()` undoes all of it.
 *
 * @example
 *   const client = createClient({ home: '/home/me/.nexus', server: 'ws://127.0.0.1:8080' });
 *   client.on('consent.request', (r) => client.respondConsent(r.requestId, true));
 *   client.on('message.received', (m) => console.log(m.name, m.text));
 *   await client.start();
 *   client.connect('p2p-comm://…@127.0.0.1:8080?name=Bob');
 *   client.send('Bob', { text: 'hello' });
 */
export class P2PClient extends EventEmitter<ClientEvents> {
  readonly config: ClientConfig;
  #session: Session | null = null;
  #identity: Identity | null = null;
  #identityStore: IdentityStore;
  #name = '';
  #trust: TrustStore | null = null;
  #outbox: Outbox | null = null;
  #lock: HomeLock | null = null;
  #paths: PathManager | null = null;
  #conn: RendezvousConnection | null = null;
  #upgrader: PathUpgrader | null = null;
  #files: ClientFiles | null = null;

  constructor(init: ClientInit) {
    super();
    this.config = validateClientInit(init);
    this.#identityStore = new IdentityStore(storePaths(this.config.home));
  }

  /** The path manager, for direct/WebRTC transports to offer links (after start). */
  get paths(): PathManager {
    return this.#need(this.#paths);
  }

  /** Direct/WebRTC/mDNS path upgrades (after start). */
  get upgrader(): PathUpgrader {
    return this.#need(this.#upgrader);
  }

  /** The rendezvous connection (signalling for other transports), null when offline. */
  get rendezvous(): RendezvousConnection | null {
    return this.#conn;
  }

  get identity(): Identity {
    return this.#need(this.#identity);
  }

  get session(): Session {
    return this.#need(this.#session);
  }

  /** File transfers (after start): list, respond, cancel; `sendFile` below offers one. */
  get files(): ClientFiles {
    return this.#need(this.#files);
  }

  /** Offer a file of any size to a trusted peer; `file.*` events follow (sdk/files-wiring.ts). */
  sendFile(peer: string, path: string, opts: SendFileParams = {}) {
    return this.files.send(peer, path, opts);
  }

  #need<T>(v: T | null): T {
    if (v === null) throw new ClientError('CLIENT_ERR_NOT_STARTED');
    return v;
  }

  async start(): Promise<void> {
    if (this.#session) return;
    const paths = storePaths(this.config.home);
    const lock = new HomeLock(paths.stateDir);
    lock.acquire();
    try {
      const local = this.#identityStore.loadOrCreate();
      this.#identity = local.identity;
      this.#name = local.name;
      this.#trust = new TrustStore(paths);
      this.#outbox = new Outbox(paths.stateDir);
      const inbox = new InboxState(paths.stateDir);
      const trustStore = this.#trust;
      // Strangers get a small replay budget of their own: nothing they send changes how the
      // peers the user chose are judged (replay-guard.ts).
      const replayGuard = openPersistentReplayGuard(paths.stateDir, {
        isTrusted: (key) => chosenByUser(trustStore.get(key)?.state),
      });
      const pathManager = new PathManager((from, envelope, via) => this.#session?.receive(from, envelope, via));
      this.#paths = pathManager;
      // v2 prekeys: our bundles (secrets 0600 beside the other state), the peers' bundles and
      // send sequences, and the replay guard of what we accepted (all durable).
      const prekeys = {
        own: new OwnPrekeys(join(paths.stateDir, 'prekeys.json'), nodeSuite, local.identity),
        peers: new PeerPrekeys(paths.stateDir, nodeSuite),
        replay: new PersistentPrekeyReplay(paths.stateDir),
      };
      const session = new Session({
        now: this.config.now,
        sessionTimings: this.config.sessionTimings,
        prekeys,
        fetchPrekeyBundle: (key) => {
          const conn = this.#conn;
          return conn?.isConnected ? conn.fetchPrekeyBundle(key) : Promise.resolve(null);
        },
        onOwnBundle: (bundle) => this.#publishBundle(bundle),
        suite: nodeSuite,
        identity: local.identity,
        localName: () => this.#name,
        trust: this.#trust,
        outbox: this.#outbox,
        inbox,
        replayGuard,
        transmit: (peer, envelope) => pathManager.send(peer, envelope),
        pathStatus: (peer) => pathManager.status(peer),
        requireApproval: this.config.requireApproval,
        consentTtlMs: this.config.consentTtlMs,
        mailboxResendAfterMs: this.config.mailboxResendAfterMs,
        // Bounded by bytes too, so a burst of large messages never overfills the receiver's
        // queue at the relay (which drops slow readers); smaller if the server says so.
        sendWindowBytes: () => sendWindowBytes(this.#conn?.welcome?.sendQueueMaxBytes ?? null),
      });
      for (const ev of [
        'consent.request',
        'message.received',
        'message.delivered',
        'message.failed',
        'peer.status',
        'approval.request',
        'name.change',
        'rejected',
      ] as const) {
        // Re-emit session events unchanged; the two event maps share these names and payloads.
        (session.on as (e: string, h: (p: unknown) => void) => Session)(ev, (payload) =>
          (this.emit as (e: string, p: unknown) => boolean)(ev, payload),
        );
      }
      pathManager.onPathChange((peer, best, before) => {
        session.pathChanged(peer);
        this.#files?.engine.pathChanged(peer, PathManager.fellBack(before, best));
        // A direct or WebRTC link means the peer is online: what waits in its mailbox is resent too.
        session.kick(peer, best === 'direct' || best === 'webrtc');
      });
      // Ack progress tells the path manager whether its best path still delivers: a stall moves
      // traffic to the next path at once (path-manager.ts), without waiting for heartbeats.
      // Outgoing file chunks count as well: their progress is the recipient's credit.
      pathManager.trackProgress(
        (peer) =>
          (this.#outbox?.pending(peer).length ?? 0) > 0 || (this.#files?.engine.awaitingProgress(peer) ?? false),
      );
      session.on('message.delivered', (d) => pathManager.ackProgress(d.to));
      this.#session = session;
      this.#lock = lock;
      if (this.config.server) {
        const conn = new RendezvousConnection({
          url: this.config.server,
          identity: local.identity,
          suite: nodeSuite,
          token: this.config.token,
          replaced: this.config.replaced,
          ...(this.config.mailboxTtlMs !== null ? { mailboxTtlMs: this.config.mailboxTtlMs } : {}),
        });
        const relay = new RelayTransport(conn, (link) => pathManager.addLink(link));
        pathManager.addProvider(relay);
        // RDV_ERR_RECIPIENT_BUSY: the peer reads slower than we send; back off, nothing is lost.
        conn.on('recipient-busy', (to) => session.recipientBusy(encodeKey(to)));
        // QUEUED: stored in the offline peer's mailbox, parked (no timer resends); delivered: it is online.
        conn.on('frame-ack', (to, id, queued) =>
          session.relayAnswered(encodeKey(to), Buffer.from(id).toString('hex'), queued),
        );
        // PEER_OFFLINE for a live-only (session) packet: resend under the prekey, to the mailbox.
        conn.on('peer-offline', (to) => session.peerOffline(encodeKey(to)));
        conn.on('state', (state, detail) => {
          this.emit('server.status', { state, detail });
          if (state === 'connected') {
            const bundle = session.ownBundle();
            if (bundle) this.#publishBundle(bundle);
            session.kickAll();
          }
        });
        this.#conn = conn;
        conn.start();
      }
      const trust = this.#trust;
      const pc = this.config.paths;
      const upgrader = new PathUpgrader({
        suite: nodeSuite,
        identity: local.identity,
        paths: pathManager,
        conn: this.#conn,
        isTrusted: (key) => trust.get(key)?.state === 'trusted',
        listen: pc.listen ?? null,
        webrtc: pc.webrtc ?? true,
        mdns: pc.mdns === true ? {} : pc.mdns || false,
        addressPolicy: {
          allowLoopback: pc.allowLoopbackAddresses === true,
          allowLinkLocal: pc.allowLinkLocalAddresses === true,
        },
        ...(pc.timings ? { timings: pc.timings } : {}),
        onStatus: (peer) => session.pathChanged(peer),
      });
      this.#upgrader = upgrader;
      await upgrader.start();
      session.start();
      this.#files = new ClientFiles({
        session,
        stateDir: paths.stateDir,
        inboxDir: this.config.filesInbox ?? join(this.config.home, 'inbox'),
        bestPath: (peer) => pathManager.best(peer)?.kind,
        relayAllowanceBytes: () => this.#conn?.welcome?.relayAllowanceBytes ?? null,
        relayRateBytesPerS: () => this.#conn?.welcome?.rateBytesPerS ?? null,
        emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
        maxLongMessageBytes: this.config.maxLongMessageBytes,
        emitMessage: {
          delivered: (d) => this.emit('message.delivered', d),
          failed: (f) => this.emit('message.failed', f),
        },
      });
      this.#files.engine.on('progress', (p) => {
        if (p.direction === 'out') pathManager.ackProgress(p.peer);
      });
      await this.#files.start();
    } catch (err) {
      // e.g. the direct listener's port is taken: undo what already started.
      this.#conn?.stop();
      this.#conn = null;
      this.#upgrader = null;
      lock.release();
      this.#session = null;
      throw err;
    }
  }

  /**
   * Resolves once the rendezvous connection is authenticated (or rejects after timeoutMs).
   * While this client has never been connected, the first socket that fails before opening
   * (refused, DNS, TLS, …) rejects at once with CLIENT_ERR_SERVER_UNREACHABLE naming the
   * cause: a wrong URL or a stopped server is not worth waiting out. The connection keeps
   * retrying in the background either way.
   */
  waitForServer(timeoutMs = 10_000): Promise<void> {
    const conn = this.#conn;
    if (!conn) return Promise.reject(new ClientError('CLIENT_ERR_NO_SERVER'));
    if (conn.isConnected) return Promise.resolve();
    const neverConnected = conn.welcome === null;
    if (neverConnected && conn.lastFailure) return Promise.reject(unreachableError(conn.url, conn.lastFailure));
    return new Promise((resolve, reject) => {
      const off = () => {
        conn.off('state', onState);
        conn.off('server-error', onRefused);
        conn.off('unreachable', onUnreachable);
      };
      const t = setTimeout(() => {
        off();
        const failure = conn.lastFailure;
        reject(
          failure
            ? unreachableError(conn.url, failure)
            : new ClientError('CLIENT_ERR_TIMEOUT', `rendezvous not connected after ${timeoutMs} ms (${conn.state})`),
        );
      }, timeoutMs);
      const onUnreachable = (failure: ConnectFailure) => {
        if (!neverConnected) return; // it worked before: a restart, keep waiting
        clearTimeout(t);
        off();
        reject(unreachableError(conn.url, failure));
      };
      const onState = (state: ConnectionState, detail: string) => {
        if (state === 'connected' || state === 'replaced' || state === 'stopped') {
          clearTimeout(t);
          off();
          if (state === 'connected') resolve();
          else reject(new ClientError(state === 'replaced' ? 'CLIENT_ERR_REPLACED' : 'CLIENT_ERR_STOPPED', detail));
        }
      };
      // An error before WELCOME is the server refusing us (admission, auth): report it now
      // rather than after the timeout; the connection keeps retrying in the background.
      const onRefused = (code: string, message: string) => {
        if (conn.isConnected || !FINAL_REFUSALS.has(code)) return; // transient: keep waiting
        clearTimeout(t);
        off();
        reject(new ClientError('CLIENT_ERR_SERVER_REJECTED', `${code}: ${message}`, { serverCode: code }));
      };
      conn.on('state', onState);
      conn.on('server-error', onRefused);
      conn.on('unreachable', onUnreachable);
    });
  }

  /**
   * Dial the rendezvous server now — after `server.status` said `replaced` (another connection
   * with this key took over) or while a reconnect is pending. Returns the server status.
   */
  reconnectServer(): { url: string; state: ConnectionState } {
    const conn = this.#conn;
    if (!conn) throw new ClientError('CLIENT_ERR_NO_SERVER');
    conn.reconnect();
    return { url: conn.url.href, state: conn.state };
  }

  /** Publish our prekey bundle to the server (on every (re)connect and rotation); best effort. */
  #publishBundle(bundle: Uint8Array): void {
    const conn = this.#conn;
    if (!conn?.isConnected) return;
    conn.publishPrekeyBundle(bundle).catch(() => {
      // Refused or timed out: peers still get it inside sessions; the next reconnect publishes again.
    });
  }

  async stop(): Promise<void> {
    this.#files?.stop();
    this.#files = null;
    await this.#upgrader?.stop();
    this.#upgrader = null;
    this.#session?.stop();
    this.#conn?.stop();
    this.#paths?.closeAll('stopped');
    this.#lock?.release();
    this.#session = null;
    this.#conn = null;
    this.#lock = null;
  }

  id(): IdentityInfo {
    const id = this.identity;
    const address = this.config.server ? new URL(this.config.server).host : undefined;
    return {
      key: encodeKey(id.publicKey),
      fingerprint: formatFingerprint(id.publicKey),
      name: this.#name,
      share: formatShare(id.publicKey, {
        ...(address ? { address } : {}),
        ...(this.#name ? { name: this.#name } : {}),
      }),
    };
  }

  setName(name: string): IdentityInfo {
    this.#name = this.#identityStore.setName(name);
    return this.id();
  }

  peers() {
    const trust = this.#need(this.#trust);
    const all = trust.list();
    // `name` is what a person or an agent picks the peer by: with a fingerprint suffix when
    // another peer's name looks like it (display-name.ts).
    return all.map((p) => ({
      ...p,
      name: displayLabel(p, all),
      path: this.paths.status(p.key),
      pending: this.session.peerInfo(p.key).pending,
    }));
  }

  /** Ask a peer to connect (share string or key). */
  connect(share: string, opts: { acceptChangedKey?: boolean } = {}) {
    const target = parseShare(share);
    return this.session.connect(
      {
        key: target.key,
        ...(target.name ? { name: target.name } : {}),
        ...(target.address ? { address: target.address } : {}),
      },
      opts,
    );
  }

  respondConsent(ref: string, accept: boolean) {
    return this.session.respondConsent(ref, accept);
  }

  /** The local user's answer to a peer's proposed new name (`name.change`). */
  respondNameChange(ref: string, accept: boolean) {
    return this.session.respondNameChange(ref, accept);
  }

  /** The local user names a peer; refused (CLIENT_ERR_NAME_TAKEN) if it looks like another's. */
  renamePeer(peer: string, name: string) {
    return this.session.renamePeer(peer, name);
  }

  revoke(peer: string) {
    return this.session.revoke(peer);
  }

  /**
   * Send a message to a trusted peer. Up to MAX_MESSAGE_BYTES it is one packet; larger (up to
   * `maxLongMessageBytes`) it travels as a long message over the file stream and arrives as one
   * message all the same (seq -1). Over the maximum: CLIENT_ERR_MESSAGE_TOO_LARGE.
   */
  send(peer: string, body: OutgoingBody): { id: string; seq: number; to: string } {
    const bytes = 'text' in body ? Buffer.byteLength(body.text, 'utf8') : body.data.length;
    if (bytes <= MAX_MESSAGE_BYTES) return this.session.send(peer, body);
    const max = this.config.maxLongMessageBytes;
    if (bytes > max) throw new ClientError('CLIENT_ERR_MESSAGE_TOO_LARGE', `${bytes} > ${max} bytes`, { limit: max });
    const session = this.session;
    const key = session.resolvePeer(peer);
    // The same refusals as a short send, before anything is spooled.
    const state = session.peerInfo(key).state;
    if (state === 'revoked' || state === 'revoked-by-peer')
      throw new ClientError('CLIENT_ERR_REVOKED', `${peer} (${state})`, { state });
    if (state !== 'trusted') throw new ClientError('CLIENT_ERR_NOT_TRUSTED', peer);
    return this.files.sendLong(key, body);
  }

  respondApproval(approvalId: string, allow: boolean) {
    return this.session.respondApproval(approvalId, allow);
  }

  status() {
    const outbox = this.#need(this.#outbox);
    return {
      key: encodeKey(this.identity.publicKey),
      name: this.#name,
      server: this.#conn ? { url: this.#conn.url.href, state: this.#conn.state } : null,
      peers: this.#need(this.#trust).list().length,
      outbox: { messages: outbox.size, bytes: outbox.bytes },
      pendingConsents: this.session.pendingConsents().length,
      counters: { ...this.session.counters },
    };
  }
}

export function createClient(init: ClientInit): P2PClient {
  return new P2PClient(init);
}
