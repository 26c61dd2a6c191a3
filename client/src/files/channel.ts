/**
 * The narrow interface between file transfers and the messaging layer. The engine needs only
 * this: a way to hand one message to a peer, and the peer's messages handed back to
 * `FileTransfers.receive(peer, bytes)`. The session provides it (messages sealed under the
 * peer pair's session keys, over whichever path is up); tests provide it with an in-memory
 * pair or a TCP socket pair.
 *
 * Delivery may be best effort: a message may be lost (no path, a path change), duplicated or
 * reordered; the engine re-sends on its timers and ignores duplicates. It must be
 * authenticated (the `peer` a message is handed back with is the key that sealed it) and
 * confidential; that is the session's job, not the engine's.
 */
export interface TransferChannel {
  /**
   * Hand `message` (at most MAX_TRANSFER_MESSAGE_BYTES) to `peer`. False when it cannot be
   * sent now (no path); the engine keeps its place and tries again on its timer. The engine
   * never has more than the recipient's credit in flight, so the channel never needs to
   * buffer more than that per transfer.
   */
  send(peer: string, message: Uint8Array): boolean;
}

/** What the events of both directions carry. */
export interface TransferRef {
  id: string;
  peer: string;
  direction: 'in' | 'out';
}

export interface TransferProgress extends TransferRef {
  /** Bytes acknowledged by the recipient (out) or written (in). */
  bytes: number;
  total: number;
}

export interface TransferFailure extends TransferRef {
  /** A CLIENT_ERR_FILE_* code (or CLIENT_ERR_STOPPED). */
  code: string;
  message: string;
}
