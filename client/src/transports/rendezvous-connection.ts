import { EventEmitter } from 'node:events';
import {
  AckStatus,
  buildHello,
  bytesEqual,
  type CryptoSuite,
  DEFAULT_MAX_FRAME_BYTES,
  decodeFrame,
  encodeFrame,
  type Frame,
  FrameType,
  type Identity,
  isStorablePeerPacketBytes,
  MESSAGE_ID_BYTES,
  PREKEY_BUNDLE_BYTES,
  PUBLIC_KEY_BYTES,
  RELAY_TTL_FRAME_HEADER_BYTES,
  ROUTED_FRAME_HEADER_BYTES,
  storedPacketOffsets,
} from '@p2p-comm/protocol';
import WebSocket from 'ws';
import {
  DEFAULT_HEARTBEAT_MS,
  HANDSHAKE_TIMEOUT_MS,
  PENDING_FRAMES_MAX,
  RECONNECT_INITIAL_MS,
  RECONNECT_MAX_MS,
  REPLACED_MAX_RECONNECTS,
  REPLACED_RECONNECT_MS,
  REPLACED_WINDOW_MS,
} from '../constants.js';
import { ClientError } from '../errors.js';
import { type ConnectFailure, classifyConnectError } from './connect-failure.js';
import { TickCork } from './tick-cork.js';

/**
 * Prekey requests (publish + fetch) awaiting the server's answer on one connection, requests:
 * the server answers each within a round trip and rate-limits them (PREKEY_REQUESTS_PER_S), so
 * more than this in flight means a caller loop, not a need. Past it: CLIENT_ERR_BUSY.
 */
export const PREKEY_REQUESTS_MAX_IN_FLIGHT = 16;
/**
 * How long a prekey publish or fetch waits for its answer, ms: the server answers from memory
 * or one Redis round trip (its command timeout is 2 s); no answer by then → CLIENT_ERR_PREKEY_TIMEOUT.
 */
export const PREKEY_REQUEST_TIMEOUT_MS = 10_000;

/** No message id (a live-only session packet): 'frame-ack' then names nothing to dedupe. */
const NO_MESSAGE_ID = new Uint8Array(0);

/** The message id a relay dedupes a peer packet on (envelope v1, PREKEY), or none for session packets. */
function packetMessageId(packet: Uint8Array): Uint8Array {
  if (!isStorablePeerPacketBytes(packet)) return NO_MESSAGE_ID;
  const at = storedPacketOffsets(packet).messageId;
  return packet.length >= at + MESSAGE_ID_BYTES ? packet.slice(at, at + MESSAGE_ID_BYTES) : NO_MESSAGE_ID;
}

interface PrekeyRequest {
  /** The key asked for (fetch), or null (publish). */
  readonly key: Uint8Array | null;
  readonly resolve: (bundle: Uint8Array | null) => void;
  readonly reject: (err: ClientError) => void;
  readonly timer: NodeJS.Timeout;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'replaced' | 'stopped';

/** What the server told us in WELCOME (fields we use; the rest is kept raw). */
export interface WelcomeInfo {
  readonly heartbeatMs: number;
  readonly maxFrameBytes: number;
  /** The server's per-socket send queue (it drops a reader past it), when it says; bytes. */
  readonly sendQueueMaxBytes: number | null;
  /** How long the server's mailbox keeps a stored packet (MAILBOX_TTL_S), when it says; ms. */
  readonly mailboxTtlMs: number | null;
  /**
   * How much the server may queue towards us of what peers relay to us (its RELAY_ALLOWANCE_BYTES
   * while it has a grant to give), when it says; bytes. Relayed file senders get credit from it.
   */
  readonly relayAllowanceBytes: number | null;
  /** The server's per-key sustained byte rate (RATE_BYTES_PER_S), when it says; bytes/s. */
  readonly rateBytesPerS: number | null;
  readonly raw: Readonly<Record<string, unknown>>;
}

export interface RendezvousEvents {
  state: [state: ConnectionState, detail: string];
  welcome: [info: WelcomeInfo];
  deliver: [from: Uint8Array, envelope: Uint8Array, channel: number];
  'peer-offline': [to: Uint8Array];
  'server-error': [code: string, message: string, frameId: number];
  /**
   * The server refused a frame for `to` because that peer's queue is full (RDV_ERR_RECIPIENT_BUSY):
   * nothing was delivered or lost; resend later, after a backoff.
   */
  'recipient-busy': [to: Uint8Array];
  /**
   * The server's ACK for a RELAY/SIGNAL frame to `to` carrying the peer packet with `messageId`
   * (envelope v1 or PREKEY; empty for handshake and transport packets, which are never stored):
   * `queued` true when it was stored in `to`'s mailbox (`to` is offline), false when it was
   * handed to `to`'s socket (`to` is online).
   */
  'frame-ack': [to: Uint8Array, messageId: Uint8Array, queued: boolean];
  /** A socket failed before it opened (refused, DNS, TLS, …); a reconnect is scheduled as usual. */
  unreachable: [failure: ConnectFailure];
}

export interface RendezvousOptions {
  /** ws:// or wss:// URL; `/v1/ws` is appended when the path is empty. */
  url: string;
  identity: Identity;
  suite: CryptoSuite;
  /** Invite token for servers with ADMISSION=token. */
  token?: string;
  /** Injected for tests of the backoff; default Math.random. */
  random?: () => number;
  /** What to do after RDV_ERR_REPLACED; defaults REPLACED_* in constants.ts (tests shorten them). */
  replaced?: Partial<ReplacedPolicy>;
  /** Wait for a prekey request's answer, ms; default PREKEY_REQUEST_TIMEOUT_MS (tests shorten it). */
  prekeyRequestTimeoutMs?: number;
  /**
   * How long the server should keep our PREKEY packets in an offline peer's mailbox, ms (sent as
   * RELAY_TTL, clamped to WELCOME's mailboxTtlMs). Unset: plain RELAY, kept the server's TTL.
   */
  mailboxTtlMs?: number;
}

/** Reconnects after being replaced: `delayMs` doubling per replacement, at most `maxReconnects` per `windowMs`. */
export interface ReplacedPolicy {
  readonly delayMs: number;
  readonly maxReconnects: number;
  readonly windowMs: number;
}

/** Normalise a server URL: scheme ws/wss (http/https mapped), default path /v1/ws. */
export function normalizeServerUrl(input: string): URL {
  let url: URL;
  try {
    url = new URL(input.includes('://') ? input : `ws://${input}`);
  } catch {
    throw new ClientError('CLIENT_ERR_CONFIG', `server URL ${JSON.stringify(input)} does not parse`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new ClientError('CLIENT_ERR_CONFIG', `server URL must be ws:// or wss://, got ${url.protocol}`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/ws';
  return url;
}

/**
 * The one authenticated WebSocket to the rendezvous server. Answers the challenge (signing
 * the origin we dialed), keeps a heartbeat, and reconnects with full-jitter exponential
 * backoff forever (until stop), honouring RESTARTING's retry-after.
 *
 * A REPLACED error means another connection with our key took over: another process of ours,
 * or someone who got a hello of ours accepted. State `replaced` tells the user at once; then we
 * come back after a long, doubling delay — but only `maxReconnects` times per window, so two
 * holders of one key (or an attacker replaying hellos) cannot make us ping-pong without bound.
 * After that we stay `replaced` until `reconnect()`.
 */
export class RendezvousConnection extends EventEmitter<RendezvousEvents> {
  readonly url: URL;
  readonly #opts: RendezvousOptions;
  #ws: WebSocket | null = null;
  #state: ConnectionState = 'idle';
  #attempt = 0;
  #timers = new Set<NodeJS.Timeout>();
  #heartbeat: NodeJS.Timeout | null = null;
  #lastHeard = 0;
  #frameId = 0;
  /**
   * Frames awaiting the server's answer: frameId → recipient and the envelope's message id (to
   * name them in 'recipient-busy' and 'frame-ack'). At most PENDING_FRAMES_MAX entries.
   */
  #pending = new Map<number, { to: Uint8Array; messageId: Uint8Array }>();
  /** Prekey publishes and fetches awaiting their answer, by frameId; at most PREKEY_REQUESTS_MAX_IN_FLIGHT. */
  #prekeyRequests = new Map<number, PrekeyRequest>();
  #welcome: WelcomeInfo | null = null;
  /** Holds this turn's writes for one writev (TickCork). */
  readonly #cork = new TickCork();
  #retryAfterMs = 0;
  #lastRefusal = '';
  /** Why the latest socket failed before opening; null once one opens. */
  #lastFailure: ConnectFailure | null = null;
  readonly #replacedPolicy: ReplacedPolicy;
  /** When we were replaced inside the current window, ms; at most maxReconnects + 1 entries. */
  #replacedAt: number[] = [];

  constructor(opts: RendezvousOptions) {
    super();
    this.#opts = opts;
    this.url = normalizeServerUrl(opts.url);
    this.#replacedPolicy = Object.freeze({
      delayMs: opts.replaced?.delayMs ?? REPLACED_RECONNECT_MS,
      maxReconnects: opts.replaced?.maxReconnects ?? REPLACED_MAX_RECONNECTS,
      windowMs: opts.replaced?.windowMs ?? REPLACED_WINDOW_MS,
    });
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get isConnected(): boolean {
    return this.#state === 'connected' && this.#ws?.readyState === WebSocket.OPEN;
  }

  /** Why the latest attempt failed before the socket opened; null after a socket opened. */
  get lastFailure(): ConnectFailure | null {
    return this.#lastFailure;
  }

  get welcome(): WelcomeInfo | null {
    return this.#welcome;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#connect();
  }

  /**
   * Dial now: after being replaced (also once the automatic reconnects are used up) or while
   * waiting to retry. The user's explicit choice, so the replacement count starts over.
   * No effect while connected, connecting or stopped.
   */
  reconnect(): ConnectionState {
    if (this.#state !== 'replaced' && this.#state !== 'reconnecting') return this.#state;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#replacedAt = [];
    this.#attempt = 0;
    this.#retryAfterMs = 0;
    this.#dropSocket();
    this.#connect();
    return this.#state;
  }

  stop(): void {
    this.#setState('stopped', 'stopped');
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#dropSocket();
  }

  /** Forget the current socket without its close handler scheduling anything. */
  #dropSocket(): void {
    this.#stopHeartbeat();
    this.#failPrekeyRequests('dropped');
    const ws = this.#ws;
    this.#ws = null;
    // What this turn sent is still in the corked stream: hand it to the kernel before the
    // terminate discards the stream (a CLI that sends its last ACK and stops in one turn).
    this.#cork.flush();
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
    }
  }

  /**
   * Publish our signed prekey bundle (the 1,333-byte encoding) to this server, which keeps the
   * newest per key until it expires and hands it to whoever fetches it. Resolves on the server's
   * ACK; rejects with CLIENT_ERR_PREKEY_REFUSED (`data.serverCode`: RDV_ERR_PREKEY_STALE when it
   * holds a newer one, RDV_ERR_PREKEY_EXPIRED, …), CLIENT_ERR_PREKEY_TIMEOUT, CLIENT_ERR_BUSY,
   * CLIENT_ERR_LINK_CLOSED (not connected, or the socket closed before the answer) or
   * CLIENT_ERR_INVALID_ARGUMENT.
   */
  publishPrekeyBundle(bundle: Uint8Array): Promise<void> {
    if (!(bundle instanceof Uint8Array) || bundle.length !== PREKEY_BUNDLE_BYTES)
      return Promise.reject(
        new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `bundle must be ${PREKEY_BUNDLE_BYTES} bytes`),
      );
    return this.#prekeyRequest(null, (frameId) => ({ type: FrameType.PREKEY_PUBLISH, frameId, bundle })).then(
      () => undefined,
    );
  }

  /**
   * The prekey bundle the server holds for `key`, or null when it holds none. The bytes are as
   * the owner published them: verify before use (sealToPrekey verifies owner, signature and
   * validity). Rejects like publishPrekeyBundle (RDV_ERR_RATE_LIMITED past the server's budget).
   */
  fetchPrekeyBundle(key: Uint8Array): Promise<Uint8Array | null> {
    if (!(key instanceof Uint8Array) || key.length !== PUBLIC_KEY_BYTES)
      return Promise.reject(new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `key must be ${PUBLIC_KEY_BYTES} bytes`));
    const wanted = Uint8Array.from(key);
    return this.#prekeyRequest(wanted, (frameId) => ({ type: FrameType.PREKEY_FETCH, frameId, key: wanted }));
  }

  #prekeyRequest(key: Uint8Array | null, frame: (frameId: number) => Frame): Promise<Uint8Array | null> {
    const ws = this.#ws;
    if (!this.isConnected || !ws)
      return Promise.reject(new ClientError('CLIENT_ERR_LINK_CLOSED', `rendezvous ${this.#state}`));
    if (this.#prekeyRequests.size >= PREKEY_REQUESTS_MAX_IN_FLIGHT)
      return Promise.reject(
        new ClientError('CLIENT_ERR_BUSY', `${PREKEY_REQUESTS_MAX_IN_FLIGHT} prekey requests already in flight`),
      );
    const frameId = this.#nextFrameId();
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(frame(frameId));
    } catch (err) {
      return Promise.reject(new ClientError('CLIENT_ERR_INVALID_ARGUMENT', String(err)));
    }
    return new Promise<Uint8Array | null>((resolve, reject) => {
      const wait = this.#opts.prekeyRequestTimeoutMs ?? PREKEY_REQUEST_TIMEOUT_MS;
      const timer = setTimeout(() => {
        if (this.#prekeyRequests.delete(frameId))
          reject(new ClientError('CLIENT_ERR_PREKEY_TIMEOUT', `no answer in ${wait} ms`));
      }, wait);
      timer.unref?.();
      this.#prekeyRequests.set(frameId, { key, resolve, reject, timer });
      ws.send(bytes);
    });
  }

  /** Settle a prekey request from the server's answer; false when `frameId` is not one. */
  #settlePrekey(frame: Frame): boolean {
    if (frame.type !== FrameType.ACK && frame.type !== FrameType.ERROR && frame.type !== FrameType.PREKEY_BUNDLE)
      return false;
    const r = this.#prekeyRequests.get(frame.frameId);
    if (r === undefined) return false;
    this.#prekeyRequests.delete(frame.frameId);
    clearTimeout(r.timer);
    if (frame.type === FrameType.ERROR)
      r.reject(
        new ClientError('CLIENT_ERR_PREKEY_REFUSED', `${frame.code}: ${frame.message}`, { serverCode: frame.code }),
      );
    else if (frame.type === FrameType.ACK) {
      if (r.key === null) r.resolve(null);
      else r.reject(new ClientError('CLIENT_ERR_PREKEY_REFUSED', 'the server answered a fetch with an ACK'));
    } else if (r.key === null || !bytesEqual(frame.key, r.key))
      r.reject(new ClientError('CLIENT_ERR_PREKEY_REFUSED', 'the server answered with the bundle of another key'));
    else r.resolve(frame.bundle.length === 0 ? null : Uint8Array.from(frame.bundle));
    return true;
  }

  /** The socket went away: no answer can come for what it carried. */
  #failPrekeyRequests(why: string): void {
    for (const r of this.#prekeyRequests.values()) {
      clearTimeout(r.timer);
      r.reject(new ClientError('CLIENT_ERR_LINK_CLOSED', `rendezvous connection ${why} before the answer`));
    }
    this.#prekeyRequests.clear();
  }

  #nextFrameId(): number {
    this.#frameId = (this.#frameId % 0xffffffff) + 1;
    return this.#frameId;
  }

  /**
   * RELAY frame: the server mailboxes it when the peer is offline (envelope v1 and PREKEY
   * packets; handshake and transport packets get PEER_OFFLINE). Returns the frame id.
   */
  relay(to: Uint8Array, envelope: Uint8Array): number {
    const ttlS = this.#mailboxTtlS(envelope);
    return this.#sendRouted(FrameType.RELAY, to, envelope, ttlS);
  }

  /** Bytes a relay() of `envelope` adds before it (the frame must fit the server's maxFrameBytes). */
  relayHeaderBytes(envelope: Uint8Array): number {
    return this.#mailboxTtlS(envelope) > 0 ? RELAY_TTL_FRAME_HEADER_BYTES : ROUTED_FRAME_HEADER_BYTES;
  }

  /**
   * The RELAY_TTL seconds for a packet, or 0 for a plain RELAY: only PREKEY packets (0x02 0x04,
   * the ones we mailbox) with a configured TTL, and only to a server that advertises its own
   * (one that does not predates RELAY_TTL). Clamped to the server's; at least 1 s.
   */
  #mailboxTtlS(envelope: Uint8Array): number {
    const mine = this.#opts.mailboxTtlMs;
    const server = this.#welcome?.mailboxTtlMs ?? null;
    if (mine === undefined || server === null || envelope[0] !== 0x02 || envelope[1] !== 0x04) return 0;
    return Math.max(1, Math.floor(Math.min(mine, server) / 1000));
  }

  /** SIGNAL frame: forwarded only if the peer is online (never stored). For WebRTC signalling. */
  signal(to: Uint8Array, envelope: Uint8Array): number {
    return this.#sendRouted(FrameType.SIGNAL, to, envelope);
  }

  #sendRouted(
    type: typeof FrameType.RELAY | typeof FrameType.SIGNAL,
    to: Uint8Array,
    envelope: Uint8Array,
    ttlS = 0,
  ): number {
    const ws = this.#ws;
    if (!this.isConnected || !ws) throw new ClientError('CLIENT_ERR_LINK_CLOSED', `rendezvous ${this.#state}`);
    const frameId = this.#nextFrameId();
    if (this.#pending.size >= PENDING_FRAMES_MAX) this.#pending.delete(this.#pending.keys().next().value!);
    // A PREKEY packet (0x02 0x04) names its message id elsewhere than an envelope; v2 session packets have none.
    this.#pending.set(frameId, { to, messageId: packetMessageId(envelope) });
    this.#cork.cork(ws);
    ws.send(
      ttlS > 0
        ? encodeFrame({ type: FrameType.RELAY_TTL, frameId, ttlS, to, envelope })
        : routedFrame(type, frameId, to, envelope),
    );
    return frameId;
  }

  #setState(state: ConnectionState, detail: string): void {
    if (this.#state === 'stopped' && state !== 'stopped') return;
    const changed = this.#state !== state;
    this.#state = state;
    if (changed || state === 'reconnecting') this.emit('state', state, detail);
  }

  #timer(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref?.();
    this.#timers.add(t);
  }

  #connect(): void {
    if (this.#state === 'stopped') return;
    this.#setState('connecting', this.url.href);
    const ws = new WebSocket(this.url, {
      maxPayload: DEFAULT_MAX_FRAME_BYTES * 2,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      // An all-zero mask, as the direct dialer's: ws then skips masking here and unmasking at the
      // server (a copy and an XOR of every relayed byte each way). Masking guards HTTP
      // intermediaries against payloads a hostile browser script chose; ours are session
      // ciphertext and frames of our own, no browser involved (docs/protocol.md "Transport").
      generateMask: (mask: Buffer) => mask.fill(0),
    });
    this.#ws = ws;
    ws.binaryType = 'nodebuffer';
    let authed = false;
    const deadline = setTimeout(() => {
      if (!authed) ws.terminate();
    }, HANDSHAKE_TIMEOUT_MS);
    deadline.unref?.();
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.#lastHeard = Date.now();
      if (!isBinary) return;
      let frame: Frame;
      try {
        frame = decodeFrame(
          new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
          this.#welcome?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES * 2,
        );
      } catch {
        // A server that speaks garbage gets dropped and redialled; nothing crashes.
        ws.terminate();
        return;
      }
      if (!authed) {
        authed = this.#handshake(ws, frame);
        if (authed) clearTimeout(deadline);
        return;
      }
      this.#onFrame(ws, frame);
    });
    let opened = false;
    let failure: ConnectFailure | null = null;
    ws.on('open', () => {
      opened = true;
      this.#lastFailure = null;
    });
    ws.on('error', (err) => {
      // 'close' follows and schedules the reconnect; before 'open' the error says why.
      if (!opened) failure = classifyConnectError(err, this.url);
    });
    ws.on('close', (code, reason) => {
      clearTimeout(deadline);
      if (this.#ws !== ws) return;
      this.#ws = null;
      this.#stopHeartbeat();
      this.#failPrekeyRequests('closed');
      if (this.#state === 'stopped' || this.#state === 'replaced') return;
      if (failure) {
        this.#lastFailure = failure;
        this.emit('unreachable', failure);
        this.#scheduleReconnect(`cannot reach ${this.url.href}: ${failure.cause}`);
        return;
      }
      this.#scheduleReconnect(`closed ${code}${reason.length ? ` ${reason.toString()}` : ''}`);
    });
  }

  /** Returns true once WELCOME has arrived. */
  #handshake(ws: WebSocket, frame: Frame): boolean {
    if (frame.type === FrameType.CHALLENGE) {
      // Sign the origin we dialed, never the one the server names.
      const hello = buildHello(this.#opts.suite, this.#opts.identity, frame.challenge, this.url.host, {
        token: this.#opts.token ?? '',
      });
      ws.send(encodeFrame(hello));
      return false;
    }
    if (frame.type === FrameType.WELCOME) {
      this.#welcome = parseWelcome(frame.info);
      this.#attempt = 0;
      this.#lastHeard = Date.now();
      this.#setState('connected', this.url.href);
      this.#startHeartbeat(ws);
      this.emit('welcome', this.#welcome);
      return true;
    }
    if (frame.type === FrameType.ERROR) {
      // Refused before WELCOME (admission, auth): keep the code for the reconnect status line.
      this.#lastRefusal = `${frame.code}: ${frame.message}`;
      this.emit('server-error', frame.code, frame.message, frame.frameId);
      this.#stateFromError(frame.code, frame.message);
      ws.close();
    }
    return false;
  }

  #stateFromError(code: string, message: string): void {
    if (code !== 'RDV_ERR_REPLACED') return;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const { delayMs, maxReconnects, windowMs } = this.#replacedPolicy;
    const now = Date.now();
    this.#replacedAt = this.#replacedAt.filter((t) => now - t < windowMs);
    this.#replacedAt.push(now);
    const n = this.#replacedAt.length;
    if (n > maxReconnects) {
      this.#setState(
        'replaced',
        `${code}: ${message}; replaced ${n} times within ${Math.round(windowMs / 1000)} s — another process may be using this identity; not reconnecting until asked (reconnect)`,
      );
      return;
    }
    const random = this.#opts.random ?? Math.random;
    const delay = delayMs * 2 ** (n - 1) + Math.floor(random() * delayMs);
    this.#setState('replaced', `${code}: ${message}; reconnecting in ${delay} ms (${n} of ${maxReconnects})`);
    this.#timer(() => {
      if (this.#state !== 'replaced') return;
      this.#dropSocket(); // normally already closed by the server (4005)
      this.#connect();
    }, delay);
  }

  #onFrame(ws: WebSocket, frame: Frame): void {
    if (this.#prekeyRequests.size > 0 && this.#settlePrekey(frame)) return;
    switch (frame.type) {
      case FrameType.DELIVER:
        this.emit('deliver', Uint8Array.from(frame.from), ownedEnvelope(frame.envelope), frame.channel);
        return;
      case FrameType.ACK: {
        const p = this.#pending.get(frame.frameId);
        this.#pending.delete(frame.frameId);
        if (p !== undefined) this.emit('frame-ack', p.to, p.messageId, frame.status === AckStatus.QUEUED);
        return;
      }
      case FrameType.PEER_OFFLINE:
        this.#pending.delete(frame.frameId);
        this.emit('peer-offline', Uint8Array.from(frame.to));
        return;
      case FrameType.ERROR: {
        const to = this.#pending.get(frame.frameId)?.to;
        this.#pending.delete(frame.frameId);
        this.emit('server-error', frame.code, frame.message, frame.frameId);
        if (frame.code === 'RDV_ERR_RECIPIENT_BUSY' && to !== undefined) this.emit('recipient-busy', to);
        this.#stateFromError(frame.code, frame.message);
        return;
      }
      case FrameType.PING:
        ws.send(encodeFrame({ type: FrameType.PONG, nonce: frame.nonce }));
        return;
      case FrameType.PONG:
        return;
      case FrameType.RESTARTING:
        // The server is draining: leave now, come back after its hint (plus jitter).
        this.#retryAfterMs = frame.retryAfterMs;
        ws.close(1001, 'server restarting');
        return;
      default:
        return;
    }
  }

  #startHeartbeat(ws: WebSocket): void {
    this.#stopHeartbeat();
    const every = this.#welcome?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.#heartbeat = setInterval(() => {
      if (Date.now() - this.#lastHeard > every * 2) {
        ws.terminate();
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeFrame({ type: FrameType.PING, nonce: Date.now() }));
    }, every);
    this.#heartbeat.unref?.();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  #scheduleReconnect(detail: string): void {
    const random = this.#opts.random ?? Math.random;
    const cap = Math.min(RECONNECT_MAX_MS, RECONNECT_INITIAL_MS * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    const delay = Math.max(this.#retryAfterMs, 0) + Math.floor(random() * cap);
    this.#retryAfterMs = 0;
    const refusal = this.#lastRefusal ? `refused (${this.#lastRefusal}); ` : '';
    this.#lastRefusal = '';
    this.#setState('reconnecting', `${refusal}${detail}; retry in ${delay} ms`);
    this.#timer(() => this.#connect(), delay);
  }
}

/**
 * A DELIVER frame's envelope to hand on: the view itself when it is most of the socket read it
 * lies in (a relayed file chunk: no copy of every relayed byte; nothing else writes that memory),
 * a copy when keeping the view would keep a much larger read buffer alive (small packets).
 */
function ownedEnvelope(view: Uint8Array): Uint8Array {
  return view.buffer.byteLength > 2 * view.byteLength ? Uint8Array.from(view) : view;
}

/**
 * A RELAY or SIGNAL frame (type, frameId u32, to, envelope; as encodeFrame lays it out) in one
 * unzeroed allocation: encodeFrame zero-fills the whole frame before copying the envelope over it.
 */
function routedFrame(type: number, frameId: number, to: Uint8Array, envelope: Uint8Array): Buffer {
  if (to.length !== PUBLIC_KEY_BYTES) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'to must be a public key');
  const b = Buffer.allocUnsafe(ROUTED_FRAME_HEADER_BYTES + envelope.length);
  b[0] = type;
  b.writeUInt32BE(frameId >>> 0, 1);
  b.set(to, 5);
  b.set(envelope, ROUTED_FRAME_HEADER_BYTES);
  return b;
}

function parseWelcome(info: string): WelcomeInfo {
  let raw: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(info);
    if (typeof parsed === 'object' && parsed !== null) raw = parsed as Record<string, unknown>;
  } catch {
    // An unreadable WELCOME still means we are authenticated; use defaults.
  }
  const num = (v: unknown, def: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : def);
  return Object.freeze({
    heartbeatMs: num(raw.heartbeatMs, DEFAULT_HEARTBEAT_MS),
    maxFrameBytes: num(raw.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES),
    sendQueueMaxBytes: num(raw.sendQueueMaxBytes, 0) || null,
    mailboxTtlMs: num(raw.mailboxTtlMs, 0) || null,
    relayAllowanceBytes: num(raw.relayAllowanceBytes, 0) || null,
    rateBytesPerS: num(raw.rateBytesPerS, 0) || null,
    raw: Object.freeze(raw),
  });
}
