import { encodeKey } from '@p2p-comm/protocol';
import { PATHS_MAX_PEERS } from '../constants.js';
import { ClientError } from '../errors.js';
import { type Link, PATH_PREFERENCE, type PathKind } from './link.js';
import {
  PATH_NEW_LINK_GRACE_MS,
  PATH_PROBE_CLEARS_FOR_MS,
  PATH_PROBE_INTERVAL_MS,
  PATH_STALL_CHECK_MS,
  PATH_STALL_MS,
} from './path-constants.js';

/**
 * Something that can open a Link to a peer synchronously when one is needed and none is
 * open (the relay can, as soon as the rendezvous connection is up). Paths that need a
 * handshake (direct, WebRTC) do not provide; they call `addLink` when their link is ready.
 */
export interface LinkProvider {
  readonly kind: PathKind;
  open(peerKey: Uint8Array): Link | null;
}

export type EnvelopeSink = (from: Uint8Array, envelope: Uint8Array, via: PathKind) => void;

/** A link we stopped sending on because acks stalled on it; probed until it answers or dies. */
interface Suspicion {
  /** When we began to suspect it, ms since epoch: anything heard after this clears it. */
  readonly since: number;
  lastProbeAt: number;
}

interface PeerPaths {
  links: Link[];
  /** Latest human status per path kind, e.g. "webrtc: ice failed". */
  status: Map<PathKind, string>;
  /** Best kind last reported to onPathChange handlers. */
  reported: PathKind | null;
  /** When each link was offered, ms since epoch (PATH_NEW_LINK_GRACE_MS). At most one per kind. */
  addedAt: Map<Link, number>;
  /** Links we do not send on while they are suspect (at most one per kind). */
  suspects: Map<Link, Suspicion>;
  /** Links that answered a probe, with when: not suspected again for PATH_PROBE_CLEARS_FOR_MS. */
  cleared: Map<Link, number>;
  /** First send since the last ack progress, ms since epoch; 0 = nothing sent since. */
  waitingSince: number;
}

/**
 * Per peer: the open Links, best first by PATH_PREFERENCE. The session layer sends through
 * `send()` and receives every envelope from every path through one sink, so moving traffic
 * between links never changes what the session sees (it dedupes and acks end to end).
 *
 * A link can be open and still deliver nothing (a cut cable, a NAT that forgot the flow): its
 * heartbeat notices only after seconds. So the manager also watches end-to-end progress: when
 * messages await acks (`trackProgress`) and no ack progress (`ackProgress`) came for
 * PATH_STALL_MS since the first unanswered send, the best link is suspect: traffic moves to the
 * next path at once (onPathChange fires, and the session resends its window there) and the
 * suspect is probed; when it answers it is best again. A peer's envelopes arriving on a worse
 * path than our best mean the peer suspects it: we do too, so our acks follow the peer.
 *
 * @example
 *   const paths = new PathManager((from, env, via) => session.receive(from, env, via));
 *   paths.addProvider(relay);           // relay opens on demand
 *   paths.addLink(directLink);          // a direct/WebRTC transport offers a ready link
 *   paths.onPathChange((peer, best) => console.log(peer, best));
 */
export class PathManager {
  readonly #peers = new Map<string, PeerPaths>();
  readonly #providers: LinkProvider[] = [];
  readonly #changeHandlers: Array<(peer: string, best: PathKind | null, before: PathKind | null) => void> = [];
  readonly #trafficHandlers: Array<(peer: string) => void> = [];
  readonly #sink: EnvelopeSink;
  /** Whether messages to a peer await end-to-end acks; unset = no stall detection. */
  #outstanding: ((peer: string) => boolean) | undefined;
  /** Peers with a send awaiting progress or a suspect link: what the check timer looks at. */
  readonly #watched = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(sink: EnvelopeSink) {
    this.#sink = sink;
  }

  /**
   * Turn on stall detection. `outstanding(peer)` says whether messages to the peer await
   * end-to-end acks (sends of acks alone must not make a path suspect); call `ackProgress(peer)`
   * whenever an ack for the peer advanced.
   */
  trackProgress(outstanding: (peer: string) => boolean): void {
    this.#outstanding = outstanding;
  }

  /** End-to-end acks from the peer advanced: the paths we send on deliver. */
  ackProgress(peer: string): void {
    const e = this.#peers.get(peer);
    if (!e) return;
    e.waitingSince = 0;
    e.cleared.clear();
    if (e.suspects.size === 0) this.#watched.delete(peer);
  }

  /** Called with the peer's base64url key after every envelope sent to or received from it. */
  onTraffic(handler: (peer: string) => void): void {
    this.#trafficHandlers.push(handler);
  }

  addProvider(provider: LinkProvider): void {
    this.#providers.push(provider);
  }

  /** Called with the peer's base64url key whenever its best path changes (null: none open), and the one before. */
  onPathChange(handler: (peer: string, best: PathKind | null, before: PathKind | null) => void): void {
    this.#changeHandlers.push(handler);
  }

  #entry(peer: string): PeerPaths {
    let e = this.#peers.get(peer);
    if (!e) {
      if (this.#peers.size >= PATHS_MAX_PEERS) {
        for (const [k, v] of this.#peers) {
          if (v.links.length === 0) {
            this.#peers.delete(k);
            break;
          }
        }
      }
      e = {
        links: [],
        status: new Map(),
        reported: null,
        addedAt: new Map(),
        suspects: new Map(),
        cleared: new Map(),
        waitingSince: 0,
      };
      this.#peers.set(peer, e);
    }
    return e;
  }

  /** Offer an open link. Replaces an older link of the same kind to the same peer. */
  addLink(link: Link): void {
    if (!link.isOpen) return;
    const peer = encodeKey(link.remoteKey);
    const entry = this.#entry(peer);
    if (entry.links.includes(link)) return;
    // Install the new link before the old one closes: its close must not look like the last
    // link of that kind going away (a spurious path change, and a re-dial by the upgrader).
    const older = entry.links.filter((l) => l.kind === link.kind);
    entry.links = entry.links.filter((l) => l.kind !== link.kind);
    for (const old of older) this.#forget(entry, old);
    entry.links.push(link);
    entry.links.sort((a, b) => PATH_PREFERENCE[a.kind] - PATH_PREFERENCE[b.kind]);
    entry.addedAt.set(link, Date.now());
    entry.status.set(link.kind, `${link.kind}: connected`);
    for (const old of older) old.close('superseded');
    link.onEnvelope((envelope) => {
      this.#heard(peer, link);
      this.#sink(link.remoteKey, envelope, link.kind);
      this.#traffic(peer);
    });
    link.onClose((reason) => {
      const e = this.#peers.get(peer);
      if (!e?.links.includes(link)) return;
      e.links = e.links.filter((l) => l !== link);
      this.#forget(e, link);
      e.status.set(link.kind, `${link.kind}: closed${reason ? ` (${reason})` : ''}`);
      this.#emitIfChanged(peer);
    });
    this.#emitIfChanged(peer);
  }

  #forget(e: PeerPaths, link: Link): void {
    e.addedAt.delete(link);
    e.suspects.delete(link);
    e.cleared.delete(link);
  }

  #traffic(peer: string): void {
    for (const h of this.#trafficHandlers) h(peer);
  }

  /**
   * An envelope from the peer came on `via`. If that is worse than our best link, the peer has
   * moved off our best one (its acks stalled there): suspect it too, or our acks keep going into
   * a path that may be dead.
   */
  #heard(peer: string, via: Link): void {
    const e = this.#peers.get(peer);
    const best = e ? this.#bestOf(e) : undefined;
    if (!e || !best || best === via || PATH_PREFERENCE[via.kind] <= PATH_PREFERENCE[best.kind]) return;
    const now = Date.now();
    if (now - (e.addedAt.get(best) ?? 0) < PATH_NEW_LINK_GRACE_MS) return;
    this.#suspect(peer, e, best, now, `${best.kind}: peer moved to ${via.kind}, probing`);
  }

  /**
   * Whether a change from `before` to `after` is a fall back (the better path closed or became
   * suspect): what was in flight on it is most likely lost, not just slow.
   */
  static fellBack(before: PathKind | null, after: PathKind | null): boolean {
    return before !== null && (after === null || PATH_PREFERENCE[after] > PATH_PREFERENCE[before]);
  }

  #emitIfChanged(peer: string): void {
    const e = this.#peers.get(peer);
    if (!e) return;
    const after = this.best(peer)?.kind ?? null;
    if (after === e.reported) return;
    const before = e.reported;
    e.reported = after;
    for (const h of this.#changeHandlers) h(peer, after, before);
  }

  /** Record a transport's status line for a peer ("webrtc: ice failed"). */
  setStatus(peerKey: Uint8Array | string, kind: PathKind, text: string): void {
    const peer = typeof peerKey === 'string' ? peerKey : encodeKey(peerKey);
    this.#entry(peer).status.set(kind, text);
  }

  /** The link we send on: the best open one not suspect, else the best open one. */
  best(peer: string): Link | undefined {
    const e = this.#peers.get(peer);
    return e ? this.#bestOf(e) : undefined;
  }

  #bestOf(e: PeerPaths): Link | undefined {
    return e.links.find((l) => l.isOpen && !e.suspects.has(l)) ?? e.links.find((l) => l.isOpen);
  }

  /** Stop sending on `link` (if another path can take the traffic), probe it, tell the handlers. */
  #suspect(peer: string, e: PeerPaths, link: Link, now: number, why: string): boolean {
    if (!link.probe || e.suspects.has(link)) return false;
    const clearedAt = e.cleared.get(link);
    if (clearedAt !== undefined && now - clearedAt < PATH_PROBE_CLEARS_FOR_MS) return false;
    if (!this.#hasAlternative(e, link)) return false;
    e.suspects.set(link, { since: now, lastProbeAt: now });
    e.status.set(link.kind, why);
    link.probe();
    this.#watch(peer);
    this.#emitIfChanged(peer);
    return true;
  }

  /** Another open link that is not suspect, or one a provider opens now (the relay). */
  #hasAlternative(e: PeerPaths, except: Link): boolean {
    if (e.links.some((l) => l !== except && l.isOpen && !e.suspects.has(l))) return true;
    const peerKey = except.remoteKey;
    for (const provider of this.#providers) {
      if (e.links.some((l) => l.kind === provider.kind && l.isOpen)) continue;
      const link = provider.open(peerKey);
      if (!link) continue;
      this.addLink(link);
      if (link.isOpen) return true;
    }
    return false;
  }

  #watch(peer: string): void {
    this.#watched.add(peer);
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#check(), PATH_STALL_CHECK_MS);
    this.#timer.unref();
  }

  /** The stall and probe clock: runs only while some peer is watched. */
  #check(): void {
    const now = Date.now();
    for (const peer of [...this.#watched]) {
      const e = this.#peers.get(peer);
      if (!e) {
        this.#watched.delete(peer);
        continue;
      }
      this.#checkSuspects(peer, e, now);
      if (e.waitingSince !== 0 && now - e.waitingSince >= PATH_STALL_MS) {
        if (!this.#outstanding?.(peer)) {
          e.waitingSince = 0; // what we sent awaited no ack (acks of our own, say)
        } else {
          const best = this.#bestOf(e);
          const age = best ? now - (e.addedAt.get(best) ?? 0) : 0;
          // A link that opened after the stall began has not had its chance yet.
          if (best && age >= PATH_STALL_MS)
            this.#suspect(peer, e, best, now, `${best.kind}: no acks for ${now - e.waitingSince} ms, probing`);
          // Restart the clock: the next path gets PATH_STALL_MS of its own before it is judged.
          e.waitingSince = now;
        }
      }
      if (e.waitingSince === 0 && e.suspects.size === 0) this.#watched.delete(peer);
    }
    if (this.#watched.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #checkSuspects(peer: string, e: PeerPaths, now: number): void {
    for (const [link, s] of [...e.suspects]) {
      if (!link.isOpen) {
        e.suspects.delete(link);
      } else if ((link.lastHeardAt ?? 0) > s.since) {
        // It answered: the path works after all; send on it again (the session resends there).
        e.suspects.delete(link);
        e.cleared.set(link, now);
        e.status.set(link.kind, `${link.kind}: connected`);
        this.#emitIfChanged(peer);
      } else if (now - s.lastProbeAt >= PATH_PROBE_INTERVAL_MS) {
        s.lastProbeAt = now;
        link.probe?.();
      }
    }
  }

  /** One line per known path kind, best open first, e.g. "relay: connected". */
  status(peer: string): string {
    const e = this.#peers.get(peer);
    if (!e || e.status.size === 0) return 'no path';
    const best = this.best(peer);
    const lines = [...e.status.entries()]
      .sort(([a], [b]) => PATH_PREFERENCE[a] - PATH_PREFERENCE[b])
      .map(([, text]) => text);
    return best
      ? [`${best.kind}: connected`, ...lines.filter((l) => l !== `${best.kind}: connected`)].join('; ')
      : lines.join('; ');
  }

  /**
   * Send over the best open link that is not suspect, trying the next on failure, then
   * providers, then suspect links (better a doubtful path than none).
   */
  send(peerKey: Uint8Array, envelope: Uint8Array): PathKind {
    const peer = encodeKey(peerKey);
    const kind = this.#send(peer, peerKey, envelope);
    const entry = this.#peers.get(peer);
    // Only a path that can be probed can be suspected (not the relay): no clock for the others.
    if (entry && this.#outstanding && entry.waitingSince === 0 && this.#bestOf(entry)?.probe) {
      entry.waitingSince = Date.now();
      this.#watch(peer);
    }
    this.#traffic(peer);
    return kind;
  }

  #send(peer: string, peerKey: Uint8Array, envelope: Uint8Array): PathKind {
    const entry = this.#entry(peer);
    const trySend = (link: Link): boolean => {
      try {
        link.send(envelope);
        return true;
      } catch {
        return false; // this path failed under us; the next one (or a provider) gets the envelope
      }
    };
    for (const link of [...entry.links])
      if (link.isOpen && !entry.suspects.has(link) && trySend(link)) return link.kind;
    for (const provider of this.#providers) {
      if (entry.links.some((l) => l.kind === provider.kind && l.isOpen)) continue;
      const link = provider.open(peerKey);
      if (!link) continue;
      this.addLink(link);
      if (trySend(link)) return link.kind;
    }
    for (const link of [...entry.links]) if (link.isOpen && trySend(link)) return link.kind;
    throw new ClientError('CLIENT_ERR_NO_PATH', peer);
  }

  /** Close every link (stop). */
  closeAll(reason: string): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#watched.clear();
    for (const e of this.#peers.values()) for (const l of [...e.links]) l.close(reason);
    this.#peers.clear();
  }
}
