/**
 * RelayHub: the rendezvous core. Wires the modules that serve this instance's sockets —
 * handshake (limits, CHALLENGE/HELLO, WELCOME, presence), router (SIGNAL/RELAY, local and
 * cross-instance, exactly one answer per frameId), the prekey store's frames, mailbox delivery, the socket sender (bounded
 * queue, corking) and drain — and owns what spans them: frame dispatch, socket close, the
 * heartbeat and the periodic sweeps.
 */

import type { Duplex } from 'node:stream';
import { FrameType } from '@p2p-comm/protocol';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import type { Admission } from './admission.js';
import type { Broker } from './broker/broker.js';
import type { Config } from './config.js';
import { HEARTBEAT_MAX_MISSED, ROUTE_SWEEP_INTERVAL_MS } from './constants.js';
import type { HubContext } from './hub/context.js';
import { Drain } from './hub/drain.js';
import { Handshake, SESSION, type SessionSocket } from './hub/handshake.js';
import { MailboxDelivery } from './hub/mailbox-delivery.js';
import { PrekeyFrames } from './hub/prekeys.js';
import { Router } from './hub/router.js';
import { SocketSender } from './hub/sender.js';
import { brokerSink, LinkManager } from './link/manager.js';
import { OutboundBatcher } from './outbound.js';
import { takeTokens } from './rate-limit.js';
import { RouteCache } from './route-cache.js';
import { type Session, SessionState } from './session.js';
import type { Stats } from './stats.js';

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
  private readonly ctx: HubContext;
  private readonly sender: SocketSender;
  private readonly mail: MailboxDelivery;
  private readonly handshake: Handshake;
  private readonly router: Router;
  private readonly prekeys: PrekeyFrames;
  private readonly drainer: Drain;
  private timers: NodeJS.Timeout[] = [];

  constructor(deps: HubDeps) {
    const { config, broker, stats, log } = deps;
    const links =
      config.instanceLinkListen === null
        ? null
        : new LinkManager(config, broker, log, (records) => this.router.onLinkBatch(records));
    this.ctx = {
      config,
      broker,
      stats,
      log,
      selfId: config.instanceId,
      selfIdBuf: Buffer.from(config.instanceId, 'latin1'),
      sessions: this.sessions,
      all: this.all,
      out: new OutboundBatcher(links ?? brokerSink(broker), stats),
      links,
    };
    const cache = new RouteCache(config.routeCacheTtlMs, config.routeCacheMaxEntries);
    this.sender = new SocketSender(this.ctx, (s) => this.detach(s));
    this.mail = new MailboxDelivery(this.ctx, this.sender);
    const hub = this;
    // Shared listeners: one function per hub, `this` is the socket, so no per-connection closures.
    this.handshake = new Handshake(this.ctx, deps.admission, this.sender, this.mail, cache, {
      message(data: RawData, isBinary: boolean) {
        const s = this[SESSION];
        if (s !== undefined) hub.onFrame(s, data as Buffer, isBinary);
      },
      close() {
        const s = this[SESSION];
        if (s !== undefined) hub.onClose(s);
      },
      pong() {
        const s = this[SESSION];
        if (s !== undefined) s.missed = 0;
      },
      error(this: SessionSocket, err: Error & { code?: string }) {
        // ws has already failed the connection (e.g. 1009 for a frame over maxPayload); count why.
        if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') stats.drops.frame_too_large++;
        else stats.drops.malformed++;
        const s = this[SESSION];
        if (s !== undefined) s.state = SessionState.CLOSED;
      },
    });
    this.router = new Router(this.ctx, this.sender, this.mail, cache, (old) => this.handshake.replace(old));
    this.drainer = new Drain(this.ctx, this.sender);
    this.prekeys = new PrekeyFrames(this.ctx, this.sender);
  }

  /** Cross-instance frames awaiting the remote answer, by pendingId. */
  get pending(): ReadonlyMap<number, unknown> {
    return this.router.pending;
  }

  /** True once shutdown has started (readiness answers 503, new sockets are refused). */
  get draining(): boolean {
    return this.handshake.draining;
  }

  /** Subscribe to this instance's channel and start the heartbeat, auth-deadline and route sweeps. */
  async start(): Promise<void> {
    const { broker, log, config: c } = this.ctx;
    broker.onReadyChange((ready) => {
      log.warn({ ready, broker: broker.kind }, 'broker readiness changed');
      if (ready) this.resync();
    });
    await broker.start(this.ctx.selfId, this.router.onBatch);
    if (this.ctx.links !== null)
      try {
        await this.ctx.links.start();
      } catch (err) {
        await broker.stop();
        throw err;
      }
    this.timers.push(
      setInterval(() => this.heartbeat(), c.heartbeatIntervalMs),
      setInterval(() => this.handshake.sweepAuth(), Math.max(50, Math.min(1000, c.authDeadlineMs / 4))),
      setInterval(() => this.router.sweepPending(), Math.min(ROUTE_SWEEP_INTERVAL_MS, c.routeTimeoutMs)),
      // A quarter of the timeout (at most 1 s): a stalled reader is cut within 1.25 × SLOW_READER_TIMEOUT_MS.
      setInterval(() => this.sender.sweepStalled(Date.now()), Math.max(50, Math.min(1000, c.slowReaderTimeoutMs / 4))),
    );
    for (const t of this.timers) t.unref();
  }

  setStunPorts(port: number, altPort: number): void {
    this.handshake.setStunPorts(port, altPort);
  }

  /** The origins hellos may name (PUBLIC_ORIGINS, or `derived` from the bind address). */
  setOrigins(origins: readonly string[], derived: boolean): void {
    this.handshake.setOrigins(origins, derived);
  }

  /** Take a freshly upgraded socket. `host` is the request's Host header. */
  accept(socket: WebSocket, raw: Duplex, ip: string, host: string | undefined): void {
    this.handshake.accept(socket, raw, ip, host);
  }

  private onClose(s: Session): void {
    s.state = SessionState.CLOSED;
    this.handshake.release(s);
    this.detach(s);
    this.mail.release(s); // mailbox envelopes not yet sent go back, none lost
    this.sender.stalled.delete(s);
    this.drainer.onSocketClosed();
  }

  /** Take the session out of routing (its key is offline from now on) and release its presence. */
  private detach(s: Session): void {
    if (s.keyId !== '' && this.sessions.get(s.keyId) === s) {
      this.sessions.delete(s.keyId);
      this.ctx.broker
        .release(s.keyB64, s.claim)
        .catch((err: unknown) => this.ctx.log.debug({ err }, 'presence release failed'));
    }
  }

  private onFrame(s: Session, data: Buffer, isBinary: boolean): void {
    if (s.state === SessionState.CLOSED) return;
    const { stats } = this.ctx;
    const sender = this.sender;
    s.missed = 0;
    stats.framesIn++;
    stats.bytesIn += data.length;
    if (!isBinary) {
      stats.drops.text_frame++;
      sender.fail(s, 'RDV_ERR_TEXT_FRAME');
      return;
    }
    if (data.length === 0) {
      // An empty message has no type byte: it does not decode (PROTO_ERR_TRUNCATED), in any state.
      stats.drops.malformed++;
      sender.fail(s, 'RDV_ERR_MALFORMED_FRAME');
      return;
    }
    const type = data[0]!;
    if (s.state !== SessionState.OPEN) {
      if (s.state === SessionState.PENDING && type === FrameType.HELLO) {
        this.handshake.onHello(s, data);
        return;
      }
      stats.authFailures.not_authenticated++;
      sender.fail(s, 'RDV_ERR_NOT_AUTHENTICATED');
      return;
    }
    const now = Date.now();
    switch (type) {
      case FrameType.SIGNAL:
      case FrameType.RELAY:
        this.router.onRouted(s, data, type, now);
        return;
      case FrameType.RELAY_TTL:
        this.router.onRelayTtl(s, data, now);
        return;
      case FrameType.PREKEY_PUBLISH:
      case FrameType.PREKEY_FETCH:
        this.prekeys.onFrame(s, data, now);
        return;
      case FrameType.PING:
        if (data.length !== 9) {
          stats.drops.malformed++;
          sender.fail(s, 'RDV_ERR_MALFORMED_FRAME');
          return;
        }
        if (!takeTokens(s, this.ctx.config, data.length, now)) {
          stats.drops.rate_limited++;
          sender.fail(s, 'RDV_ERR_RATE_LIMITED');
          return;
        }
        data[0] = FrameType.PONG; // echo the nonce in place
        sender.send(s, data);
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
      case FrameType.PREKEY_BUNDLE:
        stats.drops.unexpected_frame++;
        sender.fail(s, 'RDV_ERR_UNEXPECTED_FRAME');
        return;
      default:
        stats.drops.unknown_frame++;
        sender.fail(s, 'RDV_ERR_UNKNOWN_FRAME');
        return;
    }
  }

  /** Ping every socket, cut the ones that missed too many, and refresh this instance's presence keys. */
  private heartbeat(): void {
    const { broker, config, stats, log } = this.ctx;
    const entries: [string, string][] = [];
    for (const s of this.all) {
      if (s.state === SessionState.CLOSED) continue;
      if (s.missed >= HEARTBEAT_MAX_MISSED) {
        stats.drops.heartbeat++;
        this.sender.cut(s, 'RDV_ERR_HEARTBEAT_TIMEOUT', true);
        continue;
      }
      s.missed++;
      s.ws.ping();
      if (s.state === SessionState.OPEN && this.sessions.get(s.keyId) === s) entries.push([s.keyB64, s.claim]);
    }
    if (entries.length > 0 && broker.isReady())
      broker
        .refresh(entries, config.presenceTtlS * 1000)
        .catch((err: unknown) => log.warn({ err: String(err) }, 'presence refresh failed'));
  }

  /** After the broker comes back: re-claim presence for every local key and hand over mailboxes. */
  private resync(): void {
    for (const s of this.sessions.values()) if (s.state === SessionState.OPEN) this.handshake.claimAndDrain(s);
  }

  /**
   * Tell every client RESTARTING, refuse new connections, and wait up to `timeoutMs` for the
   * clients to leave; then close the rest with 1012.
   */
  drain(timeoutMs: number): Promise<void> {
    this.handshake.draining = true;
    return this.drainer.run(timeoutMs);
  }

  /** Stop timers (after drain) and close the instance links (their unacknowledged batches go through the broker). */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.ctx.links
      ?.stop()
      .catch((err: unknown) => this.ctx.log.warn({ err: String(err) }, 'closing instance links failed'));
  }

  /** Instance links, when INSTANCE_LINK_LISTEN is set (tests and metrics). */
  get links(): LinkManager | null {
    return this.ctx.links;
  }

  /** Sessions by state, for metrics. */
  counts(): { open: number; pendingAuth: number; pendingRoutes: number; routeCache: number } {
    return {
      open: this.sessions.size,
      pendingAuth: this.handshake.pendingAuth.size,
      pendingRoutes: this.router.pending.size,
      routeCache: this.router.cache.size,
    };
  }
}
