/**
 * The WebRTC path: one attempt to open a data channel to a peer, and the Link it becomes.
 * Offers/answers/candidates leave through `sendSignal` (the session layer carries them in
 * signed, encrypted SIGNAL envelopes, so the rendezvous cannot alter the DTLS fingerprint);
 * the peer's arrive through `signal()`. Whoever signs those envelopes is `remoteKey`.
 *
 * Data-channel messages: kind(1) ‖ body — 0x00 envelope, 0x01 ping, 0x02 pong.
 *
 * @example
 *   const attempt = new WebRtcAttempt({ factory: simplePeerFactory(), initiator: true, remoteKey,
 *     iceServers: welcome.iceServers, sendSignal: (s) => sendSignalEnvelope(peer, encodeSignal(s)) });
 *   attempt.link.then((link) => paths.addLink(link), (err) => status(peer, reasonOf(err)));
 */

import { ClientError } from '../errors.js';
import { PathError } from './direct-errors.js';
import { LINK_EARLY_ENVELOPES_MAX, LinkEvents } from './direct-link-events.js';
import {
  WEBRTC_CONNECT_TIMEOUT_MS,
  WEBRTC_DEAD_AFTER_MS,
  WEBRTC_MAX_BUFFERED_BYTES,
  WEBRTC_MAX_MESSAGE_BYTES,
  WEBRTC_MAX_SIGNALS_PER_ATTEMPT,
  WEBRTC_PING_INTERVAL_MS,
} from './webrtc-constants.js';
import type { DataPeer, DataPeerEnd, DataPeerFactory, IceServer, WebRtcSignal } from './webrtc-factory.js';

const KIND_ENVELOPE = 0;
const KIND_PING = 1;
const KIND_PONG = 2;
/**
 * Bytes sent between two looks at the channel's buffer, bytes. The buffer can then pass
 * WEBRTC_MAX_BUFFERED_BYTES (8 MiB) by at most this plus one message before we close the
 * link: still under the 16 MiB at which libwebrtc closes the channel itself.
 */
const BUFFER_CHECK_BYTES = WEBRTC_MAX_BUFFERED_BYTES / 8;

export interface WebRtcAttemptOptions {
  readonly factory: DataPeerFactory;
  /** Exactly one side initiates (creates the offer); by convention the lower key. */
  readonly initiator: boolean;
  readonly remoteKey: Uint8Array;
  readonly iceServers: readonly IceServer[];
  readonly sendSignal: (signal: WebRtcSignal) => void;
  readonly connectTimeoutMs?: number;
  readonly pingIntervalMs?: number;
  readonly deadAfterMs?: number;
}

/** Human reason for a failed attempt or closed link, e.g. "webrtc: ice failed". */
export function webrtcReason(err: unknown): string {
  if (err instanceof PathError) {
    if (err.code === 'CLIENT_ERR_WEBRTC_ICE_FAILED') return 'webrtc: ice failed';
    if (err.code === 'CLIENT_ERR_WEBRTC_TIMEOUT') return 'webrtc: timeout';
    if (err.code === 'CLIENT_ERR_WEBRTC_UNAVAILABLE') return 'webrtc: unavailable';
    if (err.code === 'CLIENT_ERR_WEBRTC_BAD_SIGNAL') return 'webrtc: bad signal';
  }
  return 'webrtc: failed';
}

export class WebRtcLink extends LinkEvents {
  readonly kind = 'webrtc' as const;
  readonly remoteKey: Uint8Array;
  readonly #peer: DataPeer;
  readonly #timer: NodeJS.Timeout;
  #lastSeen = Date.now();
  /** Bytes sent since the buffer was last looked at (see BUFFER_CHECK_BYTES). */
  #unchecked = 0;

  constructor(peer: DataPeer, remoteKey: Uint8Array, pingIntervalMs: number, deadAfterMs: number) {
    super();
    this.#peer = peer;
    this.remoteKey = remoteKey;
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastSeen > deadAfterMs) return this.close('webrtc: peer timeout');
      this.#write(Uint8Array.of(KIND_PING));
    }, pingIntervalMs);
    this.#timer.unref();
  }

  /** When anything last arrived on the channel, ms since epoch (Link.lastHeardAt). */
  get lastHeardAt(): number {
    return this.#lastSeen;
  }

  /** Send a heartbeat now; the peer's pong updates lastHeardAt (Link.probe). */
  probe(): void {
    if (this.isOpen) this.#write(Uint8Array.of(KIND_PING));
  }

  /** Called by the attempt with each data-channel message. */
  receive(bytes: Uint8Array): void {
    this.#lastSeen = Date.now();
    if (bytes.length === 0 || bytes.length > WEBRTC_MAX_MESSAGE_BYTES) {
      this.close('webrtc: bad frame from peer');
      return;
    }
    const kind = bytes[0];
    if (kind === KIND_ENVELOPE) this.deliver(bytes.slice(1));
    else if (kind === KIND_PING) this.#write(Uint8Array.of(KIND_PONG));
    else if (kind !== KIND_PONG) this.close('webrtc: bad frame from peer');
  }

  send(envelope: Uint8Array): void {
    if (!this.isOpen) throw new ClientError('CLIENT_ERR_LINK_CLOSED');
    if (envelope.length + 1 > WEBRTC_MAX_MESSAGE_BYTES)
      throw new PathError('CLIENT_ERR_PATH_TOO_LARGE', `${envelope.length} bytes`);
    // Asking the data channel for its buffer is a synchronous call into the native library (a
    // tenth of a file sender's time when done per message): ask once per BUFFER_CHECK_BYTES sent.
    this.#unchecked += envelope.length + 1;
    if (this.#unchecked >= BUFFER_CHECK_BYTES) {
      this.#unchecked = 0;
      if (this.#peer.bufferedAmount > WEBRTC_MAX_BUFFERED_BYTES) {
        this.close('webrtc: send buffer full');
        throw new PathError('CLIENT_ERR_PATH_BACKPRESSURE');
      }
    }
    const framed = new Uint8Array(envelope.length + 1);
    framed[0] = KIND_ENVELOPE;
    framed.set(envelope, 1);
    if (!this.#write(framed)) throw new ClientError('CLIENT_ERR_LINK_CLOSED');
  }

  get bufferedAmount(): number {
    return this.#peer.bufferedAmount;
  }

  #write(bytes: Uint8Array): boolean {
    try {
      this.#peer.send(bytes);
      return true;
    } catch (err) {
      this.close(`webrtc: ${err instanceof Error ? err.message : 'send failed'}`);
      return false;
    }
  }

  protected teardown(): void {
    clearInterval(this.#timer);
    this.#peer.destroy();
  }
}

export class WebRtcAttempt {
  /** Resolves with the open link, or rejects with a PathError (timeout, ice failed, failed). */
  readonly link: Promise<WebRtcLink>;
  readonly #peer: DataPeer;
  #signals = 0;
  #settled = false;
  #link: WebRtcLink | undefined;
  readonly #early: Uint8Array[] = [];
  #reject: ((err: PathError) => void) | undefined;

  constructor(opts: WebRtcAttemptOptions) {
    let resolve!: (link: WebRtcLink) => void;
    let reject!: (err: PathError) => void;
    this.link = new Promise<WebRtcLink>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers may attach their handler later; an unobserved failure is not an error here.
    this.link.catch(() => {});
    const timeoutMs = opts.connectTimeoutMs ?? WEBRTC_CONNECT_TIMEOUT_MS;
    const timer = setTimeout(
      () => this.#fail(new PathError('CLIENT_ERR_WEBRTC_TIMEOUT', `no data channel after ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    this.#reject = (err) => {
      clearTimeout(timer);
      reject(err);
    };
    this.#peer = opts.factory.create(
      { initiator: opts.initiator, iceServers: opts.iceServers },
      {
        onSignal: (signal) => {
          if (!this.#settled) opts.sendSignal(signal);
        },
        onConnect: () => {
          if (this.#settled) return;
          this.#settled = true;
          clearTimeout(timer);
          this.#link = new WebRtcLink(
            this.#peer,
            opts.remoteKey,
            opts.pingIntervalMs ?? WEBRTC_PING_INTERVAL_MS,
            opts.deadAfterMs ?? WEBRTC_DEAD_AFTER_MS,
          );
          for (const bytes of this.#early.splice(0)) this.#link.receive(bytes);
          resolve(this.#link);
        },
        onData: (bytes) => {
          if (this.#link) this.#link.receive(bytes);
          // The far side may open and send before our 'connect' fires: hold it (bounded).
          else if (this.#early.length < LINK_EARLY_ENVELOPES_MAX) this.#early.push(bytes);
        },
        onEnd: (end: DataPeerEnd) => {
          if (this.#link)
            return this.#link.close(end.kind === 'closed' ? 'webrtc: closed by peer' : `webrtc: ${end.detail}`);
          this.#fail(
            end.kind === 'ice-failed'
              ? new PathError('CLIENT_ERR_WEBRTC_ICE_FAILED', end.detail)
              : new PathError('CLIENT_ERR_WEBRTC_FAILED', end.detail),
          );
        },
      },
    );
  }

  /** Feed a signal from the peer. Throws CLIENT_ERR_WEBRTC_BAD_SIGNAL past the per-attempt bound. */
  signal(signal: WebRtcSignal): void {
    if (this.#settled && !this.#link) return;
    if (++this.#signals > WEBRTC_MAX_SIGNALS_PER_ATTEMPT)
      throw new PathError('CLIENT_ERR_WEBRTC_BAD_SIGNAL', 'too many signals for one attempt');
    try {
      this.#peer.signal(signal);
    } catch (err) {
      throw new PathError('CLIENT_ERR_WEBRTC_BAD_SIGNAL', err instanceof Error ? err.message : String(err));
    }
  }

  /** Abandon the attempt (or close its link). */
  cancel(reason = 'webrtc: cancelled'): void {
    if (this.#link) this.#link.close(reason);
    else this.#fail(new PathError('CLIENT_ERR_WEBRTC_FAILED', reason));
  }

  #fail(err: PathError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#peer.destroy();
    this.#reject?.(err);
  }
}
