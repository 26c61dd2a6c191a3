/**
 * The path upgrader: moves each peer's traffic from the relay to a better path and back.
 *
 * The first message never waits: the session sends on the best open Link (the relay opens on
 * demand), while this tries a direct WebSocket (to addresses the peer published through the
 * rendezvous, found by mDNS, or given by hand) and WebRTC in parallel. Each Link that opens is
 * handed to the PathManager, which prefers direct > webrtc > relay; when one dies the manager
 * falls back and this retries with backoff. The session's end-to-end acks, retransmits and
 * dedupe make every switch lossless and duplicate-free.
 *
 * Negotiation travels as signed, encrypted SIGNAL envelopes over the rendezvous connection
 * (DELIVER channel 0), from and to trusted peers only; JSON payloads:
 *   {t:'rtc', id, s}   a WebRTC offer/answer/candidate for attempt `id` (lower key initiates)
 *   {t:'rtc-req'}      "please start a WebRTC attempt" (from the higher key)
 *   {t:'rtc-off', id}  "WebRTC is disabled here"
 *   {t:'addrs', a}     the sender's direct listener addresses [{h, p}]
 */
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  bytesEqual,
  type CryptoSuite,
  decodeKey,
  EnvelopeType,
  encodeKey,
  type Identity,
  openEnvelope,
  ReplayGuard,
  randomBytes,
  sealEnvelope,
  toHex,
} from '@p2p-comm/protocol';
import { type AddressPolicy, isDialableAddress } from './address-policy.js';
import {
  UPGRADE_MAX_ADDRESSES_PER_PEER,
  UPGRADE_MAX_OWN_ADDRESSES,
  UPGRADE_MAX_PEERS,
  UPGRADE_MAX_SIGNAL_PAYLOAD_BYTES,
  UPGRADE_RETRY_BASE_MS,
  UPGRADE_RETRY_MAX_MS,
  UPGRADE_TICK_MS,
} from './direct-constants.js';
import { type DirectAddress, dialDirect } from './direct-dialer.js';
import { isPathError, type PathError } from './direct-errors.js';
import type { DirectLink } from './direct-link.js';
import { DirectListener } from './direct-listener.js';
import { MdnsDiscovery, type MdnsSocketOptions } from './mdns-discovery.js';
import { DIRECT_REDIAL_MIN_INTERVAL_MS } from './path-constants.js';
import type { PathManager } from './path-manager.js';
import type { RendezvousConnection } from './rendezvous-connection.js';
import { WEBRTC_MAX_ICE_SERVERS } from './webrtc-constants.js';
import { type DataPeerFactory, type IceServer, simplePeerFactory } from './webrtc-factory.js';
import { WebRtcAttempt, type WebRtcLink, webrtcReason } from './webrtc-link.js';
import { checkSignal } from './webrtc-signal.js';

const SIGNAL_CHANNEL = 0;

export interface PathUpgraderOptions {
  readonly suite: CryptoSuite;
  readonly identity: Identity;
  readonly paths: PathManager;
  /** The rendezvous connection that carries negotiation; null = direct only (hints by hand/mDNS). */
  readonly conn: RendezvousConnection | null;
  /** Whether a base64url key is a peer we have mutual consent with. */
  readonly isTrusted: (key: string) => boolean;
  /** Direct listener; null/undefined = no listener (the default). */
  readonly listen?: {
    readonly host: string;
    readonly port: number;
    readonly advertise?: readonly DirectAddress[];
  } | null;
  /** Try WebRTC (default true when a factory loads). */
  readonly webrtc?: boolean;
  /** Builds the WebRTC stack lazily (default simple-peer + wrtc). */
  readonly webrtcFactory?: () => DataPeerFactory;
  /** mDNS discovery; false/undefined = off. */
  readonly mdns?: MdnsSocketOptions | false;
  /** Called after a path's status line changed (e.g. "webrtc: ice failed") for that peer. */
  readonly onStatus?: (peer: string) => void;
  /**
   * Which addresses handed to `addAddress` (by a peer, mDNS or the caller) may be dialed;
   * default: unicast only, no loopback or link-local (address-policy.ts).
   */
  readonly addressPolicy?: AddressPolicy;
  /** Overrides for tests, ms. */
  readonly timings?: {
    readonly tickMs?: number;
    readonly retryBaseMs?: number;
    readonly webrtcConnectTimeoutMs?: number;
    readonly webrtcPingIntervalMs?: number;
    readonly webrtcDeadAfterMs?: number;
  };
}

interface PathTry {
  busy: boolean;
  failures: number;
  nextAt: number;
  /** When the last attempt started, ms since epoch (DIRECT_REDIAL_MIN_INTERVAL_MS). */
  startedAt: number;
}

interface PeerState {
  readonly key: Uint8Array;
  readonly direct: PathTry;
  readonly webrtc: PathTry;
  addresses: DirectAddress[];
  directLink?: DirectLink;
  attempt?: { id: string; rtc: WebRtcAttempt };
  webrtcLink?: WebRtcLink;
  /** Our addresses were sent since the last (re)connect. */
  addrsSent: boolean;
  /** The peer's addresses arrived since the last (re)connect. */
  addrsHeard: boolean;
  peerWebrtcOff: boolean;
  lastActive: number;
}

type Negotiation =
  | { t: 'rtc'; id: string; s: unknown }
  | { t: 'rtc-req' }
  | { t: 'rtc-off'; id?: string }
  | { t: 'addrs'; a: Array<{ h: string; p: number }> };

export class PathUpgrader {
  readonly #o: PathUpgraderOptions;
  readonly #peers = new Map<string, PeerState>();
  // Only trusted peers' signals are opened (see #onDeliver); per-sender budgets keep one
  // peer's signals from ageing out another's.
  readonly #guard = new ReplayGuard({ isTrusted: (key) => this.#o.isTrusted(key) });
  #webrtc: boolean;
  #factory: DataPeerFactory | undefined;
  #listener: DirectListener | undefined;
  #mdns: MdnsDiscovery | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ownAddresses: DirectAddress[] = [];
  #stopped = false;
  #refusedAddresses = 0;
  #directDials = 0;
  #directLinksInstalled = 0;
  /**
   * Peers `ensure` saw before consent completed: traffic with them (the consent exchange itself)
   * re-checks trust, so the upgrade starts the moment they are trusted, not on the next tick.
   * A subset of #peers' keys (bounded by UPGRADE_MAX_PEERS).
   */
  readonly #awaitingTrust = new Set<string>();

  constructor(opts: PathUpgraderOptions) {
    this.#o = opts;
    this.#webrtc = opts.webrtc ?? true;
  }

  /** The bound direct listener address, when listening. */
  get listenAddress(): DirectAddress | undefined {
    return this.#listener?.address;
  }

  get webrtcEnabled(): boolean {
    return this.#webrtc;
  }

  /** Addresses refused by the address policy since start, addresses (diagnostics). */
  get refusedAddresses(): number {
    return this.#refusedAddresses;
  }

  /** Direct dials started since start, dials (diagnostics: dual dials must not storm). */
  get directDials(): number {
    return this.#directDials;
  }

  /** Direct links installed as a peer's link since start, links (diagnostics). */
  get directLinksInstalled(): number {
    return this.#directLinksInstalled;
  }

  async start(): Promise<void> {
    const o = this.#o;
    if (o.listen) {
      this.#listener = new DirectListener({
        suite: o.suite,
        identity: o.identity,
        host: o.listen.host,
        port: o.listen.port,
        acceptKey: (k) => o.isTrusted(encodeKey(k)),
        onLink: (link) => this.#onDirectLink(link),
      });
      const bound = await this.#listener.start();
      const advertise = o.listen.advertise ?? (isWildcard(bound.host) ? lanAddresses(bound.port) : [bound]);
      this.#ownAddresses = advertise
        .slice(0, UPGRADE_MAX_OWN_ADDRESSES)
        .map((a) => ({ host: a.host, port: a.port || bound.port }));
    }
    if (o.mdns) {
      const bound = this.#listener?.address;
      // On the LAN, announce the published addresses, else where the listener is bound.
      const lan = this.#ownAddresses.length > 0 || !bound || isWildcard(bound.host) ? this.#ownAddresses : [bound];
      const announce = bound
        ? { key: o.identity.publicKey, port: bound.port, addresses: lan.map((a) => a.host) }
        : undefined;
      this.#mdns = new MdnsDiscovery({
        socket: o.mdns,
        ...(announce ? { announce } : {}),
        wants: (k) => o.isTrusted(encodeKey(k)),
        onHint: (h) => this.addAddress(h.key, { host: h.host, port: h.port }),
      });
      await this.#mdns.start();
      this.#mdns.query();
    }
    o.conn?.on('deliver', this.#onDeliver);
    o.conn?.on('state', this.#onConnState);
    o.paths.onPathChange((peer, best) => {
      if (best !== 'direct') this.ensure(peer);
    });
    o.paths.onTraffic(this.#onTraffic);
    this.#timer = setInterval(() => this.#tick(), o.timings?.tickMs ?? UPGRADE_TICK_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#o.conn?.off('deliver', this.#onDeliver);
    this.#o.conn?.off('state', this.#onConnState);
    for (const p of this.#peers.values()) {
      p.attempt?.rtc.cancel('webrtc: stopped');
      p.webrtcLink?.close('webrtc: stopped');
      p.directLink?.close('direct: stopped');
    }
    await this.#listener?.stop();
    await this.#mdns?.stop();
  }

  /** Turn WebRTC on or off at run time. Off closes open WebRTC links (traffic falls back). */
  setWebrtcEnabled(on: boolean): void {
    this.#webrtc = on;
    for (const [id, p] of this.#peers) {
      if (!on) {
        p.attempt?.rtc.cancel('webrtc: disabled');
        p.attempt = undefined;
        p.webrtcLink?.close('webrtc: disabled');
        this.#status(id, 'webrtc', 'webrtc: disabled');
      } else {
        p.webrtc.failures = 0;
        p.webrtc.nextAt = 0;
        this.ensure(id);
      }
    }
  }

  /** A candidate direct address for a peer (share string, mDNS, published hint). Only a hint. */
  addAddress(peerKey: Uint8Array, address: DirectAddress): void {
    // Every address enters here, whoever chose it: one policy point, before any state.
    if (!isDialableAddress(address.host, this.#o.addressPolicy)) {
      this.#refusedAddresses++;
      return;
    }
    const p = this.#peer(encodeKey(peerKey));
    if (!p) return;
    if (!Number.isInteger(address.port) || address.port < 1 || address.port > 65_535) return;
    if (p.addresses.some((a) => a.host === address.host && a.port === address.port)) return;
    p.addresses = [address, ...p.addresses].slice(0, UPGRADE_MAX_ADDRESSES_PER_PEER);
    p.direct.nextAt = 0;
    this.ensure(encodeKey(peerKey));
  }

  /** Try to bring up better paths to a peer now (respecting backoff). */
  ensure(peer: string): void {
    if (this.#stopped) return;
    // Tracked before consent completes, so the tick upgrades it as soon as it is trusted.
    const p = this.#peer(peer);
    if (!p) return;
    p.lastActive = Date.now();
    if (!this.#o.isTrusted(peer)) {
      this.#awaitingTrust.add(peer);
      return;
    }
    this.#awaitingTrust.delete(peer);
    const conn = this.#o.conn;
    if (conn?.isConnected && !p.addrsSent && this.#ownAddresses.length > 0) {
      p.addrsSent = true;
      this.#send(p, { t: 'addrs', a: this.#ownAddresses.map((a) => ({ h: a.host, p: a.port })) });
    }
    this.#tryDirect(peer, p);
    this.#tryWebrtc(peer, p);
  }

  #peer(peer: string): PeerState | undefined {
    let p = this.#peers.get(peer);
    if (p) return p;
    let key: Uint8Array;
    try {
      key = decodeKey(peer);
    } catch {
      return undefined;
    }
    if (this.#peers.size >= UPGRADE_MAX_PEERS) {
      // Forget the least recently active peer without a live path of ours.
      let oldest: [string, PeerState] | undefined;
      for (const e of this.#peers)
        if (!e[1].directLink?.isOpen && !e[1].webrtcLink?.isOpen && (!oldest || e[1].lastActive < oldest[1].lastActive))
          oldest = e;
      if (!oldest) return undefined;
      this.#peers.delete(oldest[0]);
      this.#awaitingTrust.delete(oldest[0]);
    }
    const fresh = (): PathTry => ({ busy: false, failures: 0, nextAt: 0, startedAt: 0 });
    p = {
      key,
      direct: fresh(),
      webrtc: fresh(),
      addresses: [],
      addrsSent: false,
      addrsHeard: false,
      peerWebrtcOff: false,
      lastActive: Date.now(),
    };
    this.#peers.set(peer, p);
    return p;
  }

  /** Record why a path is (not) up, and tell the owner so `peer.status` shows it. */
  #status(peer: string, kind: 'direct' | 'webrtc', text: string): void {
    this.#o.paths.setStatus(peer, kind, text);
    this.#o.onStatus?.(peer);
  }

  #backoff(t: PathTry): void {
    t.failures++;
    const base = this.#o.timings?.retryBaseMs ?? UPGRADE_RETRY_BASE_MS;
    const delay = Math.min(UPGRADE_RETRY_MAX_MS, base * 2 ** Math.min(t.failures - 1, 20));
    t.nextAt = Date.now() + delay * (0.75 + Math.random() * 0.5);
  }

  /**
   * The consent exchange travels as traffic with the peer: once it made the peer trusted (the
   * session updates trust before this runs), try better paths at once.
   */
  readonly #onTraffic = (peer: string): void => {
    if (this.#stopped || !this.#awaitingTrust.has(peer)) return;
    // After the current envelope is handled: the session records the consent answer first.
    queueMicrotask(() => {
      if (this.#awaitingTrust.has(peer) && this.#o.isTrusted(peer)) this.ensure(peer);
    });
  };

  #tryDirect(peer: string, p: PeerState): void {
    const t = p.direct;
    const now = Date.now();
    if (t.busy || p.directLink?.isOpen || p.addresses.length === 0 || now < t.nextAt) return;
    // However links end (even without an error), dials to one peer stay this far apart.
    if (now - t.startedAt < DIRECT_REDIAL_MIN_INTERVAL_MS) return;
    t.busy = true;
    t.startedAt = now;
    this.#directDials++;
    this.#status(peer, 'direct', 'direct: connecting');
    const tryAll = async (): Promise<DirectLink> => {
      let last: unknown;
      for (const address of p.addresses) {
        try {
          return await dialDirect({ suite: this.#o.suite, identity: this.#o.identity, address, expectedKey: p.key });
        } catch (err) {
          last = err;
          // A wrong key at an address is a stale or hostile hint: forget it.
          if (isPathError(err) && err.code === 'CLIENT_ERR_DIRECT_WRONG_KEY')
            p.addresses = p.addresses.filter((a) => a !== address);
        }
      }
      throw last;
    };
    tryAll().then(
      (link) => {
        t.busy = false;
        t.failures = 0;
        if (this.#stopped) link.close('direct: stopped');
        else this.#onDirectLink(link);
      },
      (err: unknown) => {
        t.busy = false;
        this.#backoff(t);
        this.#status(peer, 'direct', directReason(err));
      },
    );
  }

  #onDirectLink(link: DirectLink): void {
    const peer = encodeKey(link.remoteKey);
    const p = this.#peer(peer);
    if (!p || this.#stopped) {
      link.close('direct: not wanted');
      return;
    }
    const dialer = (l: DirectLink) => (l.dialedByUs ? this.#o.identity.publicKey : l.remoteKey);
    const old = p.directLink;
    // One link per peer, chosen once. Both sides dialed at once: both keep the link dialed by
    // the lower key, so they agree without a word. Any other second link (same dialer) loses
    // to the open one.
    if (old?.isOpen && compareKeys(dialer(old), dialer(link)) <= 0) {
      link.close('direct: duplicate');
      return;
    }
    // Install the winner before the loser closes, so the loser's close changes no path and
    // starts no re-dial (addLink closes the older direct link as superseded).
    p.directLink = link;
    this.#directLinksInstalled++;
    link.onClose((reason) => {
      if (p.directLink !== link) return;
      p.directLink = undefined;
      if (this.#stopped) return;
      this.#backoff(p.direct);
      queueMicrotask(() => this.#status(peer, 'direct', reason));
    });
    this.#o.paths.addLink(link);
    if (old?.isOpen) old.close('direct: duplicate');
  }

  #initiator(p: PeerState): boolean {
    return compareKeys(this.#o.identity.publicKey, p.key) < 0;
  }

  #tryWebrtc(peer: string, p: PeerState, requested = false): void {
    const t = p.webrtc;
    const conn = this.#o.conn;
    if (!this.#webrtc || !conn?.isConnected || p.attempt || p.webrtcLink?.isOpen) return;
    if (!requested && (Date.now() < t.nextAt || p.peerWebrtcOff)) return;
    if (!this.#initiator(p)) {
      // The lower key makes offers; ask it to, at most once per backoff step.
      this.#backoff(t);
      this.#send(p, { t: 'rtc-req' });
      return;
    }
    this.#startAttempt(peer, p, toHex(randomBytes(8)), true);
  }

  #startAttempt(peer: string, p: PeerState, id: string, initiator: boolean): WebRtcAttempt | undefined {
    let factory: DataPeerFactory;
    try {
      // Loaded lazily: a host without the native WebRTC module still runs relay + direct.
      this.#factory ??= (this.#o.webrtcFactory ?? simplePeerFactory)();
      factory = this.#factory;
    } catch (err) {
      this.#webrtc = false;
      this.#status(peer, 'webrtc', webrtcReason(err));
      return undefined;
    }
    const tm = this.#o.timings;
    const rtc = new WebRtcAttempt({
      factory,
      initiator,
      remoteKey: p.key,
      iceServers: iceServersOf(this.#o.conn),
      sendSignal: (s) => this.#send(p, { t: 'rtc', id, s }),
      ...(tm?.webrtcConnectTimeoutMs ? { connectTimeoutMs: tm.webrtcConnectTimeoutMs } : {}),
      ...(tm?.webrtcPingIntervalMs ? { pingIntervalMs: tm.webrtcPingIntervalMs } : {}),
      ...(tm?.webrtcDeadAfterMs ? { deadAfterMs: tm.webrtcDeadAfterMs } : {}),
    });
    p.attempt = { id, rtc };
    p.webrtc.busy = true;
    this.#status(peer, 'webrtc', 'webrtc: connecting');
    rtc.link.then(
      (link) => {
        if (p.attempt?.rtc !== rtc) return link.close('webrtc: superseded');
        p.attempt = undefined;
        p.webrtc.busy = false;
        p.webrtc.failures = 0;
        p.webrtcLink?.close('webrtc: superseded');
        p.webrtcLink = link;
        link.onClose((reason) => {
          if (p.webrtcLink !== link) return;
          p.webrtcLink = undefined;
          if (this.#stopped) return;
          this.#backoff(p.webrtc);
          queueMicrotask(() => this.#status(peer, 'webrtc', reason));
        });
        this.#o.paths.addLink(link);
      },
      (err: PathError) => {
        if (p.attempt?.rtc !== rtc) return;
        p.attempt = undefined;
        p.webrtc.busy = false;
        this.#backoff(p.webrtc);
        this.#status(peer, 'webrtc', webrtcReason(err));
      },
    );
    return rtc;
  }

  #send(p: PeerState, msg: Negotiation): void {
    const conn = this.#o.conn;
    if (!conn?.isConnected) return;
    const plaintext = new TextEncoder().encode(JSON.stringify(msg));
    if (plaintext.length > UPGRADE_MAX_SIGNAL_PAYLOAD_BYTES) return;
    const envelope = sealEnvelope(this.#o.suite, {
      type: EnvelopeType.SIGNAL,
      sender: this.#o.identity,
      recipient: p.key,
      plaintext,
    });
    try {
      conn.signal(p.key, envelope);
    } catch {
      // Connection dropped under us; the next tick after reconnect retries.
    }
  }

  readonly #onDeliver = (from: Uint8Array, envelope: Uint8Array, channel: number): void => {
    if (channel !== SIGNAL_CHANNEL || this.#stopped) return;
    const peer = encodeKey(from);
    if (!this.#o.isTrusted(peer)) return;
    let msg: Negotiation;
    try {
      const opened = openEnvelope(this.#o.suite, envelope, { recipient: this.#o.identity, replayGuard: this.#guard });
      if (opened.fields.type !== EnvelopeType.SIGNAL || !bytesEqual(opened.fields.sender, from)) return;
      if (opened.plaintext.length > UPGRADE_MAX_SIGNAL_PAYLOAD_BYTES) return;
      msg = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(opened.plaintext)) as Negotiation;
      if (typeof msg !== 'object' || msg === null) return;
    } catch {
      return; // forged, replayed, stale or malformed: ignore (it cannot change any path)
    }
    const p = this.#peer(peer);
    if (!p) return;
    p.lastActive = Date.now();
    try {
      this.#onNegotiation(peer, p, msg);
    } catch {
      // A bad signal ends that attempt only (typed errors from the WebRTC path).
    }
  };

  #onNegotiation(peer: string, p: PeerState, msg: Negotiation): void {
    if (msg.t === 'addrs' && Array.isArray(msg.a)) {
      // IP literals only: a peer must not make us resolve names it chose.
      for (const a of msg.a.slice(0, UPGRADE_MAX_ADDRESSES_PER_PEER))
        if (a && typeof a.h === 'string' && isIP(a.h) !== 0 && typeof a.p === 'number')
          this.addAddress(p.key, { host: a.h, port: a.p });
      // Tell the peer where we listen too: once per connection, and again when these are the
      // first addresses we hear from it (ours may have come before it trusted us, and been
      // dropped). At most three messages per pair and connection.
      const first = !p.addrsHeard;
      p.addrsHeard = true;
      if (first) p.addrsSent = false;
      if (!p.addrsSent) this.ensure(peer);
    } else if (msg.t === 'rtc-req') {
      p.peerWebrtcOff = false;
      if (!this.#webrtc) {
        this.#send(p, { t: 'rtc-off' });
        return;
      }
      if (!this.#initiator(p)) return;
      // The peer has no attempt of its own (it would not ask): if ours is under way, our offer
      // never reached it (sent before it trusted us, say). Start over instead of timing out.
      if (p.attempt && !p.webrtcLink?.isOpen) {
        p.attempt.rtc.cancel('webrtc: superseded');
        p.attempt = undefined;
        p.webrtc.busy = false;
      }
      this.#tryWebrtc(peer, p, true);
    } else if (msg.t === 'rtc-off') {
      p.peerWebrtcOff = true;
      if (p.attempt && (msg.id === undefined || msg.id === p.attempt.id)) {
        const { rtc } = p.attempt;
        p.attempt = undefined;
        p.webrtc.busy = false;
        this.#backoff(p.webrtc);
        rtc.cancel('webrtc: disabled by peer');
      }
      this.#status(peer, 'webrtc', 'webrtc: disabled by peer');
    } else if (msg.t === 'rtc' && typeof msg.id === 'string' && msg.id.length <= 32) {
      const signal = checkSignal(msg.s);
      if (!this.#webrtc) {
        if (signal.type === 'offer') this.#send(p, { t: 'rtc-off', id: msg.id });
        return;
      }
      p.peerWebrtcOff = false;
      let rtc = p.attempt?.id === msg.id ? p.attempt.rtc : undefined;
      if (!rtc && signal.type === 'offer' && !this.#initiator(p)) {
        // A fresh offer: the peer thinks any link we have is gone; answer it.
        p.attempt?.rtc.cancel('webrtc: superseded');
        rtc = this.#startAttempt(peer, p, msg.id, false);
      }
      rtc?.signal(signal);
    }
  }

  readonly #onConnState = (state: string): void => {
    if (state !== 'connected') return;
    for (const p of this.#peers.values()) {
      p.addrsSent = false;
      p.addrsHeard = false;
    }
  };

  #tick(): void {
    for (const [peer, p] of this.#peers) {
      if (p.directLink?.isOpen) continue;
      if (this.#o.paths.best(peer) === undefined && !p.attempt) continue; // not talking to it
      this.ensure(peer);
    }
    this.#mdns?.query();
  }
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/** A wildcard listener is reachable at each non-internal IPv4 address of this host. */
function lanAddresses(port: number): DirectAddress[] {
  const out: DirectAddress[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push({ host: a.address, port });
  return out.slice(0, UPGRADE_MAX_OWN_ADDRESSES);
}

function compareKeys(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function directReason(err: unknown): string {
  if (!isPathError(err)) return 'direct: failed';
  switch (err.code) {
    case 'CLIENT_ERR_DIRECT_WRONG_KEY':
      return 'direct: wrong key at address';
    case 'CLIENT_ERR_DIRECT_BAD_PROOF':
      return 'direct: bad proof';
    case 'CLIENT_ERR_DIRECT_REJECTED':
      return 'direct: refused by peer';
    case 'CLIENT_ERR_DIRECT_HANDSHAKE_TIMEOUT':
      return 'direct: handshake timeout';
    case 'CLIENT_ERR_DIRECT_CONNECT_FAILED':
      return 'direct: unreachable';
    default:
      return 'direct: failed';
  }
}

function iceServersOf(conn: RendezvousConnection | null): IceServer[] {
  const raw = conn?.welcome?.raw.iceServers;
  if (!Array.isArray(raw)) return [];
  const out: IceServer[] = [];
  for (const s of raw.slice(0, WEBRTC_MAX_ICE_SERVERS)) {
    if (typeof s !== 'object' || s === null) continue;
    const r = s as Record<string, unknown>;
    const urls =
      typeof r.urls === 'string' ? [r.urls] : Array.isArray(r.urls) ? r.urls.filter((u) => typeof u === 'string') : [];
    if (urls.length === 0) continue;
    out.push({
      urls: urls as string[],
      ...(typeof r.username === 'string' ? { username: r.username } : {}),
      ...(typeof r.credential === 'string' ? { credential: r.credential } : {}),
    });
  }
  return out;
}
