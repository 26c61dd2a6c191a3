/**
 * Routing SIGNAL/RELAY frames: locally (DELIVER written in place over the incoming frame),
 * to the instance serving the recipient (through the broker, answered by that instance), or to
 * the offline path (PEER_OFFLINE for SIGNAL, mailbox for RELAY). Every frameId gets exactly one
 * answer: ACK, PEER_OFFLINE or ERROR — a cross-instance one when the remote instance replies,
 * or RDV_ERR_ROUTE_TIMEOUT.
 *
 * Hot path (a frame for a local peer): token-bucket arithmetic, the peer-packet structure check
 * (checkPeerPacket: a byte peek, then the envelope check or a v2 size check), for envelopes and
 * PREKEY packets two 32-byte compares at their kind's offsets, one Map lookup, the recipient's
 * queue length, the DELIVER header written over the frame (zero-copy) and a 6-byte ACK. No JSON,
 * promises, closures or signature checks (only the mailbox verifies signatures:
 * mailbox-delivery.ts).
 *
 * Packet kinds (docs/protocol.md "Peer packets"): envelope v1 and PREKEY packets name their
 * sender and recipient, which must be the authenticated key and `to`, and a RELAY of one to an
 * offline key is mailboxed. Handshake and transport packets name no one the server can check
 * and are live-only: to an offline key, SIGNAL and RELAY alike get PEER_OFFLINE, here and on the
 * instance that found the key gone.
 *
 * Per-recipient inbound budget: a frame for a recipient whose queue is over RECIPIENT_BUSY_BYTES
 * (or whose mailbox is still being delivered) is answered RDV_ERR_RECIPIENT_BUSY to its sender,
 * who backs off and resends; the recipient is never cut for what others send it.
 */
import {
  checkPeerPacket,
  FrameType,
  isProtocolError,
  isStorablePeerPacketBytes,
  PEER_PACKET_VERSIONS,
  type PeerPacketKind,
  peerPacketOffsets,
} from '@p2p-comm/protocol';
import { instanceOf } from '../broker/broker.js';
import { ROUTE_LOOKUPS_MAX, ROUTE_MAX_HOPS } from '../constants.js';
import { RDV_ERRORS, type RendezvousErrorCode } from '../errors.js';
import { ackFrame, peerOfflineFrame } from '../frames-out.js';
import { takeTokens } from '../rate-limit.js';
import type { RouteCache } from '../route-cache.js';
import {
  DELIVERED_RUN_BYTES,
  DELIVERED_RUN_MAX,
  encodeDelivered,
  encodeReply,
  encodeRouteHeader,
  forEachRecord,
  RecordKind,
  ReplyResult,
  type RouteBatchRecord,
  type RouteRecord,
  routeEnvelope,
  routeFrom,
} from '../route-codec.js';
import { type Session, SessionState } from '../session.js';
import { CH_RELAY, CH_SIGNAL, type HubContext, KEY_BYTES, ROUTED_HEADER } from './context.js';
import type { MailboxDelivery } from './mailbox-delivery.js';
import type { SocketSender } from './sender.js';

interface Pending {
  s: Session;
  frameId: number;
  /** Recipient key as latin1 (already computed for the routing map; no copy per frame). */
  toId: string;
  expires: number;
}

export class Router {
  /** Cross-instance frames awaiting the remote answer, by pendingId (insertion = expiry order). */
  readonly pending = new Map<number, Pending>();
  private nextPendingId = 1;
  private readonly onRecord = (r: RouteBatchRecord): void => this.handleRecord(r);
  /** The broker's callback for this instance's channel: one batch of records per message. */
  readonly onBatch = (batch: Buffer): void => {
    this.ctx.stats.batchesIn++;
    if (!forEachRecord(batch, this.onRecord)) this.ctx.log.warn('malformed route batch ignored');
    this.answerDelivered();
  };
  /**
   * A batch received over an instance link, as regions of whole records (link/codec.ts
   * splitBatchRecords): no REPLAY records there; false closes the link.
   */
  onLinkBatch(regions: Buffer[]): boolean {
    this.ctx.stats.batchesIn++;
    let ok = true;
    for (let i = 0; ok && i < regions.length; i++) ok = forEachRecord(regions[i]!, this.onRecord, false);
    this.answerDelivered();
    return ok;
  }

  /**
   * The DELIVERED answers of the batch being processed, by the instance to answer: flat runs of
   * (first pendingId, count). Filled while a batch's records are processed and emptied at its
   * end (answerDelivered), so each holds at most one run per record of one batch.
   */
  private readonly delivered = new Map<string, number[]>();

  /**
   * Presence lookups in flight, by recipient key (latin1): frames for a key that is being looked
   * up wait for the same answer instead of each asking Redis. At most ROUTE_LOOKUPS_MAX; past it
   * a lookup is simply not shared.
   */
  private readonly lookups = new Map<string, Promise<string | null>>();

  constructor(
    private readonly ctx: HubContext,
    private readonly sender: SocketSender,
    private readonly mail: MailboxDelivery,
    /** key → instance lookups, shared with the handshake (which drops keys that become local). */
    readonly cache: RouteCache,
    /** Ends an older session for a key that connected again elsewhere (KICK). */
    private readonly replace: (old: Session) => void,
  ) {
    cache.setRefresher((toId) => this.refreshRoute(toId));
  }

  /** The claim (`instance:…`) of the key `toId` (latin1), one Redis lookup per key at a time. */
  private lookupClaim(toId: string): Promise<string | null> {
    const running = this.lookups.get(toId);
    if (running !== undefined) return running;
    const p = this.ctx.broker.lookup(Buffer.from(toId, 'latin1').toString('base64url'));
    if (this.lookups.size >= ROUTE_LOOKUPS_MAX) return p;
    this.lookups.set(toId, p);
    const done = (): void => {
      this.lookups.delete(toId);
    };
    p.then(done, done);
    return p;
  }

  /** Renew a cache entry read past ROUTE_CACHE_REFRESH_AT of its lifetime (route-cache.ts), off the frames' path. */
  private refreshRoute(toId: string): void {
    const { broker, selfId, sessions } = this.ctx;
    if (!broker.isReady()) return; // left to expire; a frame then looks it up and fails plainly
    this.lookupClaim(toId).then(
      (claim) => {
        const inst = claim === null ? null : instanceOf(claim);
        if (inst !== null && inst !== selfId && !sessions.has(toId)) this.cache.set(toId, inst, Date.now());
        else this.cache.delete(toId); // offline or local now: the next frame takes the usual path
      },
      () => {}, // left to expire
    );
  }

  /**
   * A RELAY_TTL: a RELAY whose mailboxed copy is kept min(ttlS, MAILBOX_TTL_S). Dropping ttlS
   * leaves a RELAY frame 4 bytes in (`to` and the envelope do not move), routed as one.
   */
  onRelayTtl(s: Session, data: Buffer, now: number): void {
    const { stats, config } = this.ctx;
    if (data.length < ROUTED_HEADER + 4) {
      stats.drops.malformed++;
      this.sender.fail(s, 'RDV_ERR_MALFORMED_FRAME');
      return;
    }
    const frameId = data.readUInt32BE(1);
    const ttlS = data.readUInt32BE(5);
    if (ttlS === 0) {
      stats.drops.bad_ttl++;
      this.sender.fail(s, 'RDV_ERR_BAD_TTL', frameId);
      return;
    }
    data[4] = FrameType.RELAY;
    data.writeUInt32BE(frameId, 5);
    this.onRouted(s, data.subarray(4), FrameType.RELAY, now, Math.min(ttlS, config.mailboxTtlS) * 1000);
  }

  /** A SIGNAL or RELAY from an open session; `ttlMs` (0 = MAILBOX_TTL_S) is a RELAY_TTL's, clamped. */
  onRouted(s: Session, data: Buffer, type: number, now: number, ttlMs = 0): void {
    const { stats, sessions } = this.ctx;
    const sender = this.sender;
    if (data.length < ROUTED_HEADER) {
      stats.drops.malformed++;
      sender.fail(s, 'RDV_ERR_MALFORMED_FRAME');
      return;
    }
    const frameId = data.readUInt32BE(1);
    if (!takeTokens(s, this.ctx.config, data.length, now)) {
      stats.drops.rate_limited++;
      sender.fail(s, 'RDV_ERR_RATE_LIMITED', frameId);
      return;
    }
    const env = data.subarray(ROUTED_HEADER);
    let kind: PeerPacketKind;
    try {
      kind = checkPeerPacket(env); // structure only; sender and recipient are then compared in place
    } catch (err) {
      this.refusePacket(s, frameId, env, err);
      return;
    }
    const key = s.key!;
    const at = peerPacketOffsets(kind); // null: a session packet, nothing the server can check
    if (at !== null) {
      const rcpt = ROUTED_HEADER + at.recipient;
      if (data.compare(data, rcpt, rcpt + KEY_BYTES, 5, ROUTED_HEADER) !== 0) {
        stats.drops.recipient_mismatch++;
        sender.fail(s, 'RDV_ERR_RECIPIENT_MISMATCH', frameId);
        return;
      }
      const from = ROUTED_HEADER + at.sender;
      if (key.compare(data, from, from + KEY_BYTES) !== 0) {
        stats.drops.sender_mismatch++;
        sender.fail(s, 'RDV_ERR_SENDER_MISMATCH', frameId);
        return;
      }
    }
    const channel = type === FrameType.SIGNAL ? CH_SIGNAL : CH_RELAY;
    const toId = data.toString('latin1', 5, ROUTED_HEADER);
    const target = sessions.get(toId);
    if (target !== undefined) {
      if (sender.busy(target)) {
        stats.drops.recipient_busy++;
        sender.fail(s, 'RDV_ERR_RECIPIENT_BUSY', frameId);
        return;
      }
      // Rewrite the header in place: [type frameId to…] → …[DELIVER channel from] + envelope.
      data[3] = FrameType.DELIVER;
      data[4] = channel;
      key.copy(data, 5);
      if (sender.send(target, data.subarray(3))) {
        if (channel === CH_SIGNAL) stats.forwardedSignalLocal++;
        else stats.forwardedRelayLocal++;
        stats.forwardedBytes += env.length;
        sender.send(s, ackFrame(frameId, 0));
        return;
      }
      // The recipient was just dropped as a slow reader: treat it as offline.
      this.offlineLocal(s, frameId, channel, Buffer.from(toId, 'latin1'), env, ttlMs);
      return;
    }
    const cached = this.cache.get(toId, now);
    if (cached !== null) {
      this.forward(s, frameId, channel, data.subarray(5, ROUTED_HEADER), toId, env, cached, now, ttlMs);
      return;
    }
    this.lookupAndRoute(s, frameId, channel, Buffer.from(data.subarray(5, ROUTED_HEADER)), env, ttlMs);
  }

  /**
   * A peer packet that failed checkPeerPacket. An unknown version or v2 type gets its own code
   * and a message naming it and what this server speaks (a newer client meets an older server);
   * everything else (sizes, envelope structure) is RDV_ERR_BAD_ENVELOPE.
   */
  private refusePacket(s: Session, frameId: number, env: Buffer, err: unknown): void {
    const code = isProtocolError(err) ? err.code : '';
    const version = env[0];
    if (code === 'PROTO_ERR_BAD_VERSION' && !PEER_PACKET_VERSIONS.includes(version!)) {
      this.ctx.stats.drops.unsupported_packet++;
      this.sender.failWith(
        s,
        'RDV_ERR_UNSUPPORTED_PEER_PACKET',
        frameId,
        `unknown peer-packet version ${version} (this server speaks ${PEER_PACKET_VERSIONS.join(', ')})`,
      );
      return;
    }
    if (code === 'PROTO_ERR_BAD_TYPE' && version === 2) {
      this.ctx.stats.drops.unsupported_packet++;
      this.sender.failWith(
        s,
        'RDV_ERR_UNSUPPORTED_PEER_PACKET',
        frameId,
        `unknown v2 peer-packet type ${env[1]} (this server reads 1 handshake-init, 2 handshake-response, 3 transport, 4 prekey)`,
      );
      return;
    }
    this.ctx.stats.drops.bad_envelope++;
    this.sender.fail(s, 'RDV_ERR_BAD_ENVELOPE', frameId);
  }

  private lookupAndRoute(s: Session, frameId: number, channel: number, to: Buffer, env: Buffer, ttlMs: number): void {
    const { broker, stats, sessions, selfId } = this.ctx;
    if (!broker.isReady()) {
      // Redis unreachable: only local routing works; tell the sender plainly.
      stats.drops.unavailable++;
      this.sender.fail(s, 'RDV_ERR_UNAVAILABLE', frameId);
      return;
    }
    this.lookupClaim(to.toString('latin1')).then(
      (claim) => {
        if (s.state !== SessionState.OPEN) return;
        const now = Date.now();
        const local = sessions.get(to.toString('latin1'));
        if (local !== undefined) {
          if (this.sender.busy(local)) {
            stats.drops.recipient_busy++;
            this.sender.fail(s, 'RDV_ERR_RECIPIENT_BUSY', frameId);
            return;
          }
          // The recipient connected here while we looked: deliver through the normal path.
          const frame = Buffer.allocUnsafe(2 + KEY_BYTES + env.length);
          frame[0] = FrameType.DELIVER;
          frame[1] = channel;
          s.key!.copy(frame, 2);
          env.copy(frame, 2 + KEY_BYTES);
          if (this.sender.send(local, frame)) {
            stats.forwardedBytes += env.length;
            this.sender.send(s, ackFrame(frameId, 0));
            return;
          }
        }
        const inst = claim === null ? null : instanceOf(claim);
        if (inst !== null && inst !== selfId) {
          this.cache.set(to.toString('latin1'), inst, now);
          this.forward(s, frameId, channel, to, to.toString('latin1'), env, inst, now, ttlMs);
        } else {
          this.offlineLocal(s, frameId, channel, to, env, ttlMs);
        }
      },
      () => {
        stats.drops.unavailable++;
        this.sender.fail(s, 'RDV_ERR_UNAVAILABLE', frameId);
      },
    );
  }

  /**
   * Send a frame to another instance; its answer (or the timeout) settles frameId. `ttlMs` > 0
   * (a RELAY_TTL's) travels with it, for wherever the copy ends up mailboxed.
   */
  private forward(
    s: Session,
    frameId: number,
    channel: number,
    to: Uint8Array,
    toId: string,
    env: Buffer,
    inst: string,
    now: number,
    ttlMs: number,
  ): void {
    const { config, stats } = this.ctx;
    if (this.pending.size >= config.maxPendingRoutes) {
      stats.drops.busy++;
      this.sender.fail(s, 'RDV_ERR_BUSY', frameId);
      return;
    }
    const id = this.nextPendingId;
    this.nextPendingId = id >= 0xffffffff ? 1 : id + 1;
    this.pending.set(id, { s, frameId, toId, expires: now + config.routeTimeoutMs });
    stats.forwardedRemote++;
    this.ctx.out.push(inst, encodeRouteHeader(id, 1, this.ctx.selfIdBuf, to, channel, s.key!, env.length, ttlMs), env);
  }

  /**
   * The recipient is not connected anywhere: SIGNAL → PEER_OFFLINE; RELAY → mailbox, except a
   * live-only packet (handshake, transport) → PEER_OFFLINE, never stored.
   */
  private offlineLocal(s: Session, frameId: number, channel: number, to: Buffer, env: Buffer, ttlMs: number): void {
    if (channel === CH_SIGNAL || !isStorablePeerPacketBytes(env)) {
      this.ctx.stats.peerOffline++;
      this.sender.send(s, peerOfflineFrame(frameId, to));
      return;
    }
    this.mail.store(to, env, ttlMs).then((code) => {
      if (s.state !== SessionState.OPEN) return;
      if (code === null) this.sender.send(s, ackFrame(frameId, 1));
      else this.sender.fail(s, code, frameId);
    });
  }

  // ---------------------------------------------------------------- from other instances

  private handleRecord(r: RouteBatchRecord): void {
    const { sessions, stats } = this.ctx;
    switch (r.kind) {
      case RecordKind.ROUTE: {
        const target = sessions.get(r.toId);
        if (target !== undefined && this.sender.busy(target)) {
          stats.drops.recipient_busy++;
          this.reply(r.replyTo, r.pendingId, ReplyResult.ERROR, 'RDV_ERR_RECIPIENT_BUSY');
          return;
        }
        if (target !== undefined && this.sender.send(target, r.deliver)) {
          stats.remoteDelivered++;
          stats.forwardedBytes += r.deliver.length - 2 - KEY_BYTES;
          this.noteDelivered(r.replyTo, r.pendingId);
          return;
        }
        this.remoteMiss(r);
        return;
      }
      case RecordKind.DELIVERED: {
        const runs = r.runs;
        for (let o = 0; o < runs.length; o += DELIVERED_RUN_BYTES) {
          const first = runs.readUInt32BE(o);
          const n = runs.readUInt16BE(o + 4);
          for (let k = 0; k < n; k++) this.settleDelivered(first + k);
        }
        return;
      }
      case RecordKind.REPLY: {
        if (r.result === ReplyResult.DELIVERED) {
          this.settleDelivered(r.pendingId);
          return;
        }
        const p = this.pending.get(r.pendingId);
        if (p === undefined) return; // already timed out: the sender got ROUTE_TIMEOUT
        this.pending.delete(r.pendingId);
        const s = p.s;
        if (s.state !== SessionState.OPEN) return;
        if (r.result === ReplyResult.QUEUED) this.sender.send(s, ackFrame(p.frameId, 1));
        else if (r.result === ReplyResult.OFFLINE) {
          stats.peerOffline++;
          this.cache.delete(p.toId);
          this.sender.send(s, peerOfflineFrame(p.frameId, Buffer.from(p.toId, 'latin1')));
        } else {
          const code = (r.code in RDV_ERRORS ? r.code : 'RDV_ERR_INTERNAL') as RendezvousErrorCode;
          this.sender.fail(s, RDV_ERRORS[code].close === null ? code : 'RDV_ERR_INTERNAL', p.frameId);
        }
        return;
      }
      case RecordKind.MAIL: {
        const target = sessions.get(r.key.toString('latin1'));
        if (target !== undefined && target.state === SessionState.OPEN) this.mail.deliver(target).catch(() => {});
        return;
      }
      case RecordKind.KICK: {
        const target = sessions.get(r.key.toString('latin1'));
        if (target !== undefined && target.since <= r.since) this.replace(target);
        return;
      }
      case RecordKind.REPLAY: {
        // A batch of a dead instance link, through Redis: processed unless the link already delivered it.
        const links = this.ctx.links;
        if (links !== null && !links.acceptReplay(r.stream, r.seq)) return;
        if (!forEachRecord(r.records, this.onRecord, false)) this.ctx.log.warn('malformed replayed batch ignored');
        return;
      }
    }
  }

  /** A cross-instance frame was delivered: ACK its sender (unless it timed out or left meanwhile). */
  private settleDelivered(pendingId: number): void {
    const p = this.pending.get(pendingId);
    if (p === undefined) return; // already timed out: the sender got ROUTE_TIMEOUT
    this.pending.delete(pendingId);
    if (p.s.state === SessionState.OPEN) this.sender.send(p.s, ackFrame(p.frameId, 0));
  }

  /** Remember a DELIVERED answer for `instance`; answerDelivered sends them at the end of the batch. */
  private noteDelivered(instance: string, pendingId: number): void {
    let runs = this.delivered.get(instance);
    if (runs === undefined) {
      runs = [];
      this.delivered.set(instance, runs);
    }
    const n = runs.length;
    // pendingIds are consecutive per sending instance, so a batch's answers are usually one run.
    if (n > 0 && runs[n - 2]! + runs[n - 1]! === pendingId && runs[n - 1]! < DELIVERED_RUN_MAX) runs[n - 1]!++;
    else runs.push(pendingId, 1);
  }

  /**
   * Send the batch's DELIVERED answers: one DELIVERED record per instance that has an open
   * instance link (it speaks link version 2, which knows the record), else one REPLY per frame
   * (an instance reached through Redis only may run a version without DELIVERED).
   */
  private answerDelivered(): void {
    if (this.delivered.size === 0) return;
    const links = this.ctx.links;
    for (const [instance, runs] of this.delivered) {
      if (links !== null && links.linkTo(instance) !== null) {
        this.ctx.out.push(instance, encodeDelivered(runs));
        continue;
      }
      for (let i = 0; i < runs.length; i += 2)
        for (let k = 0; k < runs[i + 1]!; k++) this.reply(instance, runs[i]! + k, ReplyResult.DELIVERED, '');
    }
    this.delivered.clear();
  }

  /** A routed frame for a key this instance does not serve (stale route, or it just left). */
  private remoteMiss(r: RouteRecord): void {
    const { broker, selfId, out } = this.ctx;
    const to = Buffer.from(r.toId, 'latin1');
    if (r.hops >= ROUTE_MAX_HOPS || !broker.isReady()) {
      this.remoteOffline(r, to);
      return;
    }
    broker.lookup(to.toString('base64url')).then(
      (claim) => {
        const inst = claim === null ? null : instanceOf(claim);
        if (inst !== null && inst !== selfId) {
          const replyTo = Buffer.from(r.replyTo, 'latin1');
          const env = routeEnvelope(r);
          out.push(
            inst,
            encodeRouteHeader(r.pendingId, r.hops + 1, replyTo, to, r.channel, routeFrom(r), env.length, r.ttlMs),
            env,
          );
        } else {
          this.remoteOffline(r, to);
        }
      },
      () => this.reply(r.replyTo, r.pendingId, ReplyResult.ERROR, 'RDV_ERR_UNAVAILABLE'),
    );
  }

  private remoteOffline(r: RouteRecord, to: Buffer): void {
    if (r.channel === CH_SIGNAL || !isStorablePeerPacketBytes(routeEnvelope(r))) {
      this.reply(r.replyTo, r.pendingId, ReplyResult.OFFLINE, '');
      return;
    }
    this.mail.store(to, routeEnvelope(r), r.ttlMs).then((code) => {
      if (code === null) this.reply(r.replyTo, r.pendingId, ReplyResult.QUEUED, '');
      else this.reply(r.replyTo, r.pendingId, ReplyResult.ERROR, code);
    });
  }

  private reply(instance: string, pendingId: number, result: ReplyResult, code: string): void {
    this.ctx.out.push(instance, encodeReply(pendingId, result, code));
  }

  /** Answer RDV_ERR_ROUTE_TIMEOUT for cross-instance frames past ROUTE_TIMEOUT_MS. */
  sweepPending(): void {
    const now = Date.now();
    for (const [id, p] of this.pending) {
      if (p.expires > now) break; // insertion order = expiry order (one timeout for all)
      this.pending.delete(id);
      this.ctx.stats.drops.route_timeout++;
      if (p.s.state === SessionState.OPEN) this.sender.fail(p.s, 'RDV_ERR_ROUTE_TIMEOUT', p.frameId);
    }
  }
}
