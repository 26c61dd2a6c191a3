/**
 * RelayHub: the rendezvous core. Owns the sessions of this instance, authenticates them,
 * routes SIGNAL/RELAY frames (locally, or through the broker to the instance serving the
 * recipient), mailboxes relays for offline peers, and answers every frameId exactly once
 * (ACK, PEER_OFFLINE or ERROR).
 *
 * Hot path (a frame for a local peer): one type switch, token-bucket arithmetic, the envelope
 * structure check, two 32-byte compares, one Map lookup, the DELIVER header written in place
 * over the incoming frame (zero-copy) and a 6-byte ACK. No JSON, promises or closures.
 */

import type { Duplex } from 'node:stream';
import {
  decodeFrame,
  encodeFrame,
  encodeKey,
  FRAME_PROTOCOL_VERSION,
  FrameType,
  peekEnvelope,
  verifyHello,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Admission, AdmissionResult } from './admission.js';
import { type Broker, instanceOf, makeClaim } from './broker/broker.js';
import { newChallenge } from './challenge.js';
import type { Config } from './config.js';
import {
  AUTH_BLOCK_MAX_ENTRIES,
  CUT_SOCKET_LINGER_MS,
  HEARTBEAT_MAX_MISSED,
  REJECTED_SOCKET_LINGER_MS,
  ROUTE_MAX_HOPS,
  ROUTE_SWEEP_INTERVAL_MS,
} from './constants.js';
import { RDV_ERRORS, type RendezvousErrorCode } from './errors.js';
import { ackFrame, errorFrame, peerOfflineFrame, restartingFrame } from './frames-out.js';
import { hostnameOf } from './hostname.js';
import { OutboundBatcher } from './outbound.js';
import { takeTokens } from './rate-limit.js';
import { RouteCache } from './route-cache.js';
import {
  encodeKick,
  encodeMailHint,
  encodeReply,
  encodeRouteHeader,
  forEachRecord,
  RecordKind,
  ReplyResult,
  type RouteBatchRecord,
  type RouteRecord,
  routeEnvelope,
  routeFrom,
} from './route-codec.js';
import { IpState, Session, SessionState } from './session.js';
import type { AuthFailureReason, Stats } from './stats.js';
import { type IceServer, turnCredentials } from './turn.js';

const SESSION = Symbol('session');
type SessionSocket = WebSocket & { [SESSION]?: Session };

const ROUTED_HEADER = 37; // type + frameId + to
const ENVELOPE_SENDER_OFFSET = 18; // version + type + messageId
const KEY_BYTES = 32;
const OPEN = 1; // WebSocket.OPEN
const CH_SIGNAL = 0;
const CH_RELAY = 1;

interface Pending {
  s: Session;
  frameId: number;
  /** Recipient key as latin1 (already computed for the routing map; no copy per frame). */
  toId: string;
  expires: number;
}

export interface HubDeps {
  config: Config;
  broker: Broker;
  admission: Admission;
  stats: Stats;
  log: Logger;
}

export class RelayHub {
  /** Open (authenticated) sessions by key (latin1 of the 32 key bytes). One per key. */
  readonly sessions = new Map<string, Session>();
  /** Every accepted socket with a session, any state. Bounded by MAX_CONNECTIONS. */
  readonly all = new Set<Session>();
  private readonly pendingAuth = new Set<Session>();
  private readonly ips = new Map<string, IpState>();
  private readonly blocked = new Map<string, number>();
  /** Cross-instance frames awaiting the remote answer, by pendingId (insertion = expiry order). */
  readonly pending = new Map<number, Pending>();
  private nextPendingId = 1;
  private claimNonce = 0;
  private readonly cache: RouteCache;
  private readonly out: OutboundBatcher;
  private readonly selfId: string;
  private readonly selfIdBuf: Buffer;
  private readonly config: Config;
  private readonly broker: Broker;
  private readonly admission: Admission;
  private readonly stats: Stats;
  private readonly log: Logger;
  private timers: NodeJS.Timeout[] = [];
  private stunPorts = { port: 0, altPort: 0 };
  private drainWaiter: (() => void) | null = null;
  draining = false;
  private corked: Session[] = [];
  private uncorkScheduled = false;
  private readonly uncorkAll = (): void => {
    this.uncorkScheduled = false;
    const list = this.corked;
    this.corked = [];
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!;
      s.corked = false;
      s.sock.uncork();
    }
  };

  // Shared listeners: one function per hub, `this` is the socket, so no per-connection closures.
  private readonly onWsMessage: (this: SessionSocket, data: RawData, isBinary: boolean) => void;
  private readonly onWsClose: (this: SessionSocket) => void;
  private readonly onWsPong: (this: SessionSocket) => void;
  private readonly onWsError: (this: SessionSocket, err: Error & { code?: string }) => void;
  private readonly onRecord = (r: RouteBatchRecord): void => this.handleRecord(r);
  private readonly onBatch = (batch: Buffer): void => {
    this.stats.batchesIn++;
    if (!forEachRecord(batch, this.onRecord)) this.log.warn('malformed route batch ignored');
  };

  constructor(deps: HubDeps) {
    this.config = deps.config;
    this.broker = deps.broker;
    this.admission = deps.admission;
    this.stats = deps.stats;
    this.log = deps.log;
    this.selfId = deps.config.instanceId;
    this.selfIdBuf = Buffer.from(this.selfId, 'latin1');
    this.cache = new RouteCache(deps.config.routeCacheTtlMs, deps.config.routeCacheMaxEntries);
    this.out = new OutboundBatcher(deps.broker, deps.stats);
    const hub = this;
    this.onWsMessage = function (data, isBinary) {
      const s = this[SESSION];
      if (s !== undefined) hub.onFrame(s, data as Buffer, isBinary);
    };
    this.onWsClose = function () {
      const s = this[SESSION];
      if (s !== undefined) hub.onClose(s);
    };
    this.onWsPong = function () {
      const s = this[SESSION];
      if (s !== undefined) s.missed = 0;
    };
    this.onWsError = function (err) {
      // ws has already failed the connection (e.g. 1009 for a frame over maxPayload); count why.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') hub.stats.drops.frame_too_large++;
      else hub.stats.drops.malformed++;
      const s = this[SESSION];
      if (s !== undefined) s.state = SessionState.CLOSED;
    };
  }

  /** Subscribe to this instance's channel and start the heartbeat, auth-deadline and route sweeps. */
  async start(): Promise<void> {
    this.broker.onReadyChange((ready) => {
      this.log.warn({ ready, broker: this.broker.kind }, 'broker readiness changed');
      if (ready) this.resync();
    });
    await this.broker.start(this.selfId, this.onBatch);
    const c = this.config;
    this.timers.push(
      setInterval(() => this.heartbeat(), c.heartbeatIntervalMs),
      setInterval(() => this.sweepAuth(), Math.max(50, Math.min(1000, c.authDeadlineMs / 4))),
      setInterval(() => this.sweepPending(), Math.min(ROUTE_SWEEP_INTERVAL_MS, c.routeTimeoutMs)),
    );
    for (const t of this.timers) t.unref();
  }

  setStunPorts(port: number, altPort: number): void {
    this.stunPorts = { port, altPort };
  }

  // ---------------------------------------------------------------- connections

  /** Take a freshly upgraded socket. `host` is the request's Host header. */
  accept(socket: WebSocket, raw: Duplex, ip: string, host: string | undefined): void {
    const ws = socket as SessionSocket;
    ws.on('error', this.onWsError);
    const c = this.config;
    const now = Date.now();
    let reject: RendezvousErrorCode | null = null;
    if (this.draining) reject = 'RDV_ERR_DRAINING';
    else if (this.all.size >= c.maxConnections) reject = 'RDV_ERR_SERVER_FULL';
    else if ((this.blocked.get(ip) ?? 0) > now) reject = 'RDV_ERR_AUTH_BLOCKED';
    let ipState = this.ips.get(ip);
    if (reject === null && ipState !== undefined && ipState.connections >= c.maxConnsPerIp)
      reject = 'RDV_ERR_TOO_MANY_CONNECTIONS';
    if (reject !== null) {
      this.stats.connectionsRejected++;
      if (reject === 'RDV_ERR_AUTH_BLOCKED') this.stats.authFailures.blocked++;
      ws.send(errorFrame(0, reject));
      ws.close(RDV_ERRORS[reject].close ?? 1008, reject);
      // Refused sockets are in no map and count against no limit: don't let a peer that never
      // answers the close hold one for ws's 30 s close timeout.
      setTimeout(terminate, REJECTED_SOCKET_LINGER_MS, ws).unref();
      return;
    }
    if (ipState === undefined) {
      ipState = new IpState(c.rateIpMsgsPerS * 2, c.rateIpBytesPerS * 2, now);
      this.ips.set(ip, ipState);
    }
    ipState.connections++;
    const hostHeader = host !== undefined && host.length <= 255 ? host : '';
    const origins = c.publicOrigins.length > 0 ? c.publicOrigins : [hostHeader];
    const challenge = newChallenge();
    const s = new Session(
      ws,
      raw,
      ip,
      ipState,
      challenge,
      origins,
      hostnameOf(hostHeader),
      now,
      c.rateBurstMsgs,
      c.rateBurstBytes,
    );
    ws[SESSION] = s;
    this.all.add(s);
    this.pendingAuth.add(s);
    this.stats.connectionsAccepted++;
    ws.on('message', this.onWsMessage);
    ws.on('close', this.onWsClose);
    ws.on('pong', this.onWsPong);
    ws.send(
      encodeFrame({
        type: FrameType.CHALLENGE,
        version: FRAME_PROTOCOL_VERSION,
        challenge,
        serverTime: now,
        origin: origins[0] ?? '',
      }),
    );
  }

  private onClose(s: Session): void {
    s.state = SessionState.CLOSED;
    this.pendingAuth.delete(s);
    if (this.all.delete(s) && --s.ipState.connections <= 0) this.ips.delete(s.ip);
    this.detach(s);
    if (this.all.size === 0 && this.drainWaiter !== null) this.drainWaiter();
  }

  /** Take the session out of routing (its key is offline from now on) and release its presence. */
  private detach(s: Session): void {
    if (s.keyId !== '' && this.sessions.get(s.keyId) === s) {
      this.sessions.delete(s.keyId);
      this.broker
        .release(s.keyB64, s.claim)
        .catch((err: unknown) => this.log.debug({ err }, 'presence release failed'));
    }
  }

  /**
   * End a socket the server gives up on (slow reader, dead peer) with its registered close code,
   * so the client learns why. The close frame is tiny and goes out even when an ERROR frame could
   * not be queued; the terminate timer bounds how long the socket (and what is buffered for it)
   * is held if the peer never reads it.
   */
  private cut(s: Session, code: RendezvousErrorCode, withError: boolean): void {
    const ws = s.ws;
    if (withError && ws.readyState === OPEN) ws.send(errorFrame(0, code));
    s.state = SessionState.CLOSED;
    this.detach(s);
    ws.close(RDV_ERRORS[code].close ?? 1008, code);
    setTimeout(terminate, CUT_SOCKET_LINGER_MS, ws).unref();
  }

  /** Send an ERROR and, when the code says so, close with its close code. Stops further frames. */
  private fail(s: Session, code: RendezvousErrorCode, frameId = 0): void {
    const close = RDV_ERRORS[code].close;
    if (close === null) {
      // Through the bounded path: a flooder that never reads must not grow our buffers with errors.
      this.send(s, errorFrame(frameId, code));
      return;
    }
    if (s.ws.readyState === OPEN) s.ws.send(errorFrame(frameId, code));
    s.state = SessionState.CLOSED;
    s.ws.close(close, code);
  }

  /** Queue bytes to a session, or drop the session if its send queue is over SEND_QUEUE_MAX_BYTES. */
  private send(s: Session, buf: Buffer | Uint8Array): boolean {
    const ws = s.ws;
    if (ws.readyState !== OPEN || s.state === SessionState.CLOSED) return false;
    if (ws.bufferedAmount + buf.length > this.config.sendQueueMaxBytes) {
      // A slow reader: buffering more would make our memory grow with its slowness.
      this.stats.drops.slow_reader++;
      this.log.debug({ ip: s.ip, key: s.keyB64, queued: ws.bufferedAmount }, 'slow reader dropped');
      this.cut(s, 'RDV_ERR_SLOW_READER', false);
      return false;
    }
    if (!s.corked) {
      // Coalesce every frame this tick sends to this socket (DELIVERs, ACKs) into one write:
      // ws writes each frame separately, and the syscalls were the relay's main cost.
      s.corked = true;
      s.sock.cork();
      this.corked.push(s);
      if (!this.uncorkScheduled) {
        this.uncorkScheduled = true;
        setImmediate(this.uncorkAll);
      }
    }
    ws.send(buf);
    return true;
  }

  // ---------------------------------------------------------------- frames

  private onFrame(s: Session, data: Buffer, isBinary: boolean): void {
    if (s.state === SessionState.CLOSED) return;
    s.missed = 0;
    this.stats.framesIn++;
    this.stats.bytesIn += data.length;
    if (!isBinary) {
      this.stats.drops.text_frame++;
      this.fail(s, 'RDV_ERR_TEXT_FRAME');
      return;
    }
    const type = data.length > 0 ? data[0]! : -1;
    if (s.state !== SessionState.OPEN) {
      if (s.state === SessionState.PENDING && type === FrameType.HELLO) {
        this.onHello(s, data);
        return;
      }
      this.stats.authFailures.not_authenticated++;
      this.fail(s, 'RDV_ERR_NOT_AUTHENTICATED');
      return;
    }
    const now = Date.now();
    switch (type) {
      case FrameType.SIGNAL:
      case FrameType.RELAY:
        this.onRouted(s, data, type, now);
        return;
      case FrameType.PING:
        if (data.length !== 9) {
          this.stats.drops.malformed++;
          this.fail(s, 'RDV_ERR_MALFORMED_FRAME');
          return;
        }
        if (!takeTokens(s, this.config, data.length, now)) {
          this.stats.drops.rate_limited++;
          this.fail(s, 'RDV_ERR_RATE_LIMITED');
          return;
        }
        data[0] = FrameType.PONG; // echo the nonce in place
        this.send(s, data);
        return;
      case FrameType.PONG:
        return;
      case FrameType.CHALLENGE:
      case FrameType.HELLO:
      case FrameType.WELCOME:
      case FrameType.DELIVER:
      case FrameType.ACK:
      case FrameType.PEER_OFFLINE:
      case FrameType.ERROR:
      case FrameType.RESTARTING:
        this.stats.drops.unexpected_frame++;
        this.fail(s, 'RDV_ERR_UNEXPECTED_FRAME');
        return;
      default:
        this.stats.drops.unknown_frame++;
        this.fail(s, 'RDV_ERR_UNKNOWN_FRAME');
        return;
    }
  }

  private onRouted(s: Session, data: Buffer, type: number, now: number): void {
    if (data.length < ROUTED_HEADER) {
      this.stats.drops.malformed++;
      this.fail(s, 'RDV_ERR_MALFORMED_FRAME');
      return;
    }
    const frameId = data.readUInt32BE(1);
    if (!takeTokens(s, this.config, data.length, now)) {
      this.stats.drops.rate_limited++;
      this.fail(s, 'RDV_ERR_RATE_LIMITED', frameId);
      return;
    }
    const env = data.subarray(ROUTED_HEADER);
    let peek: { sender: Uint8Array; recipient: Uint8Array };
    try {
      peek = peekEnvelope(env);
    } catch {
      this.stats.drops.bad_envelope++;
      this.fail(s, 'RDV_ERR_BAD_ENVELOPE', frameId);
      return;
    }
    if (data.compare(peek.recipient, 0, KEY_BYTES, 5, ROUTED_HEADER) !== 0) {
      this.stats.drops.recipient_mismatch++;
      this.fail(s, 'RDV_ERR_RECIPIENT_MISMATCH', frameId);
      return;
    }
    const key = s.key!;
    if (key.compare(peek.sender) !== 0) {
      this.stats.drops.sender_mismatch++;
      this.fail(s, 'RDV_ERR_SENDER_MISMATCH', frameId);
      return;
    }
    const channel = type === FrameType.SIGNAL ? CH_SIGNAL : CH_RELAY;
    const toId = data.toString('latin1', 5, ROUTED_HEADER);
    const target = this.sessions.get(toId);
    if (target !== undefined) {
      // Rewrite the header in place: [type frameId to…] → …[DELIVER channel from] + envelope.
      data[3] = FrameType.DELIVER;
      data[4] = channel;
      key.copy(data, 5);
      if (this.send(target, data.subarray(3))) {
        if (channel === CH_SIGNAL) this.stats.forwardedSignalLocal++;
        else this.stats.forwardedRelayLocal++;
        this.stats.forwardedBytes += env.length;
        this.send(s, ackFrame(frameId, 0));
        return;
      }
      // The recipient was just dropped as a slow reader: treat it as offline.
      this.offlineLocal(s, frameId, channel, Buffer.from(toId, 'latin1'), env);
      return;
    }
    const cached = this.cache.get(toId, now);
    if (cached !== null) {
      this.forward(s, frameId, channel, data.subarray(5, ROUTED_HEADER), toId, env, cached, now);
      return;
    }
    this.lookupAndRoute(s, frameId, channel, Buffer.from(data.subarray(5, ROUTED_HEADER)), env);
  }

  private lookupAndRoute(s: Session, frameId: number, channel: number, to: Buffer, env: Buffer): void {
    if (!this.broker.isReady()) {
      // Redis unreachable: only local routing works; tell the sender plainly.
      this.stats.drops.unavailable++;
      this.fail(s, 'RDV_ERR_UNAVAILABLE', frameId);
      return;
    }
    const toB64 = to.toString('base64url');
    this.broker.lookup(toB64).then(
      (claim) => {
        if (s.state !== SessionState.OPEN) return;
        const now = Date.now();
        const local = this.sessions.get(to.toString('latin1'));
        if (local !== undefined) {
          // The recipient connected here while we looked: deliver through the normal path.
          const frame = Buffer.allocUnsafe(2 + KEY_BYTES + env.length);
          frame[0] = FrameType.DELIVER;
          frame[1] = channel;
          s.key!.copy(frame, 2);
          env.copy(frame, 2 + KEY_BYTES);
          if (this.send(local, frame)) {
            this.stats.forwardedBytes += env.length;
            this.send(s, ackFrame(frameId, 0));
            return;
          }
        }
        const inst = claim === null ? null : instanceOf(claim);
        if (inst !== null && inst !== this.selfId) {
          this.cache.set(to.toString('latin1'), inst, now);
          this.forward(s, frameId, channel, to, to.toString('latin1'), env, inst, now);
        } else {
          this.offlineLocal(s, frameId, channel, to, env);
        }
      },
      () => {
        this.stats.drops.unavailable++;
        this.fail(s, 'RDV_ERR_UNAVAILABLE', frameId);
      },
    );
  }

  /** Send a frame to another instance; its answer (or the timeout) settles frameId. */
  private forward(
    s: Session,
    frameId: number,
    channel: number,
    to: Uint8Array,
    toId: string,
    env: Buffer,
    inst: string,
    now: number,
  ): void {
    if (this.pending.size >= this.config.maxPendingRoutes) {
      this.stats.drops.busy++;
      this.fail(s, 'RDV_ERR_BUSY', frameId);
      return;
    }
    const id = this.nextPendingId;
    this.nextPendingId = id >= 0xffffffff ? 1 : id + 1;
    this.pending.set(id, { s, frameId, toId, expires: now + this.config.routeTimeoutMs });
    this.stats.forwardedRemote++;
    this.out.push(inst, encodeRouteHeader(id, 1, this.selfIdBuf, to, channel, s.key!, env.length), env);
  }

  /** The recipient is not connected anywhere: SIGNAL → PEER_OFFLINE; RELAY → mailbox. */
  private offlineLocal(s: Session, frameId: number, channel: number, to: Buffer, env: Buffer): void {
    if (channel === CH_SIGNAL) {
      this.stats.peerOffline++;
      this.send(s, peerOfflineFrame(frameId, to));
      return;
    }
    this.mailbox(to, env).then((code) => {
      if (s.state !== SessionState.OPEN) return;
      if (code === null) this.send(s, ackFrame(frameId, 1));
      else this.fail(s, code, frameId);
    });
  }

  /** Mailbox an envelope; resolves null when queued, else the error code. Never rejects. */
  private async mailbox(to: Buffer, env: Buffer): Promise<RendezvousErrorCode | null> {
    const c = this.config;
    try {
      const r = await this.broker.mailboxPush(
        to.toString('base64url'),
        env,
        { maxMessages: c.mailboxMaxMessages, maxBytes: c.mailboxMaxBytes, ttlMs: c.mailboxTtlS * 1000 },
        Date.now(),
      );
      if (r === 'full') {
        this.stats.drops.mailbox_full++;
        return 'RDV_ERR_MAILBOX_FULL';
      }
      this.stats.mailboxQueued++;
      this.afterMailboxed(to);
      return null;
    } catch {
      this.stats.drops.unavailable++;
      return 'RDV_ERR_UNAVAILABLE';
    }
  }

  /**
   * Close the race with a recipient that connected while we stored its envelope (its own
   * mailbox read may have run before our write): look it up after the write and, if it is
   * online, have its instance deliver the mailbox now. Either the lookup sees the new claim, or
   * the claim — and so the connect-time read — came after our write.
   */
  private afterMailboxed(to: Buffer): void {
    const local = this.sessions.get(to.toString('latin1'));
    if (local !== undefined) {
      this.deliverMailbox(local).catch(() => {});
      return;
    }
    if (!this.broker.isReady()) return;
    this.broker.lookup(to.toString('base64url')).then(
      (claim) => {
        const inst = claim === null ? null : instanceOf(claim);
        if (inst === null) return;
        if (inst !== this.selfId) this.out.push(inst, encodeMailHint(to));
        else {
          const s = this.sessions.get(to.toString('latin1'));
          if (s !== undefined) this.deliverMailbox(s).catch(() => {});
        }
      },
      () => {},
    );
  }

  // ---------------------------------------------------------------- auth

  private onHello(s: Session, data: Buffer): void {
    let hello: { key: Uint8Array; timestamp: number; signature: Uint8Array; token: string };
    try {
      const f = decodeFrame(data, this.config.maxFrameBytes);
      if (f.type !== FrameType.HELLO) throw new Error('not a hello');
      hello = f;
    } catch {
      this.authFailure(s, 'bad_hello');
      this.fail(s, 'RDV_ERR_MALFORMED_FRAME');
      return;
    }
    try {
      verifyHello(nodeSuite, hello, s.challenge, s.origins);
    } catch {
      this.authFailure(s, 'bad_hello');
      this.fail(s, 'RDV_ERR_AUTH_FAILED');
      return;
    }
    s.state = SessionState.AUTHING;
    const key = Buffer.from(hello.key);
    const keyB64 = encodeKey(key);
    const r = this.admission.check(keyB64, key, hello.token);
    if (typeof r === 'string') this.admitted(s, key, keyB64, r);
    else r.then((res) => this.admitted(s, key, keyB64, res));
  }

  private authFailure(s: Session, reason: AuthFailureReason): void {
    this.stats.authFailures[reason]++;
    this.log.debug({ ip: s.ip, reason }, 'auth failed');
    const ip = s.ip;
    const now = Date.now();
    this.broker.hit(`authfail:${ip}`, 60_000, now).then(
      (n) => {
        if (n <= this.config.authFailuresPerIpPerMin) return;
        if (this.blocked.size >= AUTH_BLOCK_MAX_ENTRIES) {
          const oldest = this.blocked.keys().next().value;
          if (oldest !== undefined) this.blocked.delete(oldest);
        }
        this.blocked.set(ip, (Math.floor(now / 60_000) + 1) * 60_000);
      },
      () => {},
    );
  }

  private admitted(s: Session, key: Buffer, keyB64: string, result: AdmissionResult): void {
    if (s.state !== SessionState.AUTHING) return;
    if (result !== 'ok') {
      this.stats.authFailures[result === 'denied' ? 'admission' : 'unavailable']++;
      this.fail(s, result === 'denied' ? 'RDV_ERR_ADMISSION_DENIED' : 'RDV_ERR_ADMISSION_UNAVAILABLE');
      return;
    }
    this.pendingAuth.delete(s);
    s.key = key;
    s.keyId = key.toString('latin1');
    s.keyB64 = keyB64;
    s.since = Date.now();
    s.claim = makeClaim(this.selfId, s.since, ++this.claimNonce);
    s.challenge = EMPTY; // let the 32 bytes go
    const old = this.sessions.get(s.keyId);
    if (old !== undefined && old !== s) this.replace(old);
    this.sessions.set(s.keyId, s);
    this.cache.delete(s.keyId);
    s.state = SessionState.OPEN;
    s.missed = 0;
    this.stats.authOk++;
    this.send(s, encodeFrame({ type: FrameType.WELCOME, info: this.welcomeInfo(s) }));
    // Only needed for the handshake: don't carry them for the connection's lifetime.
    s.origins = NO_ORIGINS;
    s.hostname = '';
    this.claimAndDrain(s);
  }

  private welcomeInfo(s: Session): string {
    const c = this.config;
    const iceServers: IceServer[] = [];
    const host = s.hostname.includes(':') ? `[${s.hostname}]` : s.hostname;
    if (this.stunPorts.port !== 0 && host !== '') iceServers.push({ urls: [`stun:${host}:${this.stunPorts.port}`] });
    if (c.turnSecret !== null && c.turnUrls.length > 0)
      iceServers.push(turnCredentials(c.turnSecret, c.turnUrls, c.turnTtlS, s.keyB64, Date.now()));
    return JSON.stringify({
      instanceId: this.selfId,
      key: s.keyB64,
      heartbeatMs: c.heartbeatIntervalMs,
      maxFrameBytes: c.maxFrameBytes,
      iceServers,
      stun: { port: this.stunPorts.port, altPort: this.stunPorts.altPort },
    });
  }

  /** Record presence (kicking an older session on another instance), then hand over the mailbox. */
  private claimAndDrain(s: Session): void {
    const claim = s.claim;
    this.broker
      .claim(s.keyB64, claim, this.config.presenceTtlS * 1000)
      .then((prev) => {
        if (s.state !== SessionState.OPEN) return;
        if (prev !== null && prev !== claim) {
          const inst = instanceOf(prev);
          if (inst !== this.selfId) this.out.push(inst, encodeKick(s.key!, s.since));
        }
        return this.deliverMailbox(s);
      })
      .catch((err: unknown) => this.log.warn({ err: String(err) }, 'presence claim failed; serving locally'));
  }

  private async deliverMailbox(s: Session): Promise<void> {
    if (s.state !== SessionState.OPEN) return;
    const envs = await this.broker.mailboxTake(s.keyB64, Date.now());
    for (let i = 0; i < envs.length; i++) {
      const env = envs[i]!;
      if (env.length < ENVELOPE_SENDER_OFFSET + KEY_BYTES) continue;
      const frame = Buffer.allocUnsafe(2 + KEY_BYTES + env.length);
      frame[0] = FrameType.DELIVER;
      frame[1] = CH_RELAY;
      env.copy(frame, 2, ENVELOPE_SENDER_OFFSET, ENVELOPE_SENDER_OFFSET + KEY_BYTES);
      env.copy(frame, 2 + KEY_BYTES);
      if (!this.send(s, frame)) {
        // Gone mid-delivery: put the rest back so nothing taken is lost.
        const c = this.config;
        const limits = { maxMessages: c.mailboxMaxMessages, maxBytes: c.mailboxMaxBytes, ttlMs: c.mailboxTtlS * 1000 };
        for (let j = i; j < envs.length; j++) await this.broker.mailboxPush(s.keyB64, envs[j]!, limits, Date.now());
        return;
      }
      this.stats.mailboxDelivered++;
    }
  }

  private replace(old: Session): void {
    this.stats.replaced++;
    if (this.sessions.get(old.keyId) === old) this.sessions.delete(old.keyId);
    this.fail(old, 'RDV_ERR_REPLACED');
  }

  // ---------------------------------------------------------------- cross-instance

  private handleRecord(r: RouteBatchRecord): void {
    switch (r.kind) {
      case RecordKind.ROUTE: {
        const target = this.sessions.get(r.toId);
        if (target !== undefined && this.send(target, r.deliver)) {
          this.stats.remoteDelivered++;
          this.stats.forwardedBytes += r.deliver.length - 2 - KEY_BYTES;
          this.reply(r.replyTo, r.pendingId, ReplyResult.DELIVERED, '');
          return;
        }
        this.remoteMiss(r);
        return;
      }
      case RecordKind.REPLY: {
        const p = this.pending.get(r.pendingId);
        if (p === undefined) return; // already timed out: the sender got ROUTE_TIMEOUT
        this.pending.delete(r.pendingId);
        const s = p.s;
        if (s.state !== SessionState.OPEN) return;
        if (r.result === ReplyResult.DELIVERED) this.send(s, ackFrame(p.frameId, 0));
        else if (r.result === ReplyResult.QUEUED) this.send(s, ackFrame(p.frameId, 1));
        else if (r.result === ReplyResult.OFFLINE) {
          this.stats.peerOffline++;
          this.cache.delete(p.toId);
          this.send(s, peerOfflineFrame(p.frameId, Buffer.from(p.toId, 'latin1')));
        } else {
          const code = (r.code in RDV_ERRORS ? r.code : 'RDV_ERR_INTERNAL') as RendezvousErrorCode;
          this.fail(s, RDV_ERRORS[code].close === null ? code : 'RDV_ERR_INTERNAL', p.frameId);
        }
        return;
      }
      case RecordKind.MAIL: {
        const target = this.sessions.get(r.key.toString('latin1'));
        if (target !== undefined && target.state === SessionState.OPEN) this.deliverMailbox(target).catch(() => {});
        return;
      }
      case RecordKind.KICK: {
        const target = this.sessions.get(r.key.toString('latin1'));
        if (target !== undefined && target.since <= r.since) this.replace(target);
        return;
      }
    }
  }

  /** A routed frame for a key this instance does not serve (stale route, or it just left). */
  private remoteMiss(r: RouteRecord): void {
    const to = Buffer.from(r.toId, 'latin1');
    if (r.hops >= ROUTE_MAX_HOPS || !this.broker.isReady()) {
      this.remoteOffline(r, to);
      return;
    }
    this.broker.lookup(to.toString('base64url')).then(
      (claim) => {
        const inst = claim === null ? null : instanceOf(claim);
        if (inst !== null && inst !== this.selfId) {
          const replyTo = Buffer.from(r.replyTo, 'latin1');
          const env = routeEnvelope(r);
          this.out.push(
            inst,
            encodeRouteHeader(r.pendingId, r.hops + 1, replyTo, to, r.channel, routeFrom(r), env.length),
            env,
          );
        } else {
          this.remoteOffline(r, to);
        }
      },
      () => this.reply(r.replyTo, r.pendingId, ReplyResult.ERROR, 'RDV_ERR_UNAVAILABLE'),
    );
  }

  private remoteOffline(r: RouteRecord, to: Buffer): void {
    if (r.channel === CH_SIGNAL) {
      this.reply(r.replyTo, r.pendingId, ReplyResult.OFFLINE, '');
      return;
    }
    this.mailbox(to, routeEnvelope(r)).then((code) => {
      if (code === null) this.reply(r.replyTo, r.pendingId, ReplyResult.QUEUED, '');
      else this.reply(r.replyTo, r.pendingId, ReplyResult.ERROR, code);
    });
  }

  private reply(instance: string, pendingId: number, result: ReplyResult, code: string): void {
    this.out.push(instance, encodeReply(pendingId, result, code));
  }

  // ---------------------------------------------------------------- timers

  private heartbeat(): void {
    const entries: [string, string][] = [];
    for (const s of this.all) {
      if (s.state === SessionState.CLOSED) continue;
      if (s.missed >= HEARTBEAT_MAX_MISSED) {
        this.stats.drops.heartbeat++;
        this.cut(s, 'RDV_ERR_HEARTBEAT_TIMEOUT', true);
        continue;
      }
      s.missed++;
      s.ws.ping();
      if (s.state === SessionState.OPEN && this.sessions.get(s.keyId) === s) entries.push([s.keyB64, s.claim]);
    }
    if (entries.length > 0 && this.broker.isReady())
      this.broker
        .refresh(entries, this.config.presenceTtlS * 1000)
        .catch((err: unknown) => this.log.warn({ err: String(err) }, 'presence refresh failed'));
  }

  private sweepAuth(): void {
    const deadline = Date.now() - this.config.authDeadlineMs;
    for (const s of this.pendingAuth) {
      if (s.openedAt > deadline) break; // insertion order = age order
      this.pendingAuth.delete(s);
      this.stats.authFailures.timeout++;
      this.fail(s, 'RDV_ERR_AUTH_TIMEOUT');
    }
    const now = Date.now();
    for (const [ip, until] of this.blocked) if (until <= now) this.blocked.delete(ip);
  }

  private sweepPending(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.expires > now) break; // insertion order = expiry order (one timeout for all)
      this.pending.delete(id);
      this.stats.drops.route_timeout++;
      if (p.s.state === SessionState.OPEN) this.fail(p.s, 'RDV_ERR_ROUTE_TIMEOUT', p.frameId);
    }
  }

  /** After the broker comes back: re-claim presence for every local key and hand over mailboxes. */
  private resync(): void {
    for (const s of this.sessions.values()) if (s.state === SessionState.OPEN) this.claimAndDrain(s);
  }

  // ---------------------------------------------------------------- shutdown

  /**
   * Tell every client RESTARTING, refuse new connections, and wait up to `timeoutMs` for the
   * clients to leave; then close the rest with 1012.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    const frame = restartingFrame(this.config.restartRetryAfterMs);
    for (const s of this.all) if (s.state === SessionState.OPEN) this.send(s, frame);
    const closeBy = Math.max(0, timeoutMs - Math.min(1000, timeoutMs / 4));
    await this.waitEmpty(closeBy);
    for (const s of this.all) if (s.state !== SessionState.CLOSED) this.fail(s, 'RDV_ERR_DRAINING');
    await this.waitEmpty(timeoutMs - closeBy);
    for (const s of this.all) s.ws.terminate();
    this.out.flush();
  }

  private waitEmpty(ms: number): Promise<void> {
    if (this.all.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done(): void {
        clearTimeout(t);
        self.drainWaiter = null;
        resolve();
      }
      this.drainWaiter = done;
    });
  }

  /** Stop timers (after drain). */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Sessions by state, for metrics. */
  counts(): { open: number; pendingAuth: number; pendingRoutes: number; routeCache: number } {
    return {
      open: this.sessions.size,
      pendingAuth: this.pendingAuth.size,
      pendingRoutes: this.pending.size,
      routeCache: this.cache.size,
    };
  }
}

const EMPTY = Buffer.alloc(0);
function terminate(ws: WebSocket): void {
  ws.terminate();
}
const NO_ORIGINS: readonly string[] = Object.freeze([]);
