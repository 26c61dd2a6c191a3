import type { Identity } from '@p2p-comm/protocol';
import type { RawWs } from '../ws/raw-client.js';

/** The servers the generator can drive, each with its own wire format. */
export type ProtocolName = 'rendezvous' | 'bare' | 'peerjs';

/** One simulated peer as the generator sees it. */
export interface PeerId {
  /** Global peer index in the run. */
  readonly index: number;
  /** Ed25519 identity (our server) — also the 32-byte routing id of the bare forwarder. */
  readonly identity: Identity;
  /** Text id for PeerJS (hex of the public key). */
  readonly textId: string;
}

/** Message classes the generator reacts to. */
export type Incoming =
  /** `bytes`: envelope bytes delivered, or -1 when the wire format cannot tell. */
  | { kind: 'deliver'; fromOk: boolean; bytes: number }
  | { kind: 'ack' }
  | { kind: 'error'; code: string }
  | { kind: 'ping'; reply: Buffer }
  | { kind: 'other' };

/** What a signaling message is, for servers that care (PeerJS types its messages). */
export type SignalKind = 'offer' | 'answer' | 'candidate' | 'data';

/** A ready-to-send message; `next()` returns the bytes for one send (fresh frame id where it has one). */
export interface OutboundMessage {
  next(): Buffer;
  /** Envelope bytes carried, for MB/s. */
  readonly envelopeBytes: number;
}

export interface HandshakeResult {
  /** Server heartbeat interval if it told us, ms. */
  heartbeatMs: number | null;
}

/** Adapter between the generator and one server's wire protocol. */
export interface PeerProtocol {
  readonly name: ProtocolName;
  /** Optional per-peer setup done before the connect phase (so it is not measured). */
  prepare?(peer: PeerId): void;
  /** Request path (with query) of the WebSocket upgrade. */
  path(peer: PeerId): string;
  /** Run the post-upgrade handshake (authentication). Rejects on failure. */
  handshake(ws: RawWs, peer: PeerId, origin: string): Promise<HandshakeResult>;
  /** Build the message `from` sends to `to` carrying `envelope`. */
  message(
    ws: RawWs,
    from: PeerId,
    to: PeerId,
    envelope: Uint8Array,
    kind: SignalKind,
    channel: 'signal' | 'relay',
  ): OutboundMessage;
  /** Classify one inbound WebSocket message for `self` whose partner is `partner`. */
  classify(ws: RawWs, opcode: number, payload: Buffer, self: PeerId, partner: PeerId): Incoming;
  /** An application-level keep-alive frame, or null if the protocol has none. */
  heartbeat(ws: RawWs): Buffer | null;
}
