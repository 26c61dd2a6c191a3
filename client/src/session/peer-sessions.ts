import {
  acceptSession,
  bytesEqual,
  type CryptoSuite,
  encodeKey,
  HANDSHAKE_INIT_BYTES,
  type Identity,
  initiateSession,
  type PendingSession,
  type SessionOptions,
  Session as TransportSession,
} from '@p2p-comm/protocol';
import { nodeChaChaPoly } from '@p2p-comm/protocol/node';
import {
  PEER_HANDSHAKE_RETRY_INITIAL_MS,
  PEER_HANDSHAKE_RETRY_MAX_MS,
  PEER_HANDSHAKE_TIMEOUT_MS,
  PEER_HANDSHAKES_PENDING_MAX,
  PEER_SESSION_IDLE_CLOSE_MS,
  PEER_SESSION_RECONFIRM_MS,
  PEER_SESSION_SWEEP_MS,
  PEER_SESSIONS_MAX,
} from '../constants.js';
import { ClientError } from '../errors.js';
import { HandshakeLimiter } from './handshake-limiter.js';
import { encodeInnerConfirm } from './inner-payload.js';

/** Timings tests shorten; defaults are the PEER_* constants. */
export interface PeerSessionTimings {
  handshakeTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  idleCloseMs: number;
  sweepMs: number;
  reconfirmMs: number;
}

export interface PeerSessionsDeps {
  suite: CryptoSuite;
  identity: Identity;
  now: () => number;
  /** Only peers in trust state 'trusted' may start or answer a handshake. */
  isTrusted: (peer: string) => boolean;
  /** Send a peer packet over the best path (throws when there is none). */
  transmit: (peerKey: Uint8Array, packet: Uint8Array) => void;
  /** A session became usable (we completed a handshake, or the initiator's first packet confirmed it). */
  onEstablished: (peer: string) => void;
  /** A handshake or transport packet was refused (counted, never fatal). */
  onRejected: (peer: string, code: string) => void;
  /** Does the peer still need a session (unacked messages)? Decides retries after a timeout. */
  wantsSession: (peer: string) => boolean;
  /** The rekey policy of every session (defaults: the library's SESSION_REKEY_*). */
  sessionOptions?: SessionOptions;
  timings?: Partial<PeerSessionTimings>;
}

interface PeerState {
  readonly key: Uint8Array;
  /** Confirmed session: we initiated it, or the initiator's first transport packet opened under it. */
  live: TransportSession | null;
  /**
   * Responder side, before the initiator's first transport packet: a replayed message 1 gives a
   * session nobody can use, so it must not replace `live` until a packet authenticates under it.
   */
  candidate: TransportSession | null;
  /**
   * Our message 1 in flight. After the timeout it stays readable (a late message 2 still
   * completes it) but no longer blocks a new attempt, which replaces it once the backoff allows;
   * its secrets are erased then, or PEER_HANDSHAKE_TIMEOUT_MS + retryMaxMs after it started.
   */
  pending: { hs: PendingSession; startedAt: number; timedOut: boolean } | null;
  /**
   * The last message 1 we answered (its ephemeral key) and our answer: a duplicate of it (a path
   * that repeats packets) gets the same answer again, no new work and no new candidate.
   */
  answered: { ephemeral: Uint8Array; response: Uint8Array } | null;
  /**
   * When we last repeated our CONFIRM under `live` because the peer's packets opened under
   * nothing we hold, ms; 0 when its last packet was readable (PEER_SESSION_RECONFIRM_MS).
   */
  reconfirmedAt: number;
  /** No new initiation before this, ms (backoff after failures). */
  retryAt: number;
  failures: number;
  lastUsed: number;
}

export interface PeerSessionCounters {
  /** Message 1 sent by us. */
  initiated: number;
  /** Message 2 read by us: a session we initiated. */
  completed: number;
  /** Message 1 answered by us. */
  accepted: number;
  /** Message 1 of the peer dropped because ours wins the tie-break. */
  tieBreaks: number;
  /** Handshake or transport packets refused. */
  rejected: number;
  /** Handshakes abandoned after PEER_HANDSHAKE_TIMEOUT_MS. */
  timeouts: number;
}

/**
 * One v2 Noise session per trusted peer (not per path): made lazily when there is something to
 * send, over whatever path is up, and kept when the path changes. Handshake packets go through
 * the same `transmit` as everything else.
 *
 * - Simultaneous open: when both sides initiate, the initiation from the lexicographically lower
 *   Ed25519 key wins; the other side abandons its own (secrets erased) and answers.
 * - Message 1 from a key that is not trusted is dropped before any X25519 or ML-KEM work;
 *   answering is rate-limited (HandshakeLimiter).
 * - The initiator sends a CONFIRM transport packet right after message 2, which is what makes
 *   the responder's session live.
 * - A transport packet that opens under no session we hold (the peer restarted, or we did)
 *   starts a new handshake, subject to the same backoff.
 */
export class PeerSessions {
  readonly #d: PeerSessionsDeps;
  readonly #t: PeerSessionTimings;
  readonly #peers = new Map<string, PeerState>();
  readonly #limiter = new HandshakeLimiter();
  readonly #myKey: Uint8Array;
  #timer: NodeJS.Timeout | null = null;
  #pendingCount = 0;
  readonly counters: PeerSessionCounters = {
    initiated: 0,
    completed: 0,
    accepted: 0,
    tieBreaks: 0,
    rejected: 0,
    timeouts: 0,
  };

  constructor(deps: PeerSessionsDeps) {
    this.#d = deps;
    this.#myKey = deps.identity.publicKey;
    this.#t = {
      handshakeTimeoutMs: PEER_HANDSHAKE_TIMEOUT_MS,
      retryInitialMs: PEER_HANDSHAKE_RETRY_INITIAL_MS,
      retryMaxMs: PEER_HANDSHAKE_RETRY_MAX_MS,
      idleCloseMs: PEER_SESSION_IDLE_CLOSE_MS,
      sweepMs: PEER_SESSION_SWEEP_MS,
      reconfirmMs: PEER_SESSION_RECONFIRM_MS,
      ...deps.timings,
    };
  }

  start(): void {
    this.#timer = setInterval(() => this.#sweep(), this.#t.sweepMs);
    this.#timer.unref?.();
  }

  /** Erase every key and pending handshake. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const peer of [...this.#peers.keys()]) this.drop(peer);
  }

  /** A session to `peer` we may seal with now (confirmed, or a candidate awaiting confirmation). */
  has(peer: string): boolean {
    const s = this.#peers.get(peer);
    return Boolean(s && (s.live ?? s.candidate));
  }

  /** The handshake hash of the live session (a public session id), or null. */
  sessionId(peer: string): Uint8Array | null {
    return this.#peers.get(peer)?.live?.handshakeHash ?? null;
  }

  /**
   * Seal `inner` for `peer` under its session: the TRANSPORT packet, or null when there is no
   * session (the caller then uses the prekey or waits; call `ensure` to start a handshake).
   */
  seal(peer: string, inner: Uint8Array): Uint8Array | null {
    return this.sealParts(peer, [inner]);
  }

  /** `seal` of `parts` concatenated, without gathering them first (a kind byte and a file chunk). */
  sealParts(peer: string, parts: readonly Uint8Array[]): Uint8Array | null {
    const s = this.#peers.get(peer);
    const session = s?.live ?? s?.candidate;
    if (!s || !session) return null;
    s.lastUsed = this.#d.now();
    return session.sealParts(parts);
  }

  /** Start a handshake with `peer` unless a session or one is in flight, or the backoff says wait. */
  ensure(peer: string, peerKey: Uint8Array): void {
    if (!this.#d.isTrusted(peer)) return;
    const s = this.#state(peer, peerKey);
    if (!s.live) this.#initiate(s);
  }

  /** Send message 1 unless one of ours is in flight or the backoff says wait (a live session may stay beside it). */
  #initiate(s: PeerState): void {
    const now = this.#d.now();
    if ((s.pending && !s.pending.timedOut) || now < s.retryAt) return;
    this.#abandon(s); // a timed-out attempt of ours: this one replaces it
    if (this.#pendingCount >= PEER_HANDSHAKES_PENDING_MAX) return; // a slot frees within the timeout
    const { packet, pending } = initiateSession({
      identity: this.#d.identity,
      remotePublicKey: s.key,
      suite: this.#d.suite,
    });
    s.pending = { hs: pending, startedAt: now, timedOut: false };
    this.#pendingCount++;
    this.counters.initiated++;
    try {
      this.#d.transmit(s.key, packet);
    } catch {
      // No path now: forget it; the next send or path-up asks again.
      this.#abandon(s);
      s.retryAt = now + this.#t.retryInitialMs;
    }
  }

  /** Move our sending direction to the next epoch now (the old key is erased). */
  rekey(peer: string): void {
    this.#peers.get(peer)?.live?.rekey();
  }

  /**
   * The relay says the peer is offline (PEER_OFFLINE for a live-only packet): close its session
   * (the peer may come back as a new process) and any pending handshake, and back off before
   * the next message 1. True if there was a session.
   */
  peerOffline(peer: string): boolean {
    const s = this.#peers.get(peer);
    if (!s) return false;
    const had = closeSessions(s);
    if (s.pending) {
      this.#abandon(s);
      this.#failed(s);
    }
    return had;
  }

  /** Close the peer's session and pending handshake (revoked); true if there was a session. */
  drop(peer: string): boolean {
    const s = this.#peers.get(peer);
    if (!s) return false;
    const had = closeSessions(s);
    this.#abandon(s);
    this.#peers.delete(peer);
    return had;
  }

  /**
   * A HANDSHAKE_INIT from `from` (the path's authenticated key). Answers it unless refused:
   * untrusted (before any crypto), rate-limited, our own initiation wins the tie-break, or it
   * does not verify. Never throws.
   */
  onHandshakeInit(from: Uint8Array, packet: Uint8Array): void {
    const peer = encodeKey(from);
    if (!this.#d.isTrusted(peer)) {
      this.#reject(peer, 'CLIENT_ERR_NOT_TRUSTED');
      return;
    }
    if (packet.length !== HANDSHAKE_INIT_BYTES) {
      this.#reject(peer, 'PROTO_ERR_TRUNCATED');
      return;
    }
    const s = this.#state(peer, from);
    if (s.pending && !s.pending.timedOut && Buffer.compare(this.#myKey, s.key) < 0) {
      // Both initiated: ours (the lower key) wins; the peer abandons its own and answers ours.
      this.counters.tieBreaks++;
      return;
    }
    const ephemeral = packet.subarray(2, 34);
    if (s.answered && bytesEqual(s.answered.ephemeral, ephemeral)) {
      try {
        this.#d.transmit(s.key, s.answered.response);
      } catch {
        // no path back now
      }
      return;
    }
    const now = this.#d.now();
    if (!this.#limiter.allow(peer, now)) {
      this.#reject(peer, 'CLIENT_ERR_HANDSHAKE_RATE_LIMITED');
      return;
    }
    let answer: ReturnType<typeof acceptSession>;
    try {
      answer = acceptSession(packet, {
        identity: this.#d.identity,
        suite: this.#d.suite,
        // The key inside message 1 must be the one the path authenticated, and still trusted.
        acceptInitiator: (k) => bytesEqual(k, from) && this.#d.isTrusted(peer),
      });
    } catch (err) {
      this.#reject(peer, codeOf(err));
      return;
    }
    this.#abandon(s); // we lost the tie-break (or had none pending)
    s.candidate?.close();
    s.candidate = new TransportSession(answer.keys, this.#sessionOptions());
    s.answered = { ephemeral: Uint8Array.from(ephemeral), response: answer.packet };
    s.lastUsed = now;
    s.failures = 0;
    s.retryAt = 0;
    this.counters.accepted++;
    try {
      this.#d.transmit(s.key, answer.packet);
    } catch {
      // No path back now: the initiator times out and tries again.
    }
  }

  /** A HANDSHAKE_RESPONSE from `from`. Completes our pending handshake or is refused. Never throws. */
  onHandshakeResponse(from: Uint8Array, packet: Uint8Array): void {
    const peer = encodeKey(from);
    const s = this.#peers.get(peer);
    if (!this.#d.isTrusted(peer)) {
      this.#reject(peer, 'CLIENT_ERR_NOT_TRUSTED');
      return;
    }
    if (!s?.pending) {
      this.#reject(peer, 'CLIENT_ERR_HANDSHAKE_UNEXPECTED');
      return;
    }
    const pending = s.pending;
    s.pending = null;
    this.#pendingCount--;
    let keys: ReturnType<PendingSession['complete']>['keys'];
    try {
      keys = pending.hs.complete(packet).keys; // fails closed: the pending state is erased
    } catch (err) {
      this.#failed(s);
      this.#reject(peer, codeOf(err));
      return;
    }
    s.live?.close();
    s.candidate?.close();
    s.candidate = null;
    s.live = new TransportSession(keys, this.#sessionOptions());
    s.failures = 0;
    s.retryAt = 0;
    s.lastUsed = this.#d.now();
    this.counters.completed++;
    try {
      this.#d.transmit(s.key, s.live.seal(encodeInnerConfirm()));
    } catch {
      // The first data packet confirms it as well.
    }
    this.#d.onEstablished(peer);
  }

  /**
   * A TRANSPORT packet from `from`: its plaintext, or null when refused (counted). A packet
   * that opens under no session we hold starts a new handshake (the peer or we restarted);
   * a replay does not.
   */
  open(from: Uint8Array, packet: Uint8Array): Uint8Array | null {
    const peer = encodeKey(from);
    if (!this.#d.isTrusted(peer)) {
      this.#reject(peer, 'CLIENT_ERR_NOT_TRUSTED');
      return null;
    }
    const s = this.#peers.get(peer);
    let firstError: unknown = null;
    for (const session of [s?.live, s?.candidate]) {
      if (!session || !s) continue;
      try {
        const plaintext = session.open(packet);
        s.lastUsed = this.#d.now();
        s.reconfirmedAt = 0;
        if (session === s.candidate) {
          // The initiator's first packet authenticated: this is the session now.
          s.live?.close();
          s.live = session;
          s.candidate = null;
          this.#d.onEstablished(peer);
        }
        return plaintext;
      } catch (err) {
        firstError ??= err;
      }
    }
    const code = firstError ? codeOf(firstError) : 'CLIENT_ERR_NO_SESSION';
    this.#reject(peer, code);
    if (code === 'PROTO_ERR_SESSION_REPLAY' || code === 'PROTO_ERR_SESSION_TOO_OLD') return null;
    if (s?.live) this.#unreadableUnderLive(s);
    else this.ensure(peer, from);
    return null;
  }

  /**
   * The peer seals under a session we do not hold although ours is live. Most often it never
   * saw our CONFIRM (a lossy path) and holds our session only as a candidate, still sealing
   * under an older one: repeat the CONFIRM, which makes ours live there. If its packets are
   * still unreadable an interval after a repeat, it does not hold ours at all (its session
   * came from a message 1 of ours we replaced, or it restarted): start a new handshake beside
   * ours. Both at most once per PEER_SESSION_RECONFIRM_MS, and the handshake under the usual
   * backoff, so a stream of junk costs a packet a second at most.
   */
  #unreadableUnderLive(s: PeerState): void {
    const live = s.live;
    if (!live) return;
    const now = this.#d.now();
    const since = now - s.reconfirmedAt;
    if (since < this.#t.reconfirmMs) return;
    if (s.reconfirmedAt > 0 && since < 4 * this.#t.reconfirmMs) {
      s.reconfirmedAt = now;
      this.#initiate(s);
      return;
    }
    s.reconfirmedAt = now;
    try {
      this.#d.transmit(s.key, live.seal(encodeInnerConfirm()));
    } catch {
      // No path now: the next unreadable packet asks again.
    }
  }

  #sessionOptions(): SessionOptions {
    // OpenSSL's ChaCha20-Poly1305: the session AEAD was most of a file transfer's CPU in pure JS (bench:files).
    return { now: this.#d.now, aead: nodeChaChaPoly, ...this.#d.sessionOptions };
  }

  #state(peer: string, key: Uint8Array): PeerState {
    let s = this.#peers.get(peer);
    if (s) {
      this.#peers.delete(peer); // most recently used last
      this.#peers.set(peer, s);
      return s;
    }
    s = {
      key: Uint8Array.from(key),
      live: null,
      candidate: null,
      pending: null,
      answered: null,
      reconfirmedAt: 0,
      retryAt: 0,
      failures: 0,
      lastUsed: this.#d.now(),
    };
    this.#peers.set(peer, s);
    while (this.#peers.size > PEER_SESSIONS_MAX) this.drop(this.#peers.keys().next().value!);
    return s;
  }

  #abandon(s: PeerState): void {
    if (!s.pending) return;
    s.pending.hs.destroy();
    s.pending = null;
    this.#pendingCount--;
  }

  /** A handshake of ours failed or timed out: back off (doubling, with jitter). */
  #failed(s: PeerState): void {
    s.failures++;
    const base = Math.min(this.#t.retryInitialMs * 2 ** (s.failures - 1), this.#t.retryMaxMs);
    s.retryAt = this.#d.now() + base + Math.floor(Math.random() * (base / 4));
  }

  #reject(peer: string, code: string): void {
    this.counters.rejected++;
    this.#d.onRejected(peer, code);
  }

  #sweep(): void {
    const now = this.#d.now();
    for (const [peer, s] of [...this.#peers]) {
      if (s.pending && !s.pending.timedOut && now - s.pending.startedAt >= this.#t.handshakeTimeoutMs) {
        s.pending.timedOut = true;
        this.counters.timeouts++;
        this.#failed(s);
      }
      if (s.pending?.timedOut && now - s.pending.startedAt >= this.#t.handshakeTimeoutMs + this.#t.retryMaxMs)
        this.#abandon(s);
      const waiting = !s.pending || s.pending.timedOut;
      if (waiting && !s.live && s.retryAt > 0 && now >= s.retryAt && this.#d.wantsSession(peer))
        this.ensure(peer, s.key);
      for (const session of [s.live, s.candidate]) session?.expirePrevious();
      if ((s.live || s.candidate) && now - s.lastUsed >= this.#t.idleCloseMs) {
        s.live?.close();
        s.candidate?.close();
        s.live = null;
        s.candidate = null;
      }
      if (!s.live && !s.candidate && !s.pending && s.retryAt <= now && s.failures === 0) this.#peers.delete(peer);
    }
  }
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : new ClientError('CLIENT_ERR_BAD_PAYLOAD').code;
}

/** Close (and erase) a peer's live and candidate sessions; true if it had either. */
function closeSessions(s: PeerState): boolean {
  const had = Boolean(s.live ?? s.candidate);
  s.live?.close();
  s.candidate?.close();
  s.live = null;
  s.candidate = null;
  return had;
}
