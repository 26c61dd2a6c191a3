/**
 * The one interface every path implements (direct WebSocket, WebRTC, relay). A Link is an
 * open, bidirectional pipe of envelope bytes to one peer whose key the path has proven. It
 * never interprets envelopes: the session layer above verifies and decrypts every one of them,
 * whatever path it came by, so a path can lose or repeat bytes but never forge them.
 */
export type PathKind = 'direct' | 'webrtc' | 'relay';

/** Order of preference: lower is better. */
export const PATH_PREFERENCE: Readonly<Record<PathKind, number>> = Object.freeze({ direct: 0, webrtc: 1, relay: 2 });

export interface Link {
  readonly kind: PathKind;
  /** The peer's Ed25519 public key, proven by the path's own handshake. */
  readonly remoteKey: Uint8Array;
  readonly isOpen: boolean;
  /** Send one envelope. Throws a client error (CLIENT_ERR_LINK_CLOSED) when the link is closed. */
  send(envelope: Uint8Array): void;
  /** Close the link; `onClose` handlers run once. */
  close(reason?: string): void;
  onEnvelope(handler: (envelope: Uint8Array) => void): void;
  onClose(handler: (reason: string) => void): void;
  /**
   * When anything (an envelope or a heartbeat) last arrived on this link, ms since epoch. Paths
   * with a heartbeat of their own (direct, WebRTC) have it; the relay does not.
   */
  readonly lastHeardAt?: number;
  /**
   * Ask the peer for a heartbeat answer now; the answer updates `lastHeardAt`. The path manager
   * probes a link it suspects (acks stalled) to learn whether it still works.
   */
  probe?(): void;
}
