import {
  SESSION_MAX_EPOCH,
  SESSION_MAX_EPOCH_SKIP,
  SESSION_MAX_PLAINTEXT_BYTES,
  SESSION_PREVIOUS_EPOCH_GRACE_MS,
  SESSION_REJECT_AFTER_MESSAGES,
  SESSION_REKEY_AFTER_MESSAGES,
  SESSION_REKEY_AFTER_MS,
  SESSION_REPLAY_WINDOW_MESSAGES,
} from '../constants.js';
import { ProtocolError } from '../errors.js';
import { CHACHA_KEY_BYTES, type ChaChaPoly, portableChaChaPoly } from './chacha-poly.js';
import { nextEpochKey } from './epoch-key.js';
import type { SessionKeys } from './hybrid-handshake.js';
import { ReplayWindow } from './replay-window.js';
import { readTransportHeader, TRANSPORT_HEADER_BYTES, writeTransportHeader } from './session-packet.js';
import { wipe } from './wipe.js';

export interface SessionOptions {
  /** Clock, ms. Decides only when to rekey and how long an old key is kept; never whether a packet is fresh. */
  readonly now?: () => number;
  /** Packets under one sending key before the next epoch (≤ SESSION_REJECT_AFTER_MESSAGES). */
  readonly rekeyAfterMessages?: number;
  /** Age of a sending key before the next epoch, ms. */
  readonly rekeyAfterMs?: number;
  /** How long the previous receiving epoch stays open after the next one started, ms. */
  readonly previousEpochGraceMs?: number;
  /** Replay window per receiving key, counters (multiple of 32). */
  readonly replayWindow?: number;
  /** The AEAD (same bytes either way); default @noble/ciphers, Node processes pass nodeChaChaPoly. */
  readonly aead?: ChaChaPoly;
}

interface SendEpoch {
  readonly epoch: number;
  readonly key: Uint8Array;
  counter: number;
  readonly startedAt: number;
}

interface ReceiveEpoch {
  readonly epoch: number;
  readonly key: Uint8Array;
  readonly window: ReplayWindow;
  /** When this epoch's key is erased (set once a newer epoch opened), ms. */
  expiresAt: number;
}

/**
 * A v2 transport session: ChaCha20-Poly1305 with a key per direction and epoch, an explicit
 * 64-bit counter on the wire (packets may arrive out of order over any path) and a sliding replay
 * window per receiving key. Each side moves its sending direction to the next epoch after
 * `rekeyAfterMessages` packets or `rekeyAfterMs`; the receiver follows when the first packet of
 * the new epoch authenticates. A retired key is overwritten with zeros at once (sending) or after
 * the grace (receiving).
 *
 * The session takes ownership of `keys.sendKey` and `keys.receiveKey`: it zeroes those very
 * arrays when their epoch ends or the session closes.
 *
 * @example
 *   const a = new Session(initiatorKeys);
 *   const b = new Session(responderKeys);
 *   b.open(a.seal(utf8('hi')));
 */
export class Session {
  readonly initiator: boolean;
  readonly remotePublicKey: Uint8Array;
  readonly handshakeHash: Uint8Array;
  private readonly now: () => number;
  private readonly rekeyAfterMessages: number;
  private readonly rekeyAfterMs: number;
  private readonly graceMs: number;
  private readonly windowSize: number;
  private readonly aead: ChaChaPoly;
  private send: SendEpoch | null;
  private current: ReceiveEpoch | null;
  private previous: ReceiveEpoch | null = null;

  constructor(keys: SessionKeys, options: SessionOptions = {}) {
    for (const name of ['sendKey', 'receiveKey'] as const)
      if (!(keys[name] instanceof Uint8Array) || keys[name].length !== CHACHA_KEY_BYTES)
        throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `keys.${name} must be ${CHACHA_KEY_BYTES} bytes`);
    this.now = options.now ?? Date.now;
    this.rekeyAfterMessages = options.rekeyAfterMessages ?? SESSION_REKEY_AFTER_MESSAGES;
    this.rekeyAfterMs = options.rekeyAfterMs ?? SESSION_REKEY_AFTER_MS;
    this.graceMs = options.previousEpochGraceMs ?? SESSION_PREVIOUS_EPOCH_GRACE_MS;
    this.windowSize = options.replayWindow ?? SESSION_REPLAY_WINDOW_MESSAGES;
    this.aead = options.aead ?? portableChaChaPoly;
    if (
      !Number.isInteger(this.rekeyAfterMessages) ||
      this.rekeyAfterMessages < 1 ||
      this.rekeyAfterMessages > SESSION_REJECT_AFTER_MESSAGES
    )
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'rekeyAfterMessages out of range');
    this.initiator = keys.initiator;
    this.remotePublicKey = Uint8Array.from(keys.remotePublicKey);
    this.handshakeHash = Uint8Array.from(keys.handshakeHash);
    const t = this.now();
    this.send = { epoch: 0, key: keys.sendKey, counter: 0, startedAt: t };
    this.current = { epoch: 0, key: keys.receiveKey, window: new ReplayWindow(this.windowSize), expiresAt: Infinity };
  }

  /** Our sending epoch. */
  get sendEpoch(): number {
    return this.live().send.epoch;
  }

  /** The newest receiving epoch that authenticated a packet (0 at start). */
  get receiveEpoch(): number {
    return this.live().current.epoch;
  }

  get isClosed(): boolean {
    return this.send === null;
  }

  /** Encrypt one packet; rekeys first when the sending key is due. */
  seal(plaintext: Uint8Array): Uint8Array {
    return this.sealParts([plaintext]);
  }

  /**
   * Encrypt one packet whose plaintext is `parts` concatenated (e.g. a one-byte kind and a file
   * chunk) without gathering them first; rekeys first when the sending key is due.
   */
  sealParts(parts: readonly Uint8Array[]): Uint8Array {
    const { send } = this.live();
    let length = 0;
    for (const p of parts) {
      if (!(p instanceof Uint8Array)) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'plaintext must be bytes');
      length += p.length;
    }
    if (length > SESSION_MAX_PLAINTEXT_BYTES) throw new ProtocolError('PROTO_ERR_TOO_LARGE', 'plaintext');
    this.expirePrevious();
    let s = send;
    if (s.counter >= this.rekeyAfterMessages || this.now() - s.startedAt >= this.rekeyAfterMs) s = this.advanceSend();
    const counter = s.counter++;
    const header = new Uint8Array(TRANSPORT_HEADER_BYTES);
    writeTransportHeader(header, s.epoch, counter);
    return this.aead.sealAfterHeader(s.key, counter, header, parts);
  }

  /**
   * Decrypt one packet. Refuses (ProtocolError, state unchanged) a bad version or type, an epoch
   * whose key is not held, a counter seen or below the window, and a bad tag. Nothing is
   * recorded and no epoch advances unless the tag verifies.
   */
  open(packet: Uint8Array): Uint8Array {
    this.live();
    const { epoch, counter } = readTransportHeader(packet);
    if (counter >= SESSION_REJECT_AFTER_MESSAGES)
      throw new ProtocolError('PROTO_ERR_SESSION_EXHAUSTED', 'counter past the per-epoch limit');
    this.expirePrevious();
    const current = this.current!;
    const header = packet.subarray(0, TRANSPORT_HEADER_BYTES);
    const body = packet.subarray(TRANSPORT_HEADER_BYTES);
    for (const rx of [current, this.previous]) {
      if (rx?.epoch !== epoch) continue;
      rx.window.check(counter);
      const plaintext = this.aead.decrypt(rx.key, counter, header, body);
      rx.window.commit(counter);
      return plaintext;
    }
    if (epoch <= current.epoch || epoch - current.epoch > SESSION_MAX_EPOCH_SKIP)
      throw new ProtocolError('PROTO_ERR_SESSION_UNKNOWN_EPOCH', `epoch ${epoch}`);
    // A newer epoch: derive forward, keep the key only if this packet authenticates under it.
    let candidate = current.key;
    for (let e = current.epoch + 1; e <= epoch; e++) {
      const next = nextEpochKey(candidate, e);
      if (candidate !== current.key) wipe(candidate);
      candidate = next;
    }
    let plaintext: Uint8Array;
    try {
      plaintext = this.aead.decrypt(candidate, counter, header, body);
    } catch (err) {
      wipe(candidate);
      throw err;
    }
    const window = new ReplayWindow(this.windowSize);
    window.commit(counter);
    if (this.previous) wipe(this.previous.key);
    current.expiresAt = this.now() + this.graceMs;
    this.previous = current;
    this.current = { epoch, key: candidate, window, expiresAt: Infinity };
    return plaintext;
  }

  /** Move our sending direction to the next epoch now; the old sending key is zeroed. */
  rekey(): void {
    this.advanceSend();
  }

  private advanceSend(): SendEpoch {
    const { send } = this.live();
    if (send.epoch >= SESSION_MAX_EPOCH) throw new ProtocolError('PROTO_ERR_SESSION_EXHAUSTED', 'last epoch used');
    const next: SendEpoch = {
      epoch: send.epoch + 1,
      key: nextEpochKey(send.key, send.epoch + 1),
      counter: 0,
      startedAt: this.now(),
    };
    wipe(send.key);
    this.send = next;
    return next;
  }

  /** Erase every key; later calls throw PROTO_ERR_SESSION_CLOSED. */
  close(): void {
    wipe(this.send?.key);
    wipe(this.current?.key);
    wipe(this.previous?.key);
    this.send = null;
    this.current = null;
    this.previous = null;
  }

  /** Erase the previous receiving key if its grace is over (done on every seal and open; call it on a timer when idle). */
  expirePrevious(): void {
    if (this.previous && this.now() >= this.previous.expiresAt) {
      wipe(this.previous.key);
      this.previous = null;
    }
  }

  private live(): { send: SendEpoch; current: ReceiveEpoch } {
    if (!this.send || !this.current) throw new ProtocolError('PROTO_ERR_SESSION_CLOSED');
    return { send: this.send, current: this.current };
  }
}
