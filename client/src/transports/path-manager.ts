import { encodeKey } from '@p2p-comm/protocol';
import { PATHS_MAX_PEERS } from '../constants.js';
import { ClientError } from '../errors.js';
import { type Link, PATH_PREFERENCE, type PathKind } from './link.js';

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

interface PeerPaths {
  links: Link[];
  /** Latest human status per path kind, e.g. "webrtc: ice failed". */
  status: Map<PathKind, string>;
  /** Best kind last reported to onPathChange handlers. */
  reported: PathKind | null;
}

/**
 * Per peer: the open Links, best first by PATH_PREFERENCE. The session layer sends through
 * `send()` and receives every envelope from every path through one sink, so moving traffic
 * between links never changes what the session sees (it dedupes and acks end to end).
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
  readonly #changeHandlers: Array<(peer: string, best: PathKind | null) => void> = [];
  readonly #sink: EnvelopeSink;

  constructor(sink: EnvelopeSink) {
    this.#sink = sink;
  }

  addProvider(provider: LinkProvider): void {
    this.#providers.push(provider);
  }

  /** Called with the peer's base64url key whenever its best path changes (null: none open). */
  onPathChange(handler: (peer: string, best: PathKind | null) => void): void {
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
      e = { links: [], status: new Map(), reported: null };
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
    for (const old of entry.links.filter((l) => l.kind === link.kind && l !== link)) old.close('superseded');
    entry.links = entry.links.filter((l) => l.kind !== link.kind);
    entry.links.push(link);
    entry.links.sort((a, b) => PATH_PREFERENCE[a.kind] - PATH_PREFERENCE[b.kind]);
    entry.status.set(link.kind, `${link.kind}: connected`);
    link.onEnvelope((envelope) => this.#sink(link.remoteKey, envelope, link.kind));
    link.onClose((reason) => {
      const e = this.#peers.get(peer);
      if (!e?.links.includes(link)) return;
      e.links = e.links.filter((l) => l !== link);
      e.status.set(link.kind, `${link.kind}: closed${reason ? ` (${reason})` : ''}`);
      this.#emitIfChanged(peer);
    });
    this.#emitIfChanged(peer);
  }

  #emitIfChanged(peer: string): void {
    const e = this.#peers.get(peer);
    if (!e) return;
    const after = this.best(peer)?.kind ?? null;
    if (after === e.reported) return;
    e.reported = after;
    for (const h of this.#changeHandlers) h(peer, after);
  }

  /** Record a transport's status line for a peer ("webrtc: ice failed"). */
  setStatus(peerKey: Uint8Array | string, kind: PathKind, text: string): void {
    const peer = typeof peerKey === 'string' ? peerKey : encodeKey(peerKey);
    this.#entry(peer).status.set(kind, text);
  }

  best(peer: string): Link | undefined {
    return this.#peers.get(peer)?.links.find((l) => l.isOpen);
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

  /** Send over the best open link, trying the next on failure, then providers. */
  send(peerKey: Uint8Array, envelope: Uint8Array): PathKind {
    const peer = encodeKey(peerKey);
    const entry = this.#entry(peer);
    for (const link of [...entry.links]) {
      if (!link.isOpen) continue;
      try {
        link.send(envelope);
        return link.kind;
      } catch {
        // this path failed under us; the next one (or a provider) gets the envelope
      }
    }
    for (const provider of this.#providers) {
      const link = provider.open(peerKey);
      if (!link) continue;
      this.addLink(link);
      try {
        link.send(envelope);
        return link.kind;
      } catch {
        // provider's link died immediately; try the next provider
      }
    }
    throw new ClientError('CLIENT_ERR_NO_PATH', peer);
  }

  /** Close every link (stop). */
  closeAll(reason: string): void {
    for (const e of this.#peers.values()) for (const l of [...e.links]) l.close(reason);
    this.#peers.clear();
  }
}
