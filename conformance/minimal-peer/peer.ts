// The minimal peer's state machine: one identity, one server connection, and per remote key
// the consent state, the outgoing stream with its unacked messages, the incoming stream
// position and the v2 sessions. It ties the layers together as docs/protocol.md's "Minimal
// path" describes: consent in envelope v1 → IKhfs handshake over RELAY → DATA/ACK in TRANSPORT
// (the initiator sends CONFIRM first) → REVOKE in envelope v1.

import { randomBytes } from 'node:crypto';
import { compareBytes, equalBytes, fromUtf8, toBase64url, toHex, utf8 } from './bytes.js';
import { CONSENT_RETRY_MS, mayOpenEnvelope, sendRefusal, type TrustState } from './consent.js';
import { decodeEnvelope, ENVELOPE_TYPE, openEnvelope, sealEnvelope } from './envelope.js';
import { EnvelopeReplayGuard } from './envelope-replay-guard.js';
import { PeerError } from './errors.js';
import { decodeFileMessage, encodeDeclineDeclined } from './file-wire.js';
import {
  type InitiatorState,
  PACKET_TYPE,
  readMessage1AndRespond,
  readMessage2,
  SESSION_VERSION,
  writeMessage1,
} from './handshake.js';
import type { Identity } from './identity.js';
import { decodeInner, encodeConfirm, encodeInnerPayload, INNER_KIND } from './inner-payload.js';
import { decodePayload, encodePayload, MAX_MESSAGE_BYTES, PAYLOAD_TYPE, type Payload } from './payload.js';
import { type RelayAnswer, ServerConnection } from './server-connection.js';
import { Session } from './session.js';

/** docs/protocol.md "Data, acks and retransmission" and "Handshake carriage" (client constants). */
const SEND_WINDOW_MESSAGES = 64;
const RETRANSMIT_INITIAL_MS = 1_000;
const RETRANSMIT_MAX_MS = 30_000;
const ACK_DELAY_MS = 5;
const PEER_HANDSHAKE_TIMEOUT_MS = 5_000;
const PEER_HANDSHAKE_RESPONSES_PER_PEER = 10;
const PEER_HANDSHAKE_RATE_WINDOW_MS = 60_000;
/** TRANSPORT refusals that mean "no session we hold fits" ("Handshake carriage" → When). */
const LOST_SESSION_CODES = new Set([
  'CLIENT_ERR_NO_SESSION',
  'PROTO_ERR_DECRYPT_FAILED',
  'PROTO_ERR_SESSION_UNKNOWN_EPOCH',
]);
/** REVOKE_NOTICE_INTERVAL_MS: at most one revoke notice per refused key this often. */
const REVOKE_NOTICE_INTERVAL_MS = 10_000;
/** A replaced session still opens packets in flight this long (like the previous-epoch grace). */
const RETIRED_SESSION_GRACE_MS = 30_000;
/** Unacked messages kept per peer (OUTBOX_MAX_MESSAGES); more → CLIENT_ERR_OUTBOX_FULL. */
const OUTBOX_MAX_MESSAGES = 4_096;
/** Remote keys we keep state for; a new one past it is refused (CLIENT_ERR_BUSY). */
const MAX_PEERS = 1_024;

export type PeerEvent =
  | { event: 'consent.request'; peer: string; note?: string }
  | { event: 'consent.accepted' | 'consent.declined' | 'revoked'; peer: string }
  | { event: 'message'; peer: string; msgId: string; text: string }
  | { event: 'acked'; peer: string; msgId: string }
  | { event: 'refused'; code: string; detail?: string };

interface OutgoingMessage {
  id: string;
  q: number;
  body: Uint8Array;
}

interface RemotePeer {
  key: Uint8Array;
  keyText: string;
  trust: TrustState;
  consentTimer: NodeJS.Timeout | null;
  // Sending: our stream to this peer and what it has not acked yet.
  stream: string | null;
  nextQ: number;
  unacked: OutgoingMessage[];
  rto: number;
  retransmitTimer: NodeJS.Timeout | null;
  // Receiving: the peer's stream and the next sequence we expect.
  inStream: string | null;
  inNext: number;
  ackTimer: NodeJS.Timeout | null;
  // v2 sessions ("Handshake state per peer").
  live: Session | null;
  candidate: Session | null;
  retired: { session: Session; until: number } | null;
  pending: { state: InitiatorState; startedAt: number } | null;
  lastAnswered: { ephemeral: string; message2: Uint8Array } | null;
  handshakeAnswers: number[];
  lastRevokeNotice: number;
}

export class Peer {
  private connection: ServerConnection | null = null;
  private readonly peers = new Map<string, RemotePeer>();
  private readonly replayGuard = new EnvelopeReplayGuard();

  constructor(
    readonly me: Identity,
    private readonly emit: (event: PeerEvent) => void,
    private readonly log: (line: string) => void,
  ) {}

  // ── ops ────────────────────────────────────────────────────────────────────────────────

  async connect(url: string): Promise<void> {
    if (this.connection !== null) return; // already connected: ok (docs/conformance.md)
    const connection = await ServerConnection.connect(withDefaultPath(url), this.me, {
      onDeliver: (from, packet, channel) => this.onDeliver(from, packet, channel),
      onBadFrame: (code, detail) => this.emit({ event: 'refused', code, detail }),
      onClose: () => {
        if (this.connection === connection) this.connection = null;
      },
    });
    this.connection = connection;
    // "Resent at once: when our server connection is (re)established." The other side may
    // have closed its session while we were away (PEER_OFFLINE), so we also open a fresh one
    // to every trusted peer: its new session makes it resend what it holds for us.
    for (const peer of this.peers.values()) {
      if (peer.trust === 'pending-out') this.sendConsentRequest(peer, '');
      if (peer.trust === 'trusted') this.startHandshake(peer, true);
    }
  }

  disconnect(): void {
    this.connection?.close();
    this.connection = null;
  }

  request(keyText: string, key: Uint8Array, note: string): void {
    if (equalBytes(key, this.me.publicKey)) throw new PeerError('CLIENT_ERR_SELF', 'that is our own key');
    const peer = this.peer(keyText, key);
    if (peer.trust === 'trusted') return;
    if (peer.trust === 'pending-in') {
      // Both asked: answering is what makes it trusted.
      this.respond(keyText, key, true);
      return;
    }
    peer.trust = 'pending-out';
    this.sendConsentRequest(peer, note);
  }

  respond(keyText: string, key: Uint8Array, accept: boolean): void {
    const peer = this.peer(keyText, key);
    if (peer.trust !== 'pending-in') throw new PeerError('CLIENT_ERR_NO_PENDING_REQUEST', 'no request from that key');
    this.sendEnvelope(peer, ENVELOPE_TYPE.CONSENT_RESPONSE, {
      type: PAYLOAD_TYPE.CONSENT_RESPONSE,
      header: { v: 1, accept, name: '' },
    });
    // The responder is trusted once it SENDS accept:true; a decline forgets the peer.
    peer.trust = accept ? 'trusted' : 'unknown';
  }

  send(keyText: string, key: Uint8Array, text: string): string {
    const peer = this.peer(keyText, key);
    if (peer.trust !== 'trusted') throw new PeerError(sendRefusal(peer.trust), `peer is ${peer.trust}`);
    const body = utf8(text);
    if (body.length > MAX_MESSAGE_BYTES) throw new PeerError('CLIENT_ERR_MESSAGE_TOO_LARGE', 'body over 57,344 bytes');
    if (peer.unacked.length >= OUTBOX_MAX_MESSAGES) throw new PeerError('CLIENT_ERR_OUTBOX_FULL', 'too many unacked');
    if (peer.stream === null) {
      // A new stream: 12 random bytes in base64url (16 characters), q from 0.
      peer.stream = toBase64url(randomBytes(12));
      peer.nextQ = 0;
    }
    const message = { id: toHex(randomBytes(16)), q: peer.nextQ++, body };
    peer.unacked.push(message);
    this.transmitWindow(peer);
    this.armRetransmit(peer);
    return message.id;
  }

  revoke(keyText: string, key: Uint8Array): void {
    const peer = this.peer(keyText, key);
    if (peer.trust !== 'trusted' && peer.trust !== 'pending-out') {
      throw new PeerError(sendRefusal(peer.trust), `peer is ${peer.trust}`);
    }
    peer.trust = 'revoked';
    this.forgetSessionsAndStreams(peer);
    // REVOKE goes in an envelope: the session is already gone, and the mailbox keeps it.
    this.sendEnvelope(peer, ENVELOPE_TYPE.REVOKE, { type: PAYLOAD_TYPE.REVOKE, header: { v: 1 } });
  }

  // ── incoming packets ─────────────────────────────────────────────────────────────────────

  private onDeliver(from: Uint8Array, packet: Uint8Array, channel: number): void {
    try {
      this.handlePacket(from, packet, channel);
    } catch (error) {
      const code = error instanceof PeerError ? error.code : 'CLIENT_ERR_BAD_PAYLOAD';
      const detail = error instanceof Error ? error.message : String(error);
      this.log(`refused from ${toBase64url(from)}: ${code} ${detail}`);
      this.emit({ event: 'refused', code, detail });
    }
  }

  private handlePacket(from: Uint8Array, packet: Uint8Array, channel: number): void {
    if (equalBytes(from, this.me.publicKey)) throw new PeerError('CLIENT_ERR_SELF', 'a packet from our own key');
    if (packet.length === 0) throw new PeerError('PROTO_ERR_TRUNCATED', 'empty peer packet');
    const version = packet[0] as number;
    if (version === 0x01) {
      this.handleEnvelope(from, packet, channel);
      return;
    }
    if (version !== SESSION_VERSION) {
      throw new PeerError(
        'PROTO_ERR_BAD_VERSION',
        `unknown peer-packet version ${version} (this implementation speaks 1, 2)`,
      );
    }
    // Session packets belong to channel 1 (RELAY); a SIGNAL carries only path negotiation.
    if (channel !== 1) throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'session packet delivered as SIGNAL');
    if (packet.length < 2) throw new PeerError('PROTO_ERR_TRUNCATED', 'v2 packet without a type');
    const peer = this.peer(toBase64url(from), from);
    const type = packet[1] as number;
    if (type === PACKET_TYPE.PREKEY) {
      if (peer.trust !== 'trusted' && peer.trust !== 'pending-out') this.sendRevokeNotice(peer);
      // We publish no bundle ("Prekeys are optional"); the sender resends under the session.
      throw new PeerError('PROTO_ERR_PREKEY_UNKNOWN', 'this peer holds no prekeys');
    }
    if (
      type !== PACKET_TYPE.HANDSHAKE_INIT &&
      type !== PACKET_TYPE.HANDSHAKE_RESPONSE &&
      type !== PACKET_TYPE.TRANSPORT
    ) {
      throw new PeerError('PROTO_ERR_BAD_TYPE', `unknown v2 packet type ${type}`);
    }
    // Only a trusted peer gets handshake or transport work (dropped before any X25519).
    if (peer.trust !== 'trusted') throw new PeerError(sendRefusal(peer.trust), `v2 packet from a ${peer.trust} key`);
    if (type === PACKET_TYPE.HANDSHAKE_INIT) {
      this.handleMessage1(peer, packet);
      return;
    }
    if (type === PACKET_TYPE.HANDSHAKE_RESPONSE) {
      this.handleMessage2(peer, packet);
      return;
    }
    this.handleTransport(peer, packet);
    return;
  }

  private handleEnvelope(from: Uint8Array, bytes: Uint8Array, channel: number): void {
    const fields = decodeEnvelope(bytes);
    if (fields.type === ENVELOPE_TYPE.WEBRTC_SIGNAL) return; // path upgrade: MAY ignore
    if (channel !== 1) throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'session envelope delivered as SIGNAL');
    if (!equalBytes(fields.sender, from))
      throw new PeerError('RDV_ERR_SENDER_MISMATCH', 'envelope sender is not the relay sender');
    const peer = this.peer(toBase64url(from), from);
    // A stranger's envelopes other than consent requests are refused unopened.
    if (!mayOpenEnvelope(peer.trust, fields.type)) {
      if (fields.type === ENVELOPE_TYPE.DATA) this.sendRevokeNotice(peer);
      throw new PeerError(sendRefusal(peer.trust), `envelope type ${fields.type} from a ${peer.trust} key`);
    }
    const { plaintext } = openEnvelope(this.me, bytes, Date.now(), this.replayGuard);
    if (fields.type === ENVELOPE_TYPE.DIRECT_HANDSHAKE || fields.type === ENVELOPE_TYPE.ADDRESSES) {
      throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', `reserved envelope type ${fields.type}`);
    }
    const payload = decodePayload(fields.type, plaintext);
    this.handlePayload(peer, payload, 'envelope');
  }

  private handlePayload(peer: RemotePeer, payload: Payload, via: 'envelope' | 'transport'): void {
    switch (payload.type) {
      case PAYLOAD_TYPE.CONSENT_REQUEST:
        if (via !== 'envelope') throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'consent outside an envelope');
        this.onConsentRequest(peer, payload.header.name);
        return;
      case PAYLOAD_TYPE.CONSENT_RESPONSE:
        if (via !== 'envelope') throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'consent outside an envelope');
        this.onConsentResponse(peer, payload.header.accept);
        return;
      case PAYLOAD_TYPE.DATA:
        if (peer.trust !== 'trusted') throw new PeerError(sendRefusal(peer.trust), `DATA from a ${peer.trust} key`);
        this.onData(peer, payload.header, payload.body);
        return;
      case PAYLOAD_TYPE.ACK:
        this.onAck(peer, payload.header.s, payload.header.upTo);
        return;
      case PAYLOAD_TYPE.REVOKE:
        this.onRevoke(peer);
        return;
    }
  }

  private onConsentRequest(peer: RemotePeer, name: string): void {
    if (peer.trust === 'trusted' || peer.trust === 'pending-out') {
      // Both users already agreed (the peer lost its state, or both asked): accept at once.
      const wasPending = peer.trust === 'pending-out';
      this.sendEnvelope(peer, ENVELOPE_TYPE.CONSENT_RESPONSE, {
        type: PAYLOAD_TYPE.CONSENT_RESPONSE,
        header: { v: 1, accept: true, name: '' },
      });
      peer.trust = 'trusted';
      this.stopConsentRetry(peer);
      if (wasPending) this.emit({ event: 'consent.accepted', peer: peer.keyText });
      return;
    }
    if (peer.trust === 'pending-in') return; // a resend of the same request: no second prompt
    peer.trust = 'pending-in';
    this.emit({ event: 'consent.request', peer: peer.keyText, note: name });
  }

  private onConsentResponse(peer: RemotePeer, accept: boolean): void {
    if (peer.trust === 'pending-out') {
      this.stopConsentRetry(peer);
      peer.trust = accept ? 'trusted' : 'unknown';
      this.emit({ event: accept ? 'consent.accepted' : 'consent.declined', peer: peer.keyText });
      if (accept && peer.unacked.length > 0) this.transmitWindow(peer);
      return;
    }
    // accept:false while trusted is a revoke; anything else is unsolicited and ignored.
    if (peer.trust === 'trusted' && !accept) this.onRevoke(peer);
  }

  private onRevoke(peer: RemotePeer): void {
    if (peer.trust !== 'trusted' && peer.trust !== 'pending-out') return;
    peer.trust = 'revoked-by-peer';
    this.stopConsentRetry(peer);
    this.forgetSessionsAndStreams(peer);
    this.emit({ event: 'revoked', peer: peer.keyText });
  }

  /** "Receiving DATA": in order only, exactly once; ack everything but a straggler of another stream. */
  private onData(peer: RemotePeer, header: { id: string; s: string; q: number; enc: string }, body: Uint8Array): void {
    if (header.s === peer.inStream) {
      if (header.q === peer.inNext) {
        peer.inNext++;
        this.deliver(peer, header.id, header.enc, body);
      }
      // q < next: a duplicate (ack again); q > next: a gap (drop, ack our position).
      this.scheduleAck(peer);
      return;
    }
    if (header.q !== 0) return; // a straggler of an old stream: drop, no ack
    peer.inStream = header.s;
    peer.inNext = 1;
    this.deliver(peer, header.id, header.enc, body);
    this.scheduleAck(peer);
  }

  private deliver(peer: RemotePeer, msgId: string, enc: string, body: Uint8Array): void {
    const text = enc === 'text' ? fromUtf8(body) : toHex(body);
    this.emit({ event: 'message', peer: peer.keyText, msgId, text });
  }

  /** A cumulative ACK: every message of our stream with q ≤ upTo is done. */
  private onAck(peer: RemotePeer, stream: string, upTo: number): void {
    if (stream !== peer.stream) return;
    let progressed = false;
    while (peer.unacked.length > 0 && (peer.unacked[0] as OutgoingMessage).q <= upTo) {
      const message = peer.unacked.shift() as OutgoingMessage;
      progressed = true;
      this.emit({ event: 'acked', peer: peer.keyText, msgId: message.id });
    }
    if (progressed) {
      peer.rto = RETRANSMIT_INITIAL_MS;
      this.armRetransmit(peer, true);
    }
  }

  // ── v2 handshake and transport ───────────────────────────────────────────────────────────

  private handleMessage1(peer: RemotePeer, packet: Uint8Array): void {
    const now = Date.now();
    const ephemeral = toHex(packet.subarray(2, 34));
    if (peer.lastAnswered?.ephemeral === ephemeral) {
      // An exact duplicate gets the same message 2 again, at no cost.
      this.transmit(peer, peer.lastAnswered.message2);
      return;
    }
    peer.handshakeAnswers = peer.handshakeAnswers.filter((t) => now - t < PEER_HANDSHAKE_RATE_WINDOW_MS);
    if (peer.handshakeAnswers.length >= PEER_HANDSHAKE_RESPONSES_PER_PEER) {
      throw new PeerError('CLIENT_ERR_HANDSHAKE_RATE_LIMITED', 'too many messages 1 from this peer');
    }
    if (peer.pending !== null && now - peer.pending.startedAt < PEER_HANDSHAKE_TIMEOUT_MS) {
      // Simultaneous open: the initiation from the lower key wins.
      if (compareBytes(this.me.publicKey, peer.key) < 0) return; // ours wins: drop theirs
      this.erasePending(peer);
    }
    peer.handshakeAnswers.push(now);
    const result = readMessage1AndRespond(
      this.me,
      packet,
      // The key inside message 1 must be the key the relay authenticated, and trusted.
      (initiator) => equalBytes(initiator, peer.key) && peer.trust === 'trusted',
      { ephemeralSecret: randomBytes(32), kemRandom: randomBytes(32) },
    );
    peer.candidate?.close();
    peer.candidate = new Session(
      result.keys.responderToInitiator,
      result.keys.initiatorToResponder,
      result.keys.handshakeHash,
      now,
    );
    peer.lastAnswered = { ephemeral, message2: result.message2 };
    this.transmit(peer, result.message2);
  }

  private handleMessage2(peer: RemotePeer, packet: Uint8Array): void {
    const pending = peer.pending;
    if (pending === null) throw new PeerError('CLIENT_ERR_HANDSHAKE_UNEXPECTED', 'message 2 while none of ours waits');
    peer.pending = null; // erased by readMessage2 whatever the outcome
    const { keys } = readMessage2(this.me, pending.state, packet);
    const now = Date.now();
    this.replaceLive(peer, new Session(keys.initiatorToResponder, keys.responderToInitiator, keys.handshakeHash, now));
    // The initiator MUST send a TRANSPORT packet right after message 2: CONFIRM.
    this.transmit(peer, (peer.live as Session).seal(encodeConfirm(), now));
    this.transmitWindow(peer);
  }

  private handleTransport(peer: RemotePeer, packet: Uint8Array): void {
    const now = Date.now();
    let plaintext: Uint8Array | null = null;
    let firstError: unknown = null;
    if (peer.retired !== null && now >= peer.retired.until) {
      peer.retired.session.close();
      peer.retired = null;
    }
    for (const which of ['live', 'candidate', 'retired'] as const) {
      const session = which === 'retired' ? (peer.retired?.session ?? null) : peer[which];
      if (session === null) continue;
      try {
        plaintext = session.open(packet, now);
      } catch (error) {
        firstError ??= error;
        continue;
      }
      if (which === 'candidate') {
        // A packet from the initiator authenticated under the candidate: it becomes live.
        this.replaceLive(peer, session);
        peer.candidate = null;
        this.transmitWindow(peer);
      }
      break;
    }
    if (plaintext === null) {
      const code = firstError instanceof PeerError ? firstError.code : 'CLIENT_ERR_NO_SESSION';
      // Opens under nothing we hold (no session, unknown epoch, bad tag; not a replay and not a
      // malformed packet): the peer or we restarted, so start a handshake.
      if (LOST_SESSION_CODES.has(code)) this.startHandshake(peer, false);
      throw firstError ?? new PeerError('CLIENT_ERR_NO_SESSION', 'TRANSPORT with no session');
    }
    const inner = decodeInner(plaintext);
    if (inner.kind === 'payload') {
      this.handlePayload(peer, inner.payload, 'transport');
    } else if (inner.kind === 'file') {
      this.declineOffer(peer, inner.message);
    }
    // CONFIRM: nothing to do (it confirmed by opening); BUNDLE: we keep no prekeys, so it is
    // discarded.
  }

  /**
   * Files and long messages are MAY: we accept no transfer, so an OFFER (file or long message)
   * is answered DECLINE "declined" ("Long messages" → Recipient: no long-message support) and
   * the sender stops re-offering; every other file message is dropped.
   */
  private declineOffer(peer: RemotePeer, message: Uint8Array): void {
    const file = decodeFileMessage(message);
    if (file.type !== 'OFFER') return;
    const session = peer.live ?? peer.candidate;
    if (session === null) return;
    const decline = encodeDeclineDeclined(file.id as string);
    const plaintext = new Uint8Array(1 + decline.length);
    plaintext[0] = INNER_KIND.FILE;
    plaintext.set(decline, 1);
    this.transmit(peer, session.seal(plaintext, Date.now()));
  }

  private startHandshake(peer: RemotePeer, force: boolean): void {
    const now = Date.now();
    if (!force && peer.pending !== null && now - peer.pending.startedAt < PEER_HANDSHAKE_TIMEOUT_MS) return;
    this.erasePending(peer);
    const { message1, state } = writeMessage1(this.me, peer.key, {
      ephemeralSecret: randomBytes(32),
      kemSeed: randomBytes(64),
    });
    peer.pending = { state, startedAt: now };
    this.transmit(peer, message1);
  }

  private replaceLive(peer: RemotePeer, session: Session): void {
    if (peer.live !== null && peer.live !== session) {
      // Packets sealed under the old session may still be in flight.
      peer.retired?.session.close();
      peer.retired = { session: peer.live, until: Date.now() + RETIRED_SESSION_GRACE_MS };
    }
    peer.live = session;
  }

  private erasePending(peer: RemotePeer): void {
    if (peer.pending === null) return;
    peer.pending.state.ephemeralSecret.fill(0);
    peer.pending.state.kemSecret.fill(0);
    peer.pending.state.symmetric.wipe();
    peer.pending = null;
  }

  // ── sending ──────────────────────────────────────────────────────────────────────────────

  /** Seal the unacked window afresh under the session (new counters), or start a handshake. */
  private transmitWindow(peer: RemotePeer): void {
    if (peer.trust !== 'trusted' || peer.unacked.length === 0) return;
    const session = peer.live ?? peer.candidate;
    if (session === null) {
      this.startHandshake(peer, false);
      return;
    }
    const now = Date.now();
    for (const message of peer.unacked.slice(0, SEND_WINDOW_MESSAGES)) {
      const payload: Payload = {
        type: PAYLOAD_TYPE.DATA,
        header: { v: 1, id: message.id, s: peer.stream as string, q: message.q, enc: 'text' },
        body: message.body,
      };
      this.transmit(peer, session.seal(encodeInnerPayload(payload), now));
    }
  }

  private armRetransmit(peer: RemotePeer, restart = false): void {
    if (restart && peer.retransmitTimer !== null) {
      clearTimeout(peer.retransmitTimer);
      peer.retransmitTimer = null;
    }
    if (peer.unacked.length === 0 || peer.retransmitTimer !== null) return;
    peer.retransmitTimer = this.guarded(() => {
      peer.retransmitTimer = null;
      if (peer.unacked.length === 0) return;
      // Go-back-N: resend the whole window, then wait twice as long (up to 30 s).
      this.transmitWindow(peer);
      peer.rto = Math.min(peer.rto * 2, RETRANSMIT_MAX_MS);
      this.armRetransmit(peer);
    }, peer.rto);
    peer.retransmitTimer.unref();
  }

  private scheduleAck(peer: RemotePeer): void {
    if (peer.ackTimer !== null) return; // coalesced: one ACK per peer per ACK_DELAY_MS
    peer.ackTimer = this.guarded(() => {
      peer.ackTimer = null;
      if (peer.trust !== 'trusted' || peer.inStream === null) return;
      const payload: Payload = { type: PAYLOAD_TYPE.ACK, header: { v: 1, s: peer.inStream, upTo: peer.inNext - 1 } };
      // ACK over TRANSPORT when a session exists (no clock, cheaper), else in an envelope.
      const session = peer.live ?? peer.candidate;
      if (session !== null) this.transmit(peer, session.seal(encodeInnerPayload(payload), Date.now()));
      else this.sendEnvelope(peer, ENVELOPE_TYPE.ACK, payload);
    }, ACK_DELAY_MS);
  }

  /**
   * Revoke notice ("Revoke", SHOULD): DATA from a key that is neither trusted nor pending-out
   * is answered with a REVOKE envelope, at most once per REVOKE_NOTICE_INTERVAL_MS per key, so a
   * peer that missed our REVOKE learns it.
   */
  private sendRevokeNotice(peer: RemotePeer): void {
    const now = Date.now();
    if (now - peer.lastRevokeNotice < REVOKE_NOTICE_INTERVAL_MS) return;
    peer.lastRevokeNotice = now;
    this.sendEnvelope(peer, ENVELOPE_TYPE.REVOKE, { type: PAYLOAD_TYPE.REVOKE, header: { v: 1 } });
  }

  private sendConsentRequest(peer: RemotePeer, name: string): void {
    this.sendEnvelope(peer, ENVELOPE_TYPE.CONSENT_REQUEST, {
      type: PAYLOAD_TYPE.CONSENT_REQUEST,
      header: { v: 1, name },
    });
    // Resent while pending-out, each a fresh envelope.
    this.stopConsentRetry(peer);
    peer.consentTimer = this.guardedInterval(() => {
      if (peer.trust !== 'pending-out') {
        this.stopConsentRetry(peer);
        return;
      }
      this.sendEnvelope(peer, ENVELOPE_TYPE.CONSENT_REQUEST, {
        type: PAYLOAD_TYPE.CONSENT_REQUEST,
        header: { v: 1, name },
      });
    }, CONSENT_RETRY_MS);
    peer.consentTimer.unref();
  }

  private stopConsentRetry(peer: RemotePeer): void {
    if (peer.consentTimer !== null) clearInterval(peer.consentTimer);
    peer.consentTimer = null;
  }

  private sendEnvelope(peer: RemotePeer, type: number, payload: Payload): void {
    const envelope = sealEnvelope(this.me, peer.key, type, encodePayload(payload), Date.now(), {
      messageId: randomBytes(16),
      nonce: randomBytes(16),
      ephemeralSecret: randomBytes(32),
    });
    this.transmit(peer, envelope);
  }

  /** Every peer packet goes in a RELAY frame; its one answer is handled here. */
  private transmit(peer: RemotePeer, packet: Uint8Array): void {
    const connection = this.connection;
    if (connection === null) return; // offline: the retransmit timer and the reconnect resend
    connection.relay(peer.key, packet).then(
      (answer) => this.onRelayAnswer(peer, packet, answer),
      () => {},
    );
  }

  private onRelayAnswer(peer: RemotePeer, packet: Uint8Array, answer: RelayAnswer): void {
    if (answer.kind === 'offline') {
      // A live-only packet to an offline peer: it may come back as a new process, so our
      // session with it is closed; unacked messages wait for the next handshake.
      if (packet[0] === SESSION_VERSION) this.closeSessions(peer);
    } else if (answer.kind === 'error') {
      this.log(`relay to ${peer.keyText} refused: ${answer.code} ${answer.message}`);
    }
  }

  /** Timers run our code outside any request: a failure is logged, never thrown. */
  private guarded(run: () => void, ms: number): NodeJS.Timeout {
    return setTimeout(() => this.logFailure(run), ms);
  }

  private guardedInterval(run: () => void, ms: number): NodeJS.Timeout {
    return setInterval(() => this.logFailure(run), ms);
  }

  private logFailure(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.log(`timer: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private closeSessions(peer: RemotePeer): void {
    peer.live?.close();
    peer.candidate?.close();
    peer.retired?.session.close();
    peer.live = null;
    peer.candidate = null;
    peer.retired = null;
    this.erasePending(peer);
    peer.lastAnswered = null;
  }

  private forgetSessionsAndStreams(peer: RemotePeer): void {
    this.closeSessions(peer);
    peer.unacked = []; // failed (CLIENT_ERR_REVOKED)
    peer.stream = null;
    peer.inStream = null;
    peer.inNext = 0;
    if (peer.retransmitTimer !== null) clearTimeout(peer.retransmitTimer);
    peer.retransmitTimer = null;
  }

  private peer(keyText: string, key: Uint8Array): RemotePeer {
    let peer = this.peers.get(keyText);
    if (peer === undefined) {
      if (this.peers.size >= MAX_PEERS) throw new PeerError('CLIENT_ERR_BUSY', 'too many peers');
      peer = {
        key,
        keyText,
        trust: 'unknown',
        consentTimer: null,
        stream: null,
        nextQ: 0,
        unacked: [],
        rto: RETRANSMIT_INITIAL_MS,
        retransmitTimer: null,
        inStream: null,
        inNext: 0,
        ackTimer: null,
        live: null,
        candidate: null,
        retired: null,
        pending: null,
        lastAnswered: null,
        handshakeAnswers: [],
        lastRevokeNotice: 0,
      };
      this.peers.set(keyText, peer);
    }
    return peer;
  }
}

/** "A URL with no path means /v1/ws". */
function withDefaultPath(url: string): string {
  const parsed = new URL(url);
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/v1/ws';
  return parsed.toString();
}
