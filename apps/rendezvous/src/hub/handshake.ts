/**
 * Connection admission and authentication: per-IP and instance limits at upgrade, CHALLENGE,
 * HELLO verification, admission (allowlist / invite token), WELCOME, presence claim (taking
 * over an older session for the same key anywhere in the cluster), then the mailbox hand-over.
 */
import type { Duplex } from 'node:stream';
import { decodeFrame, encodeKey, FrameType, PEER_PACKET_VERSIONS, verifyHello } from '@p2p-comm/protocol';
import type { RawData, WebSocket } from 'ws';
import type { Admission, AdmissionResult } from '../admission.js';
import { instanceOf, makeClaim } from '../broker/broker.js';
import { challengeFrame, newChallenge } from '../challenge.js';
import { AUTH_BLOCK_MAX_ENTRIES, REJECTED_SOCKET_LINGER_MS } from '../constants.js';
import { RDV_ERRORS, type RendezvousErrorCode } from '../errors.js';
import { errorFrame, welcomeFrame } from '../frames-out.js';
import { helloSuite } from '../hello-verifier.js';
import { hostnameOf } from '../hostname.js';
import type { RouteCache } from '../route-cache.js';
import { encodeKick } from '../route-codec.js';
import { IpState, Session, SessionState } from '../session.js';
import type { AuthFailureReason } from '../stats.js';
import { type IceServer, turnCredentials } from '../turn.js';
import { type HubContext, KEY_BYTES } from './context.js';
import type { MailboxDelivery } from './mailbox-delivery.js';
import { advertisedRelayAllowanceBytes, type SocketSender, terminate } from './sender.js';

export const SESSION = Symbol('session');
export type SessionSocket = WebSocket & { [SESSION]?: Session };

/** Shared listeners (one function per hub, `this` is the socket): no per-connection closures. */
export interface SocketListeners {
  message: (this: SessionSocket, data: RawData, isBinary: boolean) => void;
  close: (this: SessionSocket) => void;
  pong: (this: SessionSocket) => void;
  error: (this: SessionSocket, err: Error & { code?: string }) => void;
}

export class Handshake {
  /** Sessions that have not authenticated yet (insertion = age order, for the deadline sweep). */
  readonly pendingAuth = new Set<Session>();
  private readonly ips = new Map<string, IpState>();
  private readonly blocked = new Map<string, number>();
  private claimNonce = 0;
  private stunPorts = { port: 0, altPort: 0 };
  /**
   * Origins a hello may name (see origins.ts). Explicit PUBLIC_ORIGINS: every one is tried.
   * Derived: only the one the Host header names, if it is ours — one verification per hello,
   * and the Host header only picks among origins we own, never adds one.
   */
  private allowed: { list: readonly string[]; byHost: ReadonlyMap<string, readonly string[]> | null } = {
    list: NO_ORIGINS,
    byHost: new Map(),
  };
  private readonly welcomeHead: string;
  private welcomeHost = '';
  private welcomeStun = '';
  private welcomeTail = '';
  /** Set when shutdown starts: new connections are refused with RDV_ERR_DRAINING. */
  draining = false;

  constructor(
    private readonly ctx: HubContext,
    private readonly admission: Admission,
    private readonly sender: SocketSender,
    private readonly mail: MailboxDelivery,
    private readonly cache: RouteCache,
    private readonly listeners: SocketListeners,
  ) {
    // peerPacketVersions: the peer-packet versions (byte 0) this server relays (docs/protocol.md).
    this.welcomeHead = `{"instanceId":${JSON.stringify(ctx.selfId)},"peerPacketVersions":${JSON.stringify(PEER_PACKET_VERSIONS)},"key":"`;
  }

  /** Set the origins hellos may name, once the bound port is known. `derived` = not from PUBLIC_ORIGINS. */
  setOrigins(list: readonly string[], derived: boolean): void {
    // Clients sign the host as their URL parser prints it: lower case (PUBLIC_ORIGINS may not be).
    const frozen = Object.freeze(list.map((o) => o.toLowerCase()));
    this.allowed = {
      list: frozen,
      byHost: derived ? new Map(frozen.map((o) => [o, Object.freeze([o])] as const)) : null,
    };
  }

  setStunPorts(port: number, altPort: number): void {
    this.stunPorts = { port, altPort };
    this.welcomeTail = ''; // rebuilt with the new ports
  }

  /** Take a freshly upgraded socket. `host` is the request's Host header. */
  accept(socket: WebSocket, raw: Duplex, ip: string, host: string | undefined): void {
    const ws = socket as SessionSocket;
    ws.on('error', this.listeners.error);
    const { config: c, stats, all } = this.ctx;
    const now = Date.now();
    let reject: RendezvousErrorCode | null = null;
    if (this.draining) reject = 'RDV_ERR_DRAINING';
    else if (all.size >= c.maxConnections) reject = 'RDV_ERR_SERVER_FULL';
    // Sockets that never authenticate must not crowd out peers: they get their own, smaller cap.
    else if (this.pendingAuth.size >= c.maxUnauthenticated) reject = 'RDV_ERR_TOO_MANY_UNAUTHENTICATED';
    else if ((this.blocked.get(ip) ?? 0) > now) reject = 'RDV_ERR_AUTH_BLOCKED';
    let ipState = this.ips.get(ip);
    if (reject === null && ipState !== undefined && ipState.connections >= c.maxConnsPerIp)
      reject = 'RDV_ERR_TOO_MANY_CONNECTIONS';
    // …and one address (one /64) cannot take that whole cap from everyone else.
    if (reject === null && ipState !== undefined && ipState.unauthenticated >= c.maxUnauthenticatedPerIp)
      reject = 'RDV_ERR_TOO_MANY_UNAUTHENTICATED';
    if (reject !== null) {
      stats.connectionsRejected++;
      if (reject === 'RDV_ERR_AUTH_BLOCKED') stats.authFailures.blocked++;
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
    // Host names are case-insensitive; a client signs the lower-case form its URL parser prints.
    const hostHeader = host !== undefined && host.length <= 255 ? host.toLowerCase() : '';
    const { list, byHost } = this.allowed;
    const origins = byHost === null ? list : (byHost.get(hostHeader) ?? NO_ORIGINS);
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
    all.add(s);
    this.pendingAuth.add(s);
    ipState.unauthenticated++;
    stats.connectionsAccepted++;
    ws.on('message', this.listeners.message);
    ws.on('close', this.listeners.close);
    ws.on('pong', this.listeners.pong);
    ws.send(challengeFrame(challenge, now, origins[0] ?? list[0] ?? ''));
  }

  /** The socket closed: forget its place in the auth queue and its share of its IP's limits. */
  release(s: Session): void {
    this.leavePending(s);
    if (this.ctx.all.delete(s) && --s.ipState.connections <= 0) this.ips.delete(s.ip);
  }

  onHello(s: Session, data: Buffer): void {
    let hello: { key: Uint8Array; timestamp: number; signature: Uint8Array; token: string };
    try {
      const f = decodeFrame(data, this.ctx.config.maxFrameBytes);
      if (f.type !== FrameType.HELLO) throw new Error('not a hello');
      hello = f;
    } catch {
      this.authFailure(s, 'bad_hello');
      this.sender.fail(s, 'RDV_ERR_MALFORMED_FRAME');
      return;
    }
    if (s.origins.length === 0) {
      // Derived origins and a Host header naming none of them: whatever it signed, it was not
      // signed for this server (e.g. a hello relayed by a server the client dialed instead).
      this.authFailure(s, 'bad_hello');
      this.sender.fail(s, 'RDV_ERR_WRONG_ORIGIN');
      return;
    }
    try {
      verifyHello(helloSuite, hello, s.challenge, s.origins);
    } catch {
      this.authFailure(s, 'bad_hello');
      this.sender.fail(s, 'RDV_ERR_AUTH_FAILED');
      return;
    }
    s.state = SessionState.AUTHING;
    // The key outlives the connection's other buffers: its own 32 bytes, not a view that would
    // keep a shared 8 KiB pool slab alive for as long as the session is open.
    const key = Buffer.allocUnsafeSlow(KEY_BYTES);
    key.set(hello.key);
    const keyB64 = encodeKey(key);
    const r = this.admission.check(keyB64, key, hello.token);
    if (typeof r === 'string') this.admitted(s, key, keyB64, r);
    else r.then((res) => this.admitted(s, key, keyB64, res));
  }

  private authFailure(s: Session, reason: AuthFailureReason): void {
    const { stats, log, broker, config } = this.ctx;
    stats.authFailures[reason]++;
    log.debug({ ip: s.ip, reason }, 'auth failed');
    const ip = s.ip;
    const now = Date.now();
    broker.hit(`authfail:${ip}`, 60_000, now).then(
      (n) => {
        if (n <= config.authFailuresPerIpPerMin) return;
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
    const { stats, sessions, selfId } = this.ctx;
    if (result !== 'ok') {
      stats.authFailures[result === 'denied' ? 'admission' : 'unavailable']++;
      this.sender.fail(s, result === 'denied' ? 'RDV_ERR_ADMISSION_DENIED' : 'RDV_ERR_ADMISSION_UNAVAILABLE');
      return;
    }
    this.leavePending(s);
    s.key = key;
    s.keyId = key.toString('latin1');
    s.keyB64 = keyB64;
    s.since = Date.now();
    s.claim = flatAscii(makeClaim(selfId, s.since, ++this.claimNonce));
    s.challenge = EMPTY; // let the 32 bytes go
    const old = sessions.get(s.keyId);
    if (old !== undefined && old !== s) this.replace(old);
    sessions.set(s.keyId, s);
    this.cache.delete(s.keyId); // the key is local now: forget any remote route for it
    s.state = SessionState.OPEN;
    s.missed = 0;
    stats.authOk++;
    this.sender.send(s, welcomeFrame(this.welcomeInfo(s)));
    // Only needed for the handshake: don't carry them for the connection's lifetime.
    s.origins = NO_ORIGINS;
    s.hostname = '';
    this.claimAndDrain(s);
  }

  /**
   * WELCOME's JSON. Everything but the key (and TURN credentials, which embed it) is the same
   * for every client that dialed the same host, so that part is serialized once per host name
   * (one entry: clients of an instance dial the same name) instead of once per connection.
   */
  private welcomeInfo(s: Session): string {
    const c = this.ctx.config;
    if (s.hostname !== this.welcomeHost || this.welcomeTail === '') {
      const iceServers: IceServer[] = [];
      const stunName = c.stunPublicHost ?? s.hostname;
      const host = stunName.includes(':') ? `[${stunName}]` : stunName;
      if (this.stunPorts.port !== 0 && host !== '') iceServers.push({ urls: [`stun:${host}:${this.stunPorts.port}`] });
      this.welcomeHost = s.hostname;
      this.welcomeStun = JSON.stringify(iceServers).slice(1, -1);
      const stun = JSON.stringify({
        ...(c.stunPublicHost !== null ? { host: c.stunPublicHost } : {}),
        port: this.stunPorts.port,
        altPort: this.stunPorts.altPort,
      });
      this.welcomeTail = `,"sendQueueMaxBytes":${c.sendQueueMaxBytes},"relayAllowanceBytes":${advertisedRelayAllowanceBytes(c)},"rateBytesPerS":${c.rateBytesPerS},"mailboxTtlMs":${c.mailboxTtlS * 1000},"stun":${stun}}`;
    }
    let ice = this.welcomeStun;
    if (c.turnSecret !== null && c.turnUrls.length > 0) {
      const turn = JSON.stringify(turnCredentials(c.turnSecret, c.turnUrls, c.turnTtlS, s.keyB64, Date.now()));
      ice = ice === '' ? turn : `${ice},${turn}`;
    }
    // keyB64 is base64url: nothing in it needs JSON escaping.
    return `${this.welcomeHead}${s.keyB64}","heartbeatMs":${c.heartbeatIntervalMs},"maxFrameBytes":${c.maxFrameBytes},"iceServers":[${ice}]${this.welcomeTail}`;
  }

  /** Record presence (kicking an older session on another instance), then hand over the mailbox. */
  claimAndDrain(s: Session): void {
    const { broker, config, selfId, out, log } = this.ctx;
    const claim = s.claim;
    // One round trip: presence claim and the mailbox read, in that order.
    broker
      .claimAndTake(s.keyB64, claim, config.presenceTtlS * 1000, Date.now())
      .then(({ prev, mail }) => {
        if (s.state === SessionState.OPEN && prev !== null && prev !== claim) {
          const inst = instanceOf(prev);
          if (inst !== selfId) out.push(inst, encodeKick(s.key!, s.since));
        }
        if (mail.length > 0) return this.mail.deliverTaken(s, mail);
      })
      .catch((err: unknown) => log.warn({ err: String(err) }, 'presence claim failed; serving locally'));
  }

  /** A newer connection for this key took over: end the old one with RDV_ERR_REPLACED. */
  replace(old: Session): void {
    this.ctx.stats.replaced++;
    if (this.ctx.sessions.get(old.keyId) === old) this.ctx.sessions.delete(old.keyId);
    this.sender.fail(old, 'RDV_ERR_REPLACED');
  }

  /** The session is no longer waiting to authenticate (admitted, timed out or closed). */
  private leavePending(s: Session): void {
    if (this.pendingAuth.delete(s)) s.ipState.unauthenticated--;
  }

  /** Close sockets past AUTH_DEADLINE_MS without a verified hello; expire IP blocks. */
  sweepAuth(): void {
    const deadline = Date.now() - this.ctx.config.authDeadlineMs;
    for (const s of this.pendingAuth) {
      if (s.openedAt > deadline) break; // insertion order = age order
      this.leavePending(s);
      this.ctx.stats.authFailures.timeout++;
      this.sender.fail(s, 'RDV_ERR_AUTH_TIMEOUT');
    }
    const now = Date.now();
    for (const [ip, until] of this.blocked) if (until <= now) this.blocked.delete(ip);
  }
}

/**
 * A sequential copy of an ASCII string built by concatenation. V8 keeps `a + b` (and template
 * literals) as a tree of cons cells until the string is flattened; a claim kept for the whole
 * connection (here and in the broker) was ~a dozen cells, ~400 bytes of heap per connection
 * that every scavenge copied (issue 18: a heap snapshot at 2,000 connections).
 */
function flatAscii(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

const EMPTY = Buffer.alloc(0);
const NO_ORIGINS: readonly string[] = Object.freeze([]);
