import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  bytesEqual,
  type CryptoSuite,
  checkPeerPacket,
  decodeKey,
  EnvelopeType,
  encodeKey,
  encodePrekeyPacket,
  formatFingerprint,
  type Identity,
  openEnvelope,
  openPrekeyMessage,
  PeerPacketKind,
  PREKEY_PACKET_PREFIX_BYTES,
  PREKEY_PACKET_SENDER_OFFSET,
  PUBLIC_KEY_BYTES,
  peekEnvelope,
  type ReplayGuard,
  SESSION_VERSION,
  type SessionOptions,
  sealEnvelope,
  sealToPrekey,
  verifyEnvelopeSignature,
} from '@p2p-comm/protocol';
import {
  ACK_AFTER_BUSY_MAX_KEYS,
  ACK_AFTER_BUSY_MS,
  ACK_DELAY_MS,
  APPROVAL_TIMEOUT_MS,
  CONSENT_RETRY_MS,
  MAX_MESSAGE_BYTES,
  PENDING_APPROVALS_MAX,
  PENDING_CONSENT_TTL_MS,
  PREKEY_FETCH_INTERVAL_MS,
  PREKEY_PEER_BUNDLES_MAX,
  PREKEY_REFRESH_CHECK_MS,
  REVOKE_NOTICE_INTERVAL_MS,
  REVOKE_NOTICE_MAX_KEYS,
  STALE_COPY_ACK_INTERVAL_MS,
  STALE_COPY_ACK_MAX_KEYS,
} from '../constants.js';
import { ClientError } from '../errors.js';
import { displayLabel, namesCollide, validateDisplayName } from '../store/display-name.js';
import type { OwnPrekeys } from '../store/own-prekeys.js';
import type { PeerPrekeys } from '../store/peer-prekeys.js';
import { DEFAULT_SCOPES, type TrustedPeer, type TrustStore } from '../store/trust-store.js';
import type { PathKind } from '../transports/link.js';
import type { InboxState } from './inbox-state.js';
import {
  decodeInner,
  encodeInnerBundle,
  encodeInnerPayload,
  INNER_FILE_PREFIX,
  type SessionPayload,
} from './inner-payload.js';
import { type NameChangeEvent, NameChanges } from './name-changes.js';
import type { Outbox, OutboxMessage } from './outbox.js';
import { type BodyEncoding, decodePayload, encodePayload, type Payload } from './payload.js';
import { PeerSessions, type PeerSessionTimings } from './peer-sessions.js';
import { PendingConsents } from './pending-consents.js';
import { PerKeyInterval } from './per-key-interval.js';
import type { PersistentPrekeyReplay } from './prekey-replay-store.js';
import { ConsentRateLimiter } from './rate-limiter.js';
import { chosenByUser } from './replay-store.js';
import { Retransmitter } from './retransmitter.js';

/**
 * Stream id of a position ack sent before anything of the peer's was delivered (upTo -1: "I
 * have nothing of yours"). It matches no stream of the sender's, so it acks nothing; it only tells
 * the sender that we are online without its messages.
 */
const NO_STREAM_ID = 'no-stream';

export interface ConsentRequestEvent {
  requestId: string;
  key: string;
  fingerprint: string;
  name: string;
  /** Set when a trusted peer's display name arrives with this new key: a hard stop. */
  keyChanged?: { previousKey: string; previousFingerprint: string };
}
export interface MessageReceivedEvent {
  id: string;
  from: string;
  name: string;
  seq: number;
  text?: string;
  /** base64 when the body is binary. */
  data?: string;
  via: PathKind;
  receivedAt: number;
}
export interface ApprovalRequestEvent {
  approvalId: string;
  from: string;
  name: string;
  fingerprint: string;
  id: string;
  bytes: number;
  enc: BodyEncoding;
  /** First 200 characters of a text message (what the user is asked to allow). */
  preview?: string;
  /**
   * The whole content, so the host's risk review judges all of it, not the preview: `text`
   * for a text message, `data` (base64) for binary. Bounded by MAX_MESSAGE_BYTES.
   */
  text?: string;
  data?: string;
}
export interface PeerStatusEvent {
  key: string;
  name: string;
  fingerprint: string;
  /**
   * 'denied': the peer denied our request; 'declined': the local user declined the peer's
   * request (the peer stays unknown); otherwise the trust state.
   */
  state: TrustedPeer['state'] | 'unknown' | 'denied' | 'declined';
  path: string;
}

export interface SessionEvents {
  'consent.request': [ConsentRequestEvent];
  'message.received': [MessageReceivedEvent];
  'message.delivered': [{ id: string; to: string; seq: number }];
  'message.failed': [{ id: string; to: string; code: string }];
  'peer.status': [PeerStatusEvent];
  'approval.request': [ApprovalRequestEvent];
  /** A trusted peer sent another name: shown only if the local user accepts (names.respond). */
  'name.change': [NameChangeEvent];
  /** Diagnostics: an envelope was refused (code), never fatal. */
  rejected: [{ from: string; code: string }];
  /** A file-transfer message from a trusted peer under the live session (for client/src/files). */
  'file.message': [{ from: string; bytes: Uint8Array }];
}

export interface SessionDeps {
  suite: CryptoSuite;
  identity: Identity;
  localName: () => string;
  trust: TrustStore;
  outbox: Outbox;
  inbox: InboxState;
  replayGuard: ReplayGuard;
  /** Send an envelope over the best path; throws CLIENT_ERR_NO_PATH. */
  transmit: (peerKey: Uint8Array, envelope: Uint8Array) => PathKind;
  /** Human status of the paths to a peer ("relay: connected"). */
  pathStatus: (peer: string) => string;
  /** Ask the host before handing incoming data to the app. */
  requireApproval: boolean;
  /** Wire bytes in flight per peer (read at every send); default SEND_WINDOW_BYTES. */
  sendWindowBytes?: () => number;
  /** Unanswered incoming consent requests expire after this, ms; default PENDING_CONSENT_TTL_MS. */
  consentTtlMs?: number;
  /** Messages stored in an offline peer's mailbox are resent after this at the latest, ms; default MAILBOX_RESEND_AFTER_MS. */
  mailboxResendAfterMs?: number;
  /** Clock for sessions and prekeys, ms (tests move it days ahead); default Date.now. */
  now?: () => number;
  /**
   * Prekeys (docs/protocol.md "v2 in the client"): our bundles, what we know of the peers'
   * (bundle, send sequence) and the persisted replay guard. Without them a message to a peer
   * with no session waits for the handshake.
   */
  prekeys?: { own: OwnPrekeys; peers: PeerPrekeys; replay: PersistentPrekeyReplay };
  /** Ask the server for a peer's bundle (null: none held). */
  fetchPrekeyBundle?: (peerKey: Uint8Array) => Promise<Uint8Array | null>;
  /** Our bundle is new (first start or rotation): publish it to the server. */
  onOwnBundle?: (bundle: Uint8Array) => void;
  /** Handshake timings (tests shorten them). */
  sessionTimings?: Partial<PeerSessionTimings>;
  /** Rekey policy of the v2 sessions (default: the library's SESSION_REKEY_*). */
  sessionOptions?: SessionOptions;
}

interface PendingApproval {
  event: ApprovalRequestEvent;
  stream: string;
  seq: number;
  payload: Extract<Payload, { type: typeof EnvelopeType.DATA }>;
  via: PathKind;
  timer: NodeJS.Timeout;
  /** A long message (deliverLong): the host's answer goes here instead of the stream. */
  long?: (allow: boolean) => void;
}

export type OutgoingBody = { text: string } | { data: Uint8Array };

/**
 * The path-agnostic session layer: bilateral consent, the outbox with end-to-end signed acks,
 * retransmission with backoff, in-order delivery and dedupe by (stream, sequence), and
 * runtime approval. It sees envelopes only through `receive()` and `transmit`, so which path
 * carried them never matters: a message moved to another link is at worst a duplicate,
 * which the receiver acks and drops.
 */
export class Session extends EventEmitter<SessionEvents> {
  readonly #d: SessionDeps;
  readonly #retx: Retransmitter;
  readonly #ackTimers = new Map<string, NodeJS.Timeout>();
  readonly #consent = new PendingConsents<ConsentRequestEvent>({
    ttlMs: () => this.#d.consentTtlMs ?? PENDING_CONSENT_TTL_MS,
  });
  readonly #approvals = new Map<string, PendingApproval>();
  readonly #revokeNotices = new PerKeyInterval(REVOKE_NOTICE_INTERVAL_MS, REVOKE_NOTICE_MAX_KEYS);
  readonly #staleCopyAcks = new PerKeyInterval(STALE_COPY_ACK_INTERVAL_MS, STALE_COPY_ACK_MAX_KEYS);
  readonly #acksAfterBusy = new PerKeyInterval(ACK_AFTER_BUSY_MS, ACK_AFTER_BUSY_MAX_KEYS);
  #holdFrom: ((peer: string) => { stream: string; seq: number } | null) | null = null;
  #deliveryGate: ((key: string, then: () => void) => void) | null = null;
  readonly #limiter = new ConsentRateLimiter();
  readonly #names: NameChanges;
  #consentTimer: NodeJS.Timeout | null = null;
  #prekeyTimer: NodeJS.Timeout | null = null;
  /** Last server fetch of a peer's bundle, ms; at most PREKEY_PEER_BUNDLES_MAX peers (oldest forgotten). */
  readonly #bundleFetches = new PerKeyInterval(PREKEY_FETCH_INTERVAL_MS, PREKEY_PEER_BUNDLES_MAX);
  /**
   * Peers whose last packet to us was a PREKEY message (no session on their side then): our
   * acks to them go as envelopes until a TRANSPORT packet from them opens. At most
   * PREKEY_PEER_BUNDLES_MAX (oldest forgotten).
   */
  readonly #prekeySenders = new Set<string>();
  #stopped = false;
  readonly #now: () => number;
  /** The v2 sessions, one per trusted peer (peer-sessions.ts). */
  readonly sessions: PeerSessions;
  readonly counters = {
    received: 0,
    delivered: 0,
    duplicates: 0,
    rejected: 0,
    retransmits: 0,
    /** Data messages sent under a session (TRANSPORT), sealed to a prekey bundle (PREKEY). */
    sentTransport: 0,
    sentPrekey: 0,
  };

  constructor(deps: SessionDeps) {
    super();
    this.#d = deps;
    this.#now = deps.now ?? Date.now;
    this.#names = new NameChanges(deps.trust);
    this.sessions = new PeerSessions({
      suite: deps.suite,
      identity: deps.identity,
      now: this.#now,
      isTrusted: (peer) => deps.trust.get(peer)?.state === 'trusted',
      transmit: (peerKey, packet) => {
        deps.transmit(peerKey, packet);
      },
      onEstablished: (peer) => this.#onSessionUp(peer),
      onRejected: (peer, code) => this.#reject(peer, { code }),
      wantsSession: (peer) => deps.outbox.pending(peer).length > 0,
      ...(deps.sessionTimings ? { timings: deps.sessionTimings } : {}),
      ...(deps.sessionOptions ? { sessionOptions: deps.sessionOptions } : {}),
    });
    this.#retx = new Retransmitter({
      outbox: deps.outbox,
      canSend: (peer) => deps.trust.get(peer)?.state === 'trusted',
      transmit: (peer, m) => {
        const peerKey = decodeKey(peer);
        deps.transmit(peerKey, this.#sealData(peer, peerKey, m));
      },
      onDelivered: (peer, m) => this.emit('message.delivered', { id: m.id, to: peer, seq: m.seq }),
      onRetransmit: (n) => {
        this.counters.retransmits += n;
      },
      ...(deps.sendWindowBytes ? { windowBytes: deps.sendWindowBytes } : {}),
      ...(deps.mailboxResendAfterMs ? { mailboxResendAfterMs: deps.mailboxResendAfterMs } : {}),
      holdFrom: (peer) => this.#holdFrom?.(peer) ?? null,
    });
  }

  /**
   * Long messages travel outside the numbered stream (sdk/long-messages.ts), ordered by a
   * stream position: `holdFrom(peer)` names the position from which short messages wait for
   * the long message ahead of them (null: none wait).
   */
  setSendHold(holdFrom: (peer: string) => { stream: string; seq: number } | null): void {
    this.#holdFrom = holdFrom;
  }

  /**
   * `message.received` is handed to a host that may not have taken it yet (the extension's
   * stdout: a pipe whose writes queue in our memory while the host does not read). An ack says
   * "delivered", so it must not go before the host has it: `gate(key, then)` calls `then`
   * once everything emitted so far has reached the host (at once when it has); a newer wait
   * with the same key replaces the older (an ack is cumulative: the last one says it all).
   * Without a gate (an SDK caller, whose handlers run synchronously) acks go as soon as
   * scheduled.
   */
  setDeliveryGate(gate: (key: string, then: () => void) => void): void {
    this.#deliveryGate = gate;
  }

  /** Where the next short message to `peer` goes in its stream (see `setSendHold`). */
  streamPosition(peer: string): { stream: string; seq: number } {
    return this.#d.outbox.position(peer);
  }

  /** Is a short message sent before stream position `pos` still unacknowledged? */
  unackedBefore(peer: string, pos: { stream: string; seq: number }): boolean {
    return this.#d.outbox.pending(peer).some((m) => m.stream !== pos.stream || m.seq < pos.seq);
  }

  /** Send what the window allows to `peer` now (a long message ahead of them ended). */
  pump(peer: string): void {
    this.#retx.pump(peer);
  }

  get myKey(): string {
    return encodeKey(this.#d.identity.publicKey);
  }

  start(): void {
    this.#consentTimer = setInterval(() => this.#retryConsent(), CONSENT_RETRY_MS);
    this.#consentTimer.unref?.();
    this.sessions.start();
    if (this.#d.prekeys) {
      this.#refreshOwnBundle(true);
      this.#prekeyTimer = setInterval(() => this.#refreshOwnBundle(false), PREKEY_REFRESH_CHECK_MS);
      this.#prekeyTimer.unref?.();
    }
    for (const peer of this.#d.outbox.peers()) this.kick(peer);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#consentTimer) clearInterval(this.#consentTimer);
    if (this.#prekeyTimer) clearInterval(this.#prekeyTimer);
    this.sessions.stop();
    this.#d.prekeys?.own.close();
    this.#retx.stop();
    for (const t of this.#ackTimers.values()) clearTimeout(t);
    for (const a of this.#approvals.values()) clearTimeout(a.timer);
    this.#ackTimers.clear();
    this.#approvals.clear();
  }

  // ---------------------------------------------------------------- consent

  /** A asks B. Resolves once the request is on its way (or the peer is already trusted). */
  connect(target: { key: Uint8Array; name?: string; address?: string }, opts: { acceptChangedKey?: boolean } = {}) {
    const key = encodeKey(target.key);
    if (key === this.myKey) throw new ClientError('CLIENT_ERR_SELF');
    const existing = this.#d.trust.get(key);
    if (target.name && !opts.acceptChangedKey && existing?.state !== 'trusted') {
      const clash = this.#d.trust.sameName(target.name, key)[0];
      if (clash)
        throw new ClientError(
          'CLIENT_ERR_KEY_CHANGED',
          `"${target.name}" was ${clash.fingerprint}, this key is ${formatFingerprint(target.key)}`,
          { name: target.name, previousFingerprint: clash.fingerprint, fingerprint: formatFingerprint(target.key) },
        );
    }
    if (opts.acceptChangedKey && target.name)
      for (const old of this.#d.trust.sameName(target.name, key)) this.#d.trust.remove(old.key);
    const state = existing?.state === 'trusted' ? 'trusted' : 'pending-out';
    const peer = this.#d.trust.put(key, {
      state,
      ...(target.name && !existing?.name ? { name: target.name } : {}),
      ...(target.address ? { addresses: [target.address] } : {}),
    });
    // A peer we answered for already (they asked first) becomes trusted by our connect.
    const pending = this.#consent.get(key);
    if (pending && !pending.keyChanged) {
      this.respondConsent(key, true);
      return this.peerInfo(key);
    }
    this.#sendControl(target.key, { type: EnvelopeType.CONSENT_REQUEST, name: this.#d.localName() });
    this.#emitStatus(peer.key);
    return this.peerInfo(key);
  }

  pendingConsents(): ConsentRequestEvent[] {
    return this.#consent.list();
  }

  /** B answers a consent request, by request id or key. */
  respondConsent(ref: string, accept: boolean): ReturnType<Session['peerInfo']> {
    const pending = this.#consent.find(ref);
    if (!pending) throw new ClientError('CLIENT_ERR_NO_PENDING_REQUEST', ref);
    this.#consent.delete(pending.key);
    const keyBytes = decodeKey(pending.key);
    if (accept) {
      if (pending.keyChanged) this.#d.trust.remove(pending.keyChanged.previousKey);
      const old = this.#d.trust.get(pending.key);
      this.#d.trust.put(pending.key, {
        state: 'trusted',
        name: pending.name || old?.name || '',
        scopes: DEFAULT_SCOPES as string[],
      });
    }
    this.#sendControl(keyBytes, { type: EnvelopeType.CONSENT_RESPONSE, accept, name: this.#d.localName() });
    // 'declined' (we said no), not 'denied' (which means the peer said no to us).
    this.#emitStatus(pending.key, accept ? undefined : 'declined');
    if (accept) this.kick(pending.key);
    return this.peerInfo(pending.key);
  }

  /** Revoke a peer: nothing flows either way until a new consent. */
  revoke(ref: string): ReturnType<Session['peerInfo']> {
    const key = this.resolvePeer(ref);
    this.#d.trust.put(key, { state: 'revoked', scopes: [] });
    this.sessions.drop(key);
    this.#consent.delete(key);
    this.#names.forget(key);
    this.#failOutbox(key, 'CLIENT_ERR_REVOKED');
    this.#sendControl(decodeKey(key), { type: EnvelopeType.REVOKE });
    this.#emitStatus(key);
    return this.peerInfo(key);
  }

  #retryConsent(): void {
    for (const p of this.#d.trust.list())
      if (p.state === 'pending-out')
        this.#sendControl(decodeKey(p.key), { type: EnvelopeType.CONSENT_REQUEST, name: this.#d.localName() });
  }

  #onConsentRequest(key: string, name: string): void {
    const peer = this.#d.trust.get(key);
    if (peer?.state === 'trusted' || peer?.state === 'pending-out') {
      // Trusted: auto-approve. Pending-out: we asked them too, so both sides have consented.
      // The name stays the one the local user approved; a different one is only a proposal.
      this.#d.trust.put(key, { state: 'trusted', scopes: DEFAULT_SCOPES as string[] });
      this.#proposeName(key, name);
      this.#sendControl(decodeKey(key), {
        type: EnvelopeType.CONSENT_RESPONSE,
        accept: true,
        name: this.#d.localName(),
      });
      if (peer.state === 'pending-out') this.#emitStatus(key);
      this.kick(key);
      return;
    }
    if (this.#consent.has(key)) return; // already asked the user; a resend changes nothing
    if (!this.#limiter.allow(key)) {
      this.emit('rejected', { from: key, code: 'CLIENT_ERR_CONSENT_RATE_LIMITED' });
      return;
    }
    const clash = this.#d.trust.sameName(name, key).find((p) => p.state === 'trusted');
    const event: ConsentRequestEvent = {
      requestId: randomBytes(8).toString('hex'),
      key,
      fingerprint: formatFingerprint(decodeKey(key)),
      name,
      ...(clash ? { keyChanged: { previousKey: clash.key, previousFingerprint: clash.fingerprint } } : {}),
    };
    // When full, the oldest request makes room (pending-consents.ts says why that is fair).
    this.#consent.add(event);
    this.emit('consent.request', event);
  }

  #onConsentResponse(key: string, accept: boolean, name: string): void {
    const peer = this.#d.trust.get(key);
    if (!peer) return; // unsolicited
    if (accept && (peer.state === 'pending-out' || peer.state === 'trusted')) {
      // An (unsolicited) response never renames: the name is a proposal for the local user.
      this.#d.trust.put(key, { state: 'trusted', scopes: DEFAULT_SCOPES as string[] });
      this.#proposeName(key, name);
      if (peer.state !== 'trusted') this.#emitStatus(key);
      this.kick(key);
    } else if (!accept && peer.state !== 'revoked') {
      if (peer.state === 'pending-out') {
        this.#d.trust.remove(key);
        this.#failOutbox(key, 'CLIENT_ERR_CONSENT_DENIED');
        this.#emitStatus(key, 'denied');
      } else this.#onRevoke(key);
    }
  }

  #proposeName(key: string, name: string): void {
    const outcome = this.#names.propose(key, name);
    if (outcome.kind === 'asked') this.emit('name.change', outcome.event);
    else if (outcome.kind === 'dropped') this.emit('rejected', { from: key, code: outcome.code });
  }

  pendingNameChanges(): NameChangeEvent[] {
    return this.#names.pending();
  }

  /** The local user's answer to a `name.change`, by request id or key. */
  respondNameChange(ref: string, accept: boolean): ReturnType<Session['peerInfo']> {
    const event = this.#names.respond(ref, accept);
    if (accept) this.#emitStatus(event.key);
    return this.peerInfo(event.key);
  }

  /** The local user names a peer (e.g. to tell two alike names apart); refused if it looks like another's. */
  renamePeer(ref: string, name: unknown): ReturnType<Session['peerInfo']> {
    const key = this.resolvePeer(ref);
    if (!this.#d.trust.get(key)) throw new ClientError('CLIENT_ERR_UNKNOWN_PEER', ref);
    const valid = validateDisplayName(name);
    this.#names.assertFree(valid, key);
    this.#d.trust.put(key, { name: valid });
    this.#names.forget(key);
    this.#emitStatus(key);
    return this.peerInfo(key);
  }

  #onRevoke(key: string): void {
    const peer = this.#d.trust.get(key);
    if (!peer || peer.state === 'revoked' || peer.state === 'revoked-by-peer') return;
    this.#d.trust.put(key, { state: 'revoked-by-peer', scopes: [] });
    this.sessions.drop(key);
    this.#failOutbox(key, 'CLIENT_ERR_REVOKED');
    this.#emitStatus(key);
  }

  #failOutbox(key: string, code: string): void {
    for (const m of this.#retx.forget(key)) this.emit('message.failed', { id: m.id, to: key, code });
  }

  // ---------------------------------------------------------------- sending

  send(ref: string, body: OutgoingBody): { id: string; seq: number; to: string } {
    if (this.#stopped) throw new ClientError('CLIENT_ERR_STOPPED');
    const key = this.resolvePeer(ref);
    const peer = this.#d.trust.get(key);
    if (peer?.state === 'revoked' || peer?.state === 'revoked-by-peer')
      throw new ClientError('CLIENT_ERR_REVOKED', `${peer.name || key} (${peer.state})`, { state: peer.state });
    if (peer?.state !== 'trusted') throw new ClientError('CLIENT_ERR_NOT_TRUSTED', peer?.name || key);
    const enc: BodyEncoding = 'text' in body ? 'text' : 'bytes';
    const bytes = 'text' in body ? new Uint8Array(Buffer.from(body.text, 'utf8')) : body.data;
    if (bytes.length > MAX_MESSAGE_BYTES)
      throw new ClientError('CLIENT_ERR_MESSAGE_TOO_LARGE', `${bytes.length} > ${MAX_MESSAGE_BYTES} bytes`, {
        limit: MAX_MESSAGE_BYTES,
      });
    const m = this.#d.outbox.add(key, enc, bytes);
    this.#retx.pump(key);
    return { id: m.id, seq: m.seq, to: key };
  }

  /**
   * A path to `peer` (re)appeared: resend what is unacked now, with a fresh timeout. Messages
   * stored in its mailbox (parked) are resent too only when `peerReachable` (a direct or WebRTC
   * path came up: the peer is online).
   */
  kick(peer: string, peerReachable = false): void {
    this.#prefetchBundle(peer);
    this.#retx.kick(peer, peerReachable);
  }

  /**
   * A trusted peer with no session and no bundle of it known: fetch its bundle now (consent
   * just completed, a path came up), so the first message need not wait for the server or the
   * handshake. Rate-limited like every fetch.
   */
  #prefetchBundle(peer: string): void {
    const pk = this.#d.prekeys;
    if (!pk || this.#stopped || this.sessions.has(peer)) return;
    if (this.#d.trust.get(peer)?.state !== 'trusted' || pk.peers.bundle(peer, this.#now())) return;
    this.#fetchBundle(peer, decodeKey(peer));
  }

  /**
   * The relay's answer to a frame that carried message `messageId` (hex) to `peer`: `queued`
   * (stored in its mailbox: park it, no timer resends) or delivered live (the peer is online).
   */
  relayAnswered(peer: string, messageId: string, queued: boolean): void {
    if (queued) this.#retx.park(peer, messageId);
    else this.#retx.peerOnline(peer);
  }

  /**
   * The relay refused a frame because `peer` is busy reading: hold its messages, resend on its
   * next ack or after a backoff. The refused frame may have been our position ack (acks are
   * frames like any other): send it again a moment later, or its sender waits out a timeout.
   */
  recipientBusy(peer: string): void {
    this.#retx.backoff(peer);
    if ((this.#d.inbox.get(peer)?.next ?? 0) > 0 && this.#acksAfterBusy.allow(peer, Date.now()))
      this.#scheduleAck(peer, ACK_AFTER_BUSY_MS);
  }

  /**
   * Our server connection is (back) up: resend everything unacked, also what the server said it
   * stored. It may be a new process whose memory mailbox is gone; if not, it dedupes them.
   */
  kickAll(): void {
    for (const peer of this.#d.outbox.peers()) this.kick(peer, true);
    this.#retryConsent();
  }

  /**
   * The peer went offline under us (the relay answered PEER_OFFLINE to a live-only packet): its
   * session is probably gone with it. Close ours and resend what is unacked at once, as PREKEY
   * packets, which the relay stores in its mailbox (QUEUED, then parked).
   */
  peerOffline(peer: string): void {
    if (this.sessions.peerOffline(peer)) this.kick(peer);
  }

  /**
   * One (re)transmission of a data message: under the session when there is one (a counter, no
   * timestamp); else sealed to the peer's prekey bundle while a handshake starts in parallel;
   * else CLIENT_ERR_NO_SESSION (the retransmitter waits; the finished handshake kicks it).
   * Every copy carries the same message id, stream and sequence: the receiver dedupes.
   */
  #sealData(peer: string, peerKey: Uint8Array, m: OutboxMessage): Uint8Array {
    const inner = encodeInnerPayload({
      type: EnvelopeType.DATA,
      id: m.id,
      stream: m.stream,
      seq: m.seq,
      enc: m.enc,
      body: m.body,
    });
    const packet = this.sessions.seal(peer, inner);
    if (packet) {
      this.counters.sentTransport++;
      return packet;
    }
    this.sessions.ensure(peer, peerKey);
    const prekeyPacket = this.#sealToPrekey(peer, peerKey, inner, Buffer.from(m.id, 'hex'));
    if (prekeyPacket) {
      this.counters.sentPrekey++;
      return prekeyPacket;
    }
    throw new ClientError('CLIENT_ERR_NO_SESSION', peer);
  }

  /** A PREKEY peer packet to `peer`, or null when no valid bundle of it is known (one is fetched). */
  #sealToPrekey(peer: string, peerKey: Uint8Array, inner: Uint8Array, messageId: Uint8Array): Uint8Array | null {
    const pk = this.#d.prekeys;
    if (!pk) return null;
    const now = this.#now();
    const bundle = pk.peers.bundle(peer, now);
    if (!bundle) {
      this.#fetchBundle(peer, peerKey);
      return null;
    }
    const { message } = sealToPrekey(this.#d.suite, {
      sender: this.#d.identity,
      recipient: peerKey,
      bundle,
      now,
      sequence: pk.peers.nextSequence(peer),
      plaintext: inner,
      messageId,
    });
    return encodePrekeyPacket(message);
  }

  /** Ask the server for the peer's bundle (at most once per PREKEY_FETCH_INTERVAL_MS); kick when one arrives. */
  #fetchBundle(peer: string, peerKey: Uint8Array): void {
    const fetch = this.#d.fetchPrekeyBundle;
    if (!fetch || !this.#d.prekeys) return;
    if (!this.#bundleFetches.allow(peer, Date.now())) return;
    fetch(peerKey).then(
      (bundle) => {
        if (this.#stopped || !bundle) return;
        if (this.#d.prekeys?.peers.offer(peer, bundle, this.#now()) && !this.sessions.has(peer)) this.kick(peer);
      },
      () => {
        // No server, or it timed out: the handshake still runs; the next send asks again later.
      },
    );
  }

  /** Make (or rotate) our bundle when due; publish it and push it to the peers we have a session with. */
  #refreshOwnBundle(first: boolean): void {
    const pk = this.#d.prekeys;
    if (!pk || this.#stopped) return;
    let rotated: boolean;
    try {
      rotated = pk.own.refresh(this.#now());
    } catch {
      return; // disk trouble: keep the bundle we have; the next check tries again
    }
    if (!rotated && !first) return;
    const bundle = pk.own.current();
    this.#d.onOwnBundle?.(bundle);
    if (rotated)
      for (const p of this.#d.trust.list())
        if (this.sessions.has(p.key)) this.#sendInner(p.key, encodeInnerBundle(bundle));
  }

  /** Our current bundle (encoded), for publishing; null without prekeys. */
  ownBundle(): Uint8Array | null {
    return this.#d.prekeys?.own.current() ?? null;
  }

  /** A session with `peer` became usable: push our bundle in it and resend what is unacked under it. */
  #onSessionUp(peer: string): void {
    const pk = this.#d.prekeys;
    if (pk) {
      try {
        this.#sendInner(peer, encodeInnerBundle(pk.own.current()));
      } catch {
        // no bundle yet (not started): pushed on the next session
      }
    }
    if (this.#d.outbox.pending(peer).length > 0) this.kick(peer);
  }

  /**
   * One file-transfer message (client/src/files) to a trusted peer, under the live session only
   * (never a prekey/mailbox copy: a transfer needs both sides online). False when there is no
   * session or no path yet, after starting a handshake: the transfer engine retries on its timers.
   */
  sendFileMessage(peer: string, message: Uint8Array): boolean {
    if (this.#d.trust.get(peer)?.state !== 'trusted') return false;
    if (this.#sendInner(peer, INNER_FILE_PREFIX, message)) return true;
    if (!this.sessions.has(peer)) this.sessions.ensure(peer, decodeKey(peer));
    return false;
  }

  /** Send a session payload (`parts` concatenated) under the session; false when there is none or no path. */
  #sendInner(peer: string, ...parts: Uint8Array[]): boolean {
    if (this.#stopped) return false;
    const packet = this.sessions.sealParts(peer, parts);
    if (!packet) return false;
    try {
      this.#d.transmit(decodeKey(peer), packet);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Control messages. ACK goes under the session when there is one; consent request/response,
   * revoke notices, and an ACK with no session are v1 envelopes (docs/protocol.md "v2 in the client").
   */
  #sendControl(peerKey: Uint8Array, payload: Payload): void {
    if (this.#stopped) return;
    try {
      const peer = encodeKey(peerKey);
      // A peer whose data came sealed to our prekey had no session with us when it sent it: an
      // ack under a session we still hold might be one it lost (a restart). An envelope it can read.
      if (
        payload.type === EnvelopeType.ACK &&
        !this.#prekeySenders.has(peer) &&
        this.#sendInner(peer, encodeInnerPayload(payload))
      )
        return;
      const envelope = sealEnvelope(this.#d.suite, {
        type: payload.type,
        sender: this.#d.identity,
        recipient: peerKey,
        plaintext: encodePayload(payload),
      });
      this.#d.transmit(peerKey, envelope);
    } catch {
      // No path now. Consent requests are retried on a timer and on path-up; acks are sent
      // again for the retransmission that must follow; a revoke notice again on their next data.
    }
  }

  // ---------------------------------------------------------------- receiving

  /** Every peer packet (v1 envelope or v2) from every path comes in here. Never throws. */
  receive(from: Uint8Array, envelope: Uint8Array, via: PathKind): void {
    if (this.#stopped) return;
    const fromKey = safeKey(from);
    if (envelope[0] === SESSION_VERSION) {
      this.#receiveV2(fromKey, from, envelope, via);
      return;
    }
    if (!chosenByUser(this.#d.trust.get(fromKey)?.state) && !this.#admitStranger(fromKey, from, envelope)) return;
    let opened: ReturnType<typeof openEnvelope>;
    try {
      opened = openEnvelope(this.#d.suite, envelope, { recipient: this.#d.identity, replayGuard: this.#d.replayGuard });
    } catch (err) {
      this.#reject(fromKey, err);
      this.#onTooOld(fromKey, err);
      return;
    }
    if (!bytesEqual(opened.fields.sender, from)) {
      this.#reject(fromKey, new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'path and envelope disagree on the sender'));
      return;
    }
    let payload: Payload;
    try {
      payload = decodePayload(opened.fields.type, opened.plaintext);
    } catch (err) {
      this.#reject(fromKey, err);
      return;
    }
    this.counters.received++;
    try {
      this.#dispatch(fromKey, payload, via);
    } catch (err) {
      // A local failure (disk full, unwritable state): this envelope is not acked, so the
      // sender retries it later; the process stays up.
      this.#reject(fromKey, err);
    }
  }

  #receiveV2(fromKey: string, from: Uint8Array, packet: Uint8Array, via: PathKind): void {
    let kind: ReturnType<typeof checkPeerPacket>;
    try {
      if (from.length !== PUBLIC_KEY_BYTES) throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'bad sender key');
      kind = checkPeerPacket(packet);
    } catch (err) {
      this.#reject(fromKey, err);
      return;
    }
    switch (kind) {
      case PeerPacketKind.HANDSHAKE_INIT:
        this.sessions.onHandshakeInit(from, packet);
        return;
      case PeerPacketKind.HANDSHAKE_RESPONSE:
        this.sessions.onHandshakeResponse(from, packet);
        return;
      case PeerPacketKind.TRANSPORT: {
        const plaintext = this.sessions.open(from, packet);
        if (plaintext) {
          this.#prekeySenders.delete(fromKey); // it has the session: acks go under it again
          this.#onInner(fromKey, plaintext, via, null);
        }
        return;
      }
      case PeerPacketKind.PREKEY:
        this.#onPrekeyPacket(fromKey, from, packet, via);
        return;
      default:
        this.#reject(fromKey, new ClientError('CLIENT_ERR_BAD_PAYLOAD', `${kind} with a v2 version byte`));
    }
  }

  /**
   * A message sealed to one of our bundles (usually from the mailbox). Only a trusted peer's is
   * opened; its sequence is checked against the persisted PrekeyReplayGuard before decrypting
   * and recorded (on disk) right after: accepted once, whenever it arrives, with no clock window.
   */
  #onPrekeyPacket(fromKey: string, from: Uint8Array, packet: Uint8Array, via: PathKind): void {
    const state = this.#d.trust.get(fromKey)?.state;
    if (state !== 'trusted') {
      this.#reject(fromKey, new ClientError(state === 'revoked' ? 'CLIENT_ERR_REVOKED' : 'CLIENT_ERR_NOT_TRUSTED'));
      if (state !== 'pending-out') this.#noticeRevoked(fromKey);
      return;
    }
    const pk = this.#d.prekeys;
    if (!pk) {
      this.#reject(fromKey, new ClientError('CLIENT_ERR_NO_SESSION', 'no prekeys here'));
      return;
    }
    if (!bytesEqual(packet.subarray(PREKEY_PACKET_SENDER_OFFSET, PREKEY_PACKET_SENDER_OFFSET + 32), from)) {
      this.#reject(
        fromKey,
        new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'path and prekey message disagree on the sender'),
      );
      return;
    }
    let opened: ReturnType<typeof openPrekeyMessage>;
    try {
      opened = openPrekeyMessage(this.#d.suite, packet.subarray(PREKEY_PACKET_PREFIX_BYTES), {
        recipient: this.#d.identity,
        prekeys: (id) => pk.own.secrets(id),
        replayGuard: pk.replay.guard,
      });
      pk.replay.record(fromKey, opened.sequence);
    } catch (err) {
      this.#reject(fromKey, err);
      return;
    }
    this.#prekeySenders.delete(fromKey);
    this.#prekeySenders.add(fromKey);
    if (this.#prekeySenders.size > PREKEY_PEER_BUNDLES_MAX)
      this.#prekeySenders.delete(this.#prekeySenders.values().next().value!);
    this.#onInner(fromKey, opened.plaintext, via, Buffer.from(opened.messageId).toString('hex'));
  }

  /** The plaintext of a TRANSPORT packet or prekey message (`messageId` for the latter). */
  #onInner(fromKey: string, plaintext: Uint8Array, via: PathKind, messageId: string | null): void {
    let inner: ReturnType<typeof decodeInner>;
    try {
      inner = decodeInner(plaintext);
      if (
        messageId !== null &&
        inner.kind === 'payload' &&
        inner.payload.type === EnvelopeType.DATA &&
        inner.payload.id !== messageId
      )
        throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'prekey message id and data id differ');
    } catch (err) {
      this.#reject(fromKey, err);
      return;
    }
    if (inner.kind === 'confirm') return;
    if (inner.kind === 'bundle') {
      this.#d.prekeys?.peers.offer(fromKey, inner.bundle, this.#now());
      return;
    }
    if (inner.kind === 'file') {
      // Transfers run only under a live session: a prekey copy could be a stored replay.
      if (messageId !== null || this.#d.trust.get(fromKey)?.state !== 'trusted')
        this.#reject(fromKey, new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'file message outside a session'));
      else this.emit('file.message', { from: fromKey, bytes: inner.message });
      return;
    }
    this.counters.received++;
    try {
      this.#dispatch(fromKey, inner.payload satisfies SessionPayload, via);
    } catch (err) {
      // A local failure (disk full): not acked, the sender retries later.
      this.#reject(fromKey, err);
    }
  }

  /**
   * From a key the user did not choose, only a consent request is opened (replay guard in the
   * untrusted budget, decryption). A data envelope is checked for its signature only, to tell a
   * peer we revoked that it is revoked; anything else is refused unopened. So nothing a
   * stranger sends reaches the replay state of the peers the user chose.
   */
  #admitStranger(fromKey: string, from: Uint8Array, envelope: Uint8Array): boolean {
    let type: number;
    try {
      const head = peekEnvelope(envelope);
      type = head.type;
      if (type === EnvelopeType.CONSENT_REQUEST) return true;
      if (!bytesEqual(head.sender, from)) throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'path and envelope disagree');
      if (type === EnvelopeType.DATA) verifyEnvelopeSignature(this.#d.suite, envelope);
    } catch (err) {
      this.#reject(fromKey, err);
      return false;
    }
    const state = this.#d.trust.get(fromKey)?.state;
    this.#reject(fromKey, new ClientError(state === 'revoked' ? 'CLIENT_ERR_REVOKED' : 'CLIENT_ERR_NOT_TRUSTED'));
    if (type === EnvelopeType.DATA) this.#noticeRevoked(fromKey);
    return false;
  }

  #dispatch(fromKey: string, payload: Payload, via: PathKind): void {
    this.#d.trust.touch(fromKey);
    // It is online: what waits in its mailbox for it is no longer parked (retransmitter.ts).
    if (payload.type !== EnvelopeType.ACK) this.#retx.peerOnline(fromKey);
    switch (payload.type) {
      case EnvelopeType.CONSENT_REQUEST:
        this.#onConsentRequest(fromKey, payload.name);
        return;
      case EnvelopeType.CONSENT_RESPONSE:
        this.#onConsentResponse(fromKey, payload.accept, payload.name);
        return;
      case EnvelopeType.REVOKE:
        this.#onRevoke(fromKey);
        return;
      case EnvelopeType.ACK:
        if (this.#d.trust.get(fromKey)?.state === 'trusted') this.#retx.ack(fromKey, payload.stream, payload.upTo);
        return;
      case EnvelopeType.DATA:
        this.#onData(fromKey, payload, via);
        return;
    }
  }

  #reject(from: string, err: unknown): void {
    this.counters.rejected++;
    const code = (err as { code?: unknown })?.code;
    this.emit('rejected', { from, code: typeof code === 'string' ? code : 'CLIENT_ERR_BAD_PAYLOAD' });
  }

  #onData(key: string, p: Extract<Payload, { type: typeof EnvelopeType.DATA }>, via: PathKind): void {
    const peer = this.#d.trust.get(key);
    if (peer?.state !== 'trusted') {
      // Refused with a clear code: tell a sender we do not trust (at a bounded rate) that it
      // is revoked. A pending-out peer gets silence; its retransmission follows consent.
      this.#reject(key, new ClientError(peer?.state === 'revoked' ? 'CLIENT_ERR_REVOKED' : 'CLIENT_ERR_NOT_TRUSTED'));
      if (peer?.state !== 'pending-out') this.#noticeRevoked(key);
      return;
    }
    const pos = this.#d.inbox.get(key);
    let next = pos?.next ?? 0;
    if (!pos || pos.stream !== p.stream) {
      // A new stream starts at 0; a straggler from an old stream is ignored.
      if (p.seq !== 0) return;
      next = 0;
      if (pos) this.#d.inbox.advance(key, p.stream, 0);
    }
    if (p.seq < next) {
      this.counters.duplicates++;
      this.#scheduleAck(key);
      return;
    }
    if (p.seq > next) {
      this.#scheduleAck(key); // a gap: our ack says where we are; the sender goes back
      return;
    }
    if (this.#d.requireApproval) {
      this.#askApproval(key, peer, p, via);
      return;
    }
    this.#deliver(key, peer, p, via);
  }

  #deliver(key: string, peer: TrustedPeer, p: Extract<Payload, { type: typeof EnvelopeType.DATA }>, via: PathKind) {
    const gate = this.#deliveryGate;
    if (gate === null) {
      // Persist first: after a crash the message counts as delivered, never as twice delivered.
      this.#d.inbox.advance(key, p.stream, p.seq + 1);
      this.#emitReceived(key, peer, p, via);
    } else {
      // A host behind a pipe: on disk once the host has it. Killed before that, we receive
      // it again after the restart (it never reached the host), instead of losing it.
      this.#d.inbox.advanceLater(key, p.stream, p.seq + 1);
      const pos = this.#d.inbox.get(key)!;
      this.#emitReceived(key, peer, p, via);
      gate(`persist/${key}`, () => this.#d.inbox.persistUpTo(key, pos));
    }
    this.#scheduleAck(key);
  }

  /**
   * A long message (client/src/files/long-message.ts), whole and verified by the file layer:
   * through the same gates as a DATA message — a trusted peer, the host's runtime approval —
   * then `message.received` once, with `seq` -1 (it travels outside the numbered stream).
   * `commit` makes the outcome durable just before it (false: the transfer ended meanwhile,
   * deliver nothing). Resolves true when delivered, false when the host denied it.
   */
  deliverLong(
    key: string,
    m: { id: string; enc: BodyEncoding; body: Uint8Array },
    via: PathKind,
    commit: () => boolean,
  ): Promise<boolean> {
    const peer = this.#d.trust.get(key);
    if (this.#stopped) return Promise.reject(new ClientError('CLIENT_ERR_STOPPED'));
    if (peer?.state !== 'trusted') return Promise.reject(new ClientError('CLIENT_ERR_NOT_TRUSTED', key));
    const p = { type: EnvelopeType.DATA, id: m.id, stream: 'long-message', seq: -1, enc: m.enc, body: m.body } as const;
    if (!this.#d.requireApproval) {
      if (commit()) this.#emitReceived(key, peer, p, via);
      return this.#afterHostHasIt(key, m.id, true);
    }
    if (this.#approvals.size >= PENDING_APPROVALS_MAX)
      return Promise.reject(new ClientError('CLIENT_ERR_BUSY', 'too many messages wait for approval'));
    return new Promise<boolean>((resolve) => {
      const event = this.#approvalEvent(key, peer, p);
      const timer = setTimeout(() => this.respondApproval(event.approvalId, false), APPROVAL_TIMEOUT_MS);
      timer.unref?.();
      const long = (allow: boolean) => {
        const now = this.#d.trust.get(key);
        if (commit() && allow && now?.state === 'trusted') this.#emitReceived(key, now, p, via);
        void this.#afterHostHasIt(key, m.id, allow).then(resolve);
      };
      this.#approvals.set(event.approvalId, { event, stream: p.stream, seq: -1, payload: p, via, timer, long });
      this.emit('approval.request', event);
    });
  }

  /** `value` once the host has everything emitted so far (the delivery gate): DONE waits for it like an ack. */
  #afterHostHasIt<T>(peer: string, id: string, value: T): Promise<T> {
    const gate = this.#deliveryGate;
    if (!gate) return Promise.resolve(value);
    return new Promise<T>((resolve) => gate(`long/${peer}/${id}`, () => resolve(value)));
  }

  #emitReceived(
    key: string,
    peer: TrustedPeer,
    p: Extract<Payload, { type: typeof EnvelopeType.DATA }>,
    via: PathKind,
  ) {
    this.counters.delivered++;
    const body =
      p.enc === 'text'
        ? { text: Buffer.from(p.body).toString('utf8') }
        : { data: Buffer.from(p.body).toString('base64') };
    this.emit('message.received', {
      id: p.id,
      from: key,
      name: this.#label(peer),
      seq: p.seq,
      ...body,
      via,
      receivedAt: Date.now(),
    });
  }

  #askApproval(key: string, peer: TrustedPeer, p: Extract<Payload, { type: typeof EnvelopeType.DATA }>, via: PathKind) {
    for (const a of this.#approvals.values()) if (a.event.from === key && !a.long) return; // one at a time per peer, in order
    if (this.#approvals.size >= PENDING_APPROVALS_MAX) return; // not acked: the sender retries later
    const event = this.#approvalEvent(key, peer, p);
    const timer = setTimeout(() => this.respondApproval(event.approvalId, false), APPROVAL_TIMEOUT_MS);
    timer.unref?.();
    this.#approvals.set(event.approvalId, { event, stream: p.stream, seq: p.seq, payload: p, via, timer });
    this.emit('approval.request', event);
  }

  #approvalEvent(
    key: string,
    peer: TrustedPeer,
    p: Extract<Payload, { type: typeof EnvelopeType.DATA }>,
  ): ApprovalRequestEvent {
    return {
      approvalId: randomBytes(8).toString('hex'),
      from: key,
      name: this.#label(peer),
      fingerprint: peer.fingerprint,
      id: p.id,
      bytes: p.body.length,
      enc: p.enc,
      ...(p.enc === 'text'
        ? (() => {
            const text = Buffer.from(p.body).toString('utf8');
            return { preview: text.slice(0, 200), text };
          })()
        : { data: Buffer.from(p.body).toString('base64') }),
    };
  }

  /** Host's answer to approval.request. A denied message is consumed but never delivered. */
  respondApproval(approvalId: string, allow: boolean): { delivered: boolean } {
    const a = this.#approvals.get(approvalId);
    if (!a) throw new ClientError('CLIENT_ERR_NO_PENDING_REQUEST', approvalId);
    this.#approvals.delete(approvalId);
    clearTimeout(a.timer);
    if (a.long) {
      a.long(allow);
      return { delivered: allow };
    }
    const key = a.event.from;
    const peer = this.#d.trust.get(key);
    const pos = this.#d.inbox.get(key);
    const expected = pos?.stream === a.stream ? pos.next : 0;
    if (peer?.state !== 'trusted' || expected !== a.seq) return { delivered: false };
    if (allow) this.#deliver(key, peer, a.payload, a.via);
    else {
      this.#d.inbox.advance(key, a.stream, a.seq + 1);
      this.#scheduleAck(key);
    }
    return { delivered: allow };
  }

  #scheduleAck(key: string, delayMs = ACK_DELAY_MS): void {
    if (this.#ackTimers.has(key)) return;
    const t = setTimeout(() => {
      this.#ackTimers.delete(key);
      // The position now: every message up to it was emitted before this moment, and the gate
      // runs `send` once the host has every line written before this moment.
      const pos = this.#d.inbox.get(key);
      if (!pos || pos.next === 0) return;
      const send = () => {
        this.#d.inbox.persistUpTo(key, pos); // what we ack is on disk first
        this.#sendControl(decodeKey(key), { type: EnvelopeType.ACK, stream: pos.stream, upTo: pos.next - 1 });
      };
      if (this.#deliveryGate) this.#deliveryGate(`ack/${key}`, send);
      else send();
    }, delayMs);
    this.#ackTimers.set(key, t);
  }

  /**
   * A trusted peer's envelope, correctly signed (the signature is checked before the clock), came
   * too old: a mailbox copy that waited past the ±5 min window. Its sender parked the message
   * (QUEUED = stored) and would wait MAILBOX_RESEND_AFTER_MS; our position ack tells it we are
   * online without it, so it resends a fresh copy at once. Rate-limited per peer: a server
   * replaying old envelopes gets at most one small ack per STALE_COPY_ACK_INTERVAL_MS.
   */
  #onTooOld(key: string, err: unknown): void {
    const code = (err as { code?: unknown })?.code;
    if (code !== 'PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW' && code !== 'PROTO_ERR_STALE') return;
    if (this.#d.trust.get(key)?.state !== 'trusted') return;
    if (!this.#staleCopyAcks.allow(key, Date.now())) return;
    const pos = this.#d.inbox.get(key);
    const ack =
      pos && pos.next > 0
        ? { stream: pos.stream, upTo: pos.next - 1 }
        : { stream: pos?.stream ?? NO_STREAM_ID, upTo: -1 };
    this.#sendControl(decodeKey(key), { type: EnvelopeType.ACK, ...ack });
  }

  #noticeRevoked(key: string): void {
    if (!this.#revokeNotices.allow(key, Date.now())) return;
    this.#sendControl(decodeKey(key), { type: EnvelopeType.REVOKE });
  }

  // ---------------------------------------------------------------- views

  /** A key, or the display name of exactly one known peer → base64url key. */
  resolvePeer(ref: unknown): string {
    if (typeof ref !== 'string' || ref.length === 0) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'peer');
    if (ref.length === 43) {
      try {
        return encodeKey(decodeKey(ref));
      } catch {
        // not a key: maybe a name
      }
    }
    // A name picks a peer only if no other known peer's name looks like it; the label with
    // its fingerprint ("Alice (3f:a1)") picks exactly one of several alike names.
    const all = this.#d.trust.list();
    const byLabel = all.filter(
      (p) => p.name && (p.name === ref || ref.startsWith(`${p.name} (`)) && displayLabel(p, all) === ref,
    );
    if (byLabel.length === 1) return byLabel[0]!.key;
    const alike = all.filter((p) => namesCollide(p.name, ref));
    if (alike.length > 1)
      throw new ClientError(
        'CLIENT_ERR_AMBIGUOUS_NAME',
        `"${ref}" looks like ${alike.map((p) => displayLabel(p, all)).join(', ')}; use the key or one of these`,
        { candidates: alike.map((p) => ({ key: p.key, label: displayLabel(p, all) })) },
      );
    if (alike.length === 1 && alike[0]!.name === ref) return alike[0]!.key;
    throw new ClientError('CLIENT_ERR_UNKNOWN_PEER', ref);
  }

  peerInfo(key: string) {
    const p = this.#d.trust.get(key);
    return {
      key,
      fingerprint: p?.fingerprint ?? formatFingerprint(decodeKey(key)),
      name: p ? this.#label(p) : '',
      state: p?.state ?? ('unknown' as const),
      path: this.#d.pathStatus(key),
      pending: this.#d.outbox.pending(key).length,
    };
  }

  /** The name to show: with a fingerprint suffix when another known peer's name looks like it. */
  #label(peer: TrustedPeer): string {
    return displayLabel(peer, this.#d.trust.list());
  }

  #emitStatus(key: string, override?: 'denied' | 'declined'): void {
    const info = this.peerInfo(key);
    this.emit('peer.status', {
      key,
      name: info.name,
      fingerprint: info.fingerprint,
      state: override ?? info.state,
      path: info.path,
    });
  }

  /**
   * Path layer reports a change of best path for a peer. Only a peer we talk to has a status
   * that shows its path: a revoked one stays "revoked" whatever path its links take, so a path
   * change is no change of its status and emits nothing.
   */
  pathChanged(peer: string): void {
    const state = this.#d.trust.get(peer)?.state;
    if (state === 'trusted' || state === 'pending-out') this.#emitStatus(peer);
  }
}

function safeKey(key: Uint8Array): string {
  try {
    return encodeKey(key);
  } catch {
    return '';
  }
}
