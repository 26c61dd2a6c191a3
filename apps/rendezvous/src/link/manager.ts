/**
 * Instance links (docs/instance-links.md): route batches between the instances of a fleet over
 * direct, authenticated TCP links instead of Redis pub/sub, with Redis as the fallback.
 *
 * - This instance listens on INSTANCE_LINK_LISTEN and announces its INSTANCE_LINK_ADDR in Redis
 *   beside its instance id (LINK_ANNOUNCE_TTL_MS, refreshed).
 * - A batch for another instance goes over the link to it when one is open; otherwise through
 *   Redis as before, and a dial is started (lazily, at most one per peer, backed off on failure)
 *   when that instance announces an address. Two instances dialing each other at once keep the
 *   link dialed by the lower instance id, so a pair ends up with one link.
 * - A link that dies (or stalls past LINK_UNACKED_MAX_BYTES) hands back the batches its peer did
 *   not acknowledge; they are published through Redis as REPLAY records, and the peer skips those
 *   it had already processed (streams.ts). So a message in flight is delivered once, or answered
 *   exactly as the Redis path would (ROUTE_TIMEOUT when neither path reaches the peer).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Logger } from 'pino';
import type { Broker } from '../broker/broker.js';
import type { Config } from '../config.js';
import { ROUTE_BATCH_MAX_BYTES } from '../constants.js';
import { RendezvousError, type RendezvousErrorCode } from '../errors.js';
import { encodeReplayHeader } from '../route-codec.js';
import { parseHostPort } from './address.js';
import {
  LINK_ADDR_CACHE_MS,
  LINK_ANNOUNCE_INTERVAL_MS,
  LINK_ANNOUNCE_TTL_MS,
  LINK_IDLE_TIMEOUT_MS,
  LINK_KEEPALIVE_MS,
  LINK_MAX_PEERS,
  LINK_MAX_PENDING_HANDSHAKES,
  LINK_PEER_STATE_IDLE_MS,
  LINK_PEER_STATES_MAX,
  LINK_REDIAL_MAX_MS,
  LINK_REDIAL_MIN_MS,
} from './constants.js';
import { Link, type LinkHooks, type Unacked } from './link.js';
import { StreamLedger } from './streams.js';

/** Where a batch for another instance goes: the broker directly, or a LinkManager. */
export interface BatchSink {
  send(instance: string, chunks: Buffer[], bytes: number): void;
}

/** The broker's pub/sub as a BatchSink (no links configured). */
export function brokerSink(broker: Broker): BatchSink {
  return {
    send(instance, chunks, bytes) {
      broker.publish(instance, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes));
    },
  };
}

interface PeerState {
  /** Its announced link address, null when it has none; valid for LINK_ADDR_CACHE_MS after addrAt. */
  addr: string | null;
  addrAt: number;
  lookingUp: boolean;
  /** The open link to it. */
  link: Link | null;
  /** Our dial in progress (connecting or authenticating). */
  dialing: Link | null;
  failures: number;
  nextDialAt: number;
  /** Last batch for it or link event, ms: idle states are forgotten (LINK_PEER_STATE_IDLE_MS). */
  usedAt: number;
}

function newPeerState(): PeerState {
  return {
    addr: null,
    addrAt: 0,
    lookingUp: false,
    link: null,
    dialing: null,
    failures: 0,
    nextDialAt: 0,
    usedAt: Date.now(),
  };
}

export interface LinkCounters {
  /** Batches sent over links / through Redis by this sink. */
  batchesOverLinks: number;
  batchesOverRedis: number;
  /** Batches replayed through Redis after a link ended unacknowledged. */
  batchesReplayed: number;
  /** Links that ended (any reason) / were refused during the handshake. */
  linksClosed: number;
  handshakesRefused: number;
}

export class LinkManager implements BatchSink {
  readonly counters: LinkCounters = {
    batchesOverLinks: 0,
    batchesOverRedis: 0,
    batchesReplayed: 0,
    linksClosed: 0,
    handshakesRefused: 0,
  };
  private readonly peers = new Map<string, PeerState>();
  private readonly pendingInbound = new Set<Link>();
  private readonly ledger = new StreamLedger();
  private readonly hooks: LinkHooks;
  private server: Server | null = null;
  private advertised: string | null = null;
  private timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private openLinks = 0;
  /** Date.now() as of the last keepalive tick: coarse, but free on the send path. */
  private now = Date.now();

  constructor(
    private readonly config: Config,
    private readonly broker: Broker,
    private readonly log: Logger,
    /** Records of a batch received over a link (regions of whole records); false when they do not decode. */
    private readonly deliver: (records: Buffer[]) => boolean,
  ) {
    this.hooks = {
      selfId: config.instanceId,
      secret: Buffer.from(config.instanceLinkSecret ?? '', 'utf8'),
      // A batch is flushed at ROUTE_BATCH_MAX_BYTES, so it holds at most that plus one record.
      maxFrame: ROUTE_BATCH_MAX_BYTES + config.maxFrameBytes + 1024,
      authenticated: (link) => this.onAuthenticated(link),
      onBatch: (link, seq, records) => {
        if (!this.ledger.take(link.inStream, seq, Date.now())) return true; // already replayed through Redis
        return this.deliver(records);
      },
      onClosed: (link, code, unacked) => this.onClosed(link, code, unacked),
    };
  }

  /** The address other instances dial (announced in Redis), once started. */
  address(): string | null {
    return this.advertised;
  }

  /** The open link to `instance`, if any (tests and metrics). */
  linkTo(instance: string): Link | null {
    return this.peers.get(instance)?.link ?? null;
  }

  get openCount(): number {
    return this.openLinks;
  }

  async start(): Promise<void> {
    const listen = parseHostPort(this.config.instanceLinkListen ?? '');
    if (listen === null) throw new RendezvousError('RDV_ERR_CONFIG', 'INSTANCE_LINK_LISTEN is not host:port');
    const server = createServer({ noDelay: true }, (sock) => this.onInbound(sock));
    server.maxConnections = LINK_MAX_PEERS + LINK_MAX_PENDING_HANDSHAKES;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new RendezvousError(
            'RDV_ERR_LISTEN',
            `INSTANCE_LINK_LISTEN=${this.config.instanceLinkListen}: cannot listen (${err.code ?? err.message}); set it to a free host:port`,
          ),
        ),
      );
      server.listen(listen.port, listen.host, () => resolve());
    });
    server.on('error', (err) => this.log.warn({ err: String(err) }, 'instance link listener error'));
    this.server = server;
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : listen.port;
    const adv = this.config.instanceLinkAddr;
    if (adv !== null) {
      const p = parseHostPort(adv)!;
      // Port 0 in the advertised address means "the port we bound" (tests, and LISTEN port 0).
      this.advertised = p.port === 0 ? `${adv.slice(0, adv.lastIndexOf(':'))}:${port}` : adv;
    } else {
      this.advertised = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`;
    }
    this.announce();
    this.timers.push(
      setInterval(() => this.announce(), LINK_ANNOUNCE_INTERVAL_MS),
      setInterval(() => this.keepalive(), LINK_KEEPALIVE_MS),
    );
    for (const t of this.timers) t.unref();
    this.log.info({ listen: this.config.instanceLinkListen, advertised: this.advertised }, 'instance links listening');
  }

  /** Close every link (their unacknowledged batches go through Redis) and the listener. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const l of this.pendingInbound) l.close(null);
    for (const st of this.peers.values()) {
      st.dialing?.close(null);
      st.link?.close(null);
    }
    const addr = this.advertised;
    if (addr !== null) await this.broker.linkWithdraw(this.config.instanceId, addr).catch(() => {});
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((r) => server.close(() => r()));
  }

  // ------------------------------------------------------------------ sending

  send(instance: string, chunks: Buffer[], bytes: number): void {
    const st = this.peers.get(instance);
    const link = st?.link;
    if (link != null) {
      st!.usedAt = this.now;
      if (link.sendBatch(chunks, bytes)) {
        this.counters.batchesOverLinks++;
        return;
      }
      // Stalled (or out of sequence numbers): replay what it holds, then this batch, through Redis.
      this.log.warn(
        { peer: instance, unackedBytes: link.unackedBytes },
        'instance link stalled; falling back to Redis',
      );
      link.fail('RDV_ERR_LINK_LIMIT');
    }
    this.counters.batchesOverRedis++;
    this.broker.publish(instance, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes));
    if (st !== undefined) st.usedAt = this.now;
    this.maybeDial(instance, st);
  }

  /** Whether a REPLAY record of `stream` / `seq` (from Redis) is new here; see streams.ts. */
  acceptReplay(stream: string, seq: number): boolean {
    return this.ledger.take(stream, seq, Date.now());
  }

  private maybeDial(instance: string, known: PeerState | undefined): void {
    if (this.stopped) return;
    let st = known;
    if (st === undefined) {
      if (this.peers.size >= LINK_PEER_STATES_MAX) return; // Redis keeps serving this peer
      st = newPeerState();
      this.peers.set(instance, st);
    }
    if (st.link !== null || st.dialing !== null || st.lookingUp) return;
    const now = Date.now();
    if (now < st.nextDialAt) return;
    if (now - st.addrAt < LINK_ADDR_CACHE_MS) {
      if (st.addr !== null) this.dial(instance, st, st.addr);
      return;
    }
    st.lookingUp = true;
    const s = st;
    this.broker.linkLookup(instance).then(
      (addr) => {
        s.lookingUp = false;
        s.addr = addr;
        s.addrAt = Date.now();
        if (addr !== null && s.link === null && s.dialing === null && !this.stopped) this.dial(instance, s, addr);
      },
      () => {
        s.lookingUp = false;
        s.addrAt = Date.now();
      },
    );
  }

  private dial(instance: string, st: PeerState, addr: string): void {
    const hp = parseHostPort(addr);
    if (hp === null) {
      this.log.warn({ peer: instance, addr }, 'instance announces a link address that is not host:port; using Redis');
      st.addr = null;
      return;
    }
    const sock = tcpConnect({ host: hp.host, port: hp.port, noDelay: true });
    st.dialing = new Link(sock, 'dialer', this.hooks, instance);
  }

  // ------------------------------------------------------------------ accepting

  private onInbound(sock: Socket): void {
    if (this.stopped || this.pendingInbound.size >= LINK_MAX_PENDING_HANDSHAKES) {
      this.counters.handshakesRefused++;
      sock.on('error', () => {});
      sock.destroy();
      return;
    }
    this.pendingInbound.add(new Link(sock, 'acceptor', this.hooks));
  }

  /**
   * Both ends proved the secret. Install the link, unless a link to the same peer exists that
   * wins the tie-break (dialed by the lower instance id): the loser closes, its unacknowledged
   * batches (if any) replayed through Redis.
   */
  private onAuthenticated(link: Link): boolean {
    this.pendingInbound.delete(link);
    if (this.stopped) return false;
    const peer = link.peerId;
    let st = this.peers.get(peer);
    if (st === undefined) {
      if (this.peers.size >= LINK_PEER_STATES_MAX) return this.refuse(link);
      st = newPeerState();
      this.peers.set(peer, st);
    }
    const others = [st.link, st.dialing].filter((l): l is Link => l !== null && l !== link);
    // biome-ignore lint/complexity/useMathMinMax: instance ids are strings; Math.min would compare NaN
    const winner = this.config.instanceId < peer ? this.config.instanceId : peer;
    if (others.length > 0 && link.dialedBy !== winner) return this.refuse(link);
    if (st.link === null && this.openLinks >= LINK_MAX_PEERS) return this.refuse(link);
    // Reassign first, so the losers' onClosed sees they are no longer this peer's links.
    if (st.dialing === link || others.includes(st.dialing!)) st.dialing = null;
    if (st.link !== null) {
      st.link = null;
      this.openLinks--;
    }
    st.link = link;
    st.failures = 0;
    this.openLinks++;
    this.ledger.opened(link.inStream);
    for (const o of others) o.close(null);
    this.log.info({ peer, role: link.role }, 'instance link open');
    return true;
  }

  private refuse(_link: Link): boolean {
    this.counters.handshakesRefused++;
    return false;
  }

  private onClosed(link: Link, code: RendezvousErrorCode | null, unacked: Unacked[]): void {
    this.pendingInbound.delete(link);
    this.counters.linksClosed++;
    const now = Date.now();
    if (link.inStream !== '') this.ledger.closed(link.inStream, now);
    if (unacked.length > 0) this.replay(link.peerId, link.outStream, unacked);
    const st = this.peers.get(link.peerId);
    if (st !== undefined && (st.link === link || st.dialing === link)) {
      const wasOpen = st.link === link;
      if (wasOpen) {
        st.link = null;
        this.openLinks--;
      }
      st.dialing = null;
      // A link that worked is re-dialed soon; dials that keep failing back off up to LINK_REDIAL_MAX_MS.
      st.failures = wasOpen ? 0 : st.failures + 1;
      st.nextDialAt = now + Math.min(LINK_REDIAL_MAX_MS, LINK_REDIAL_MIN_MS * 2 ** Math.min(st.failures, 16));
      st.addrAt = 0; // look the address up again: the peer may have restarted elsewhere
      if (wasOpen || code !== null)
        this.log.warn({ peer: link.peerId, code, replayed: unacked.length }, 'instance link closed; using Redis');
    } else if (code !== null && link.role === 'acceptor' && link.inStream === '') {
      // A dial that never authenticated: counted, logged at debug only, so a stranger probing the
      // port cannot flood the log (the dialing instance, if it is ours, warns on its side).
      this.counters.handshakesRefused++;
      this.log.debug({ code }, 'instance link handshake refused');
    } else if (code !== null) {
      this.log.warn({ peer: link.peerId || undefined, code }, 'instance link ended');
    }
  }

  /** Publish unacknowledged batches through Redis as REPLAY records, in order, grouped up to ROUTE_BATCH_MAX_BYTES. */
  private replay(instance: string, stream: Buffer, unacked: Unacked[]): void {
    let parts: Buffer[] = [];
    let bytes = 0;
    const flush = (): void => {
      if (parts.length === 0) return;
      this.broker.publish(instance, Buffer.concat(parts, bytes));
      parts = [];
      bytes = 0;
    };
    for (const u of unacked) {
      const head = encodeReplayHeader(stream, u.seq, u.bytes);
      parts.push(head, ...u.chunks);
      bytes += head.length + u.bytes;
      this.counters.batchesReplayed++;
      if (bytes >= ROUTE_BATCH_MAX_BYTES) flush();
    }
    flush();
  }

  // ------------------------------------------------------------------ timers

  private announce(): void {
    const addr = this.advertised;
    if (addr === null || this.stopped || !this.broker.isReady()) return;
    this.broker
      .linkAnnounce(this.config.instanceId, addr, LINK_ANNOUNCE_TTL_MS)
      .catch((err: unknown) => this.log.debug({ err: String(err) }, 'link address announce failed'));
  }

  /** Keepalive ACKs on every open link; a link silent for LINK_IDLE_TIMEOUT_MS of our ticks is closed (and replayed). */
  private keepalive(): void {
    const now = Date.now();
    this.now = now;
    for (const [id, st] of this.peers) {
      const l = st.link;
      if (l === null) {
        if (st.dialing === null && !st.lookingUp && now - st.usedAt > LINK_PEER_STATE_IDLE_MS) this.peers.delete(id);
        continue;
      }
      if (++l.silentTicks > LINK_IDLE_TIMEOUT_MS / LINK_KEEPALIVE_MS) {
        this.log.warn({ peer: l.peerId }, 'instance link silent; closing');
        l.close(null);
      } else l.sendAck();
    }
    this.ledger.sweep(now);
  }
}
