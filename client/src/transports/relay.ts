import { bytesEqual, encodeKey } from '@p2p-comm/protocol';
import { PATHS_MAX_PEERS } from '../constants.js';
import { ClientError } from '../errors.js';
import type { Link } from './link.js';
import type { LinkProvider } from './path-manager.js';
import type { RendezvousConnection } from './rendezvous-connection.js';

/**
 * The relay path: a Link per peer over the shared rendezvous connection (RELAY frames out,
 * DELIVER frames in). Links open on demand while the connection is up and all close when it
 * drops; the session retransmits whatever was not acked once a path is back.
 *
 * It carries peer packets of every kind unchanged (docs/protocol.md "Peer packets"): v1
 * envelopes and v2 PREKEY packets, which the server stores for an offline peer (ACK QUEUED),
 * and v2 handshake and TRANSPORT packets, which are live-only (PEER_OFFLINE for an offline
 * peer; the session then resends under the prekey). A v2 session is the peer's, not this
 * link's: it keeps working when a direct or WebRTC link replaces this one.
 */
export class RelayLink implements Link {
  readonly kind = 'relay' as const;
  readonly remoteKey: Uint8Array;
  #open = true;
  readonly #conn: RendezvousConnection;
  readonly #envelopeHandlers: Array<(envelope: Uint8Array) => void> = [];
  readonly #closeHandlers: Array<(reason: string) => void> = [];

  constructor(conn: RendezvousConnection, remoteKey: Uint8Array) {
    this.#conn = conn;
    this.remoteKey = remoteKey;
  }

  get isOpen(): boolean {
    return this.#open && this.#conn.isConnected;
  }

  send(envelope: Uint8Array): void {
    if (!this.isOpen) throw new ClientError('CLIENT_ERR_LINK_CLOSED', 'relay');
    // A frame over the server's limit gets the whole connection closed (1009) and redialled,
    // again and again with every retransmission: refuse it here, the other paths may take it.
    const maxFrame = this.#conn.welcome?.maxFrameBytes;
    if (maxFrame !== undefined && envelope.length + this.#conn.relayHeaderBytes(envelope) > maxFrame)
      throw new ClientError('CLIENT_ERR_MESSAGE_TOO_LARGE', `relay frame over the server's ${maxFrame} bytes`, {
        limit: maxFrame,
      });
    this.#conn.relay(this.remoteKey, envelope);
  }

  close(reason = 'closed'): void {
    if (!this.#open) return;
    this.#open = false;
    for (const h of this.#closeHandlers) h(reason);
  }

  onEnvelope(handler: (envelope: Uint8Array) => void): void {
    this.#envelopeHandlers.push(handler);
  }

  onClose(handler: (reason: string) => void): void {
    this.#closeHandlers.push(handler);
  }

  /** Called by RelayTransport for DELIVER frames from this peer. */
  deliver(envelope: Uint8Array): void {
    if (this.#open) for (const h of this.#envelopeHandlers) h(envelope);
  }
}

/**
 * Owns the relay links: opens one for a peer on demand (LinkProvider), routes DELIVER frames
 * to the peer's link (opening one if a stranger writes first, so consent requests get in),
 * and closes them all when the connection goes down.
 */
export class RelayTransport implements LinkProvider {
  readonly kind = 'relay' as const;
  readonly #conn: RendezvousConnection;
  readonly #links = new Map<string, RelayLink>();
  readonly #offer: (link: RelayLink) => void;

  /** `offer` hands a fresh link to the path manager (its addLink). */
  constructor(conn: RendezvousConnection, offer: (link: RelayLink) => void) {
    this.#conn = conn;
    this.#offer = offer;
    conn.on('deliver', (from, envelope, channel) => {
      // SIGNAL-channel envelopes belong to WebRTC/direct negotiation: listeners of the
      // connection's 'deliver' event take those; the relay link carries only RELAY frames.
      if (channel !== 1) return;
      let link = this.#links.get(encodeKey(from));
      if (!link?.isOpen) {
        link = this.open(from) ?? undefined;
        if (link) this.#offer(link);
      }
      link?.deliver(envelope);
    });
    conn.on('state', (state) => {
      if (state === 'connected') return;
      for (const l of this.#links.values()) l.close(`rendezvous ${state}`);
      this.#links.clear();
    });
  }

  open(peerKey: Uint8Array): RelayLink | null {
    if (!this.#conn.isConnected) return null;
    const key = encodeKey(peerKey);
    const existing = this.#links.get(key);
    if (existing?.isOpen && bytesEqual(existing.remoteKey, peerKey)) return existing;
    if (this.#links.size >= PATHS_MAX_PEERS) {
      // Bounded like the path manager: the least recently opened link goes first.
      const [oldestKey, oldest] = this.#links.entries().next().value!;
      this.#links.delete(oldestKey);
      oldest.close('evicted');
    }
    const link = new RelayLink(this.#conn, Uint8Array.from(peerKey));
    link.onClose(() => {
      if (this.#links.get(key) === link) this.#links.delete(key);
    });
    this.#links.set(key, link);
    return link;
  }
}
