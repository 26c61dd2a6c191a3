/**
 * One instance link: a TCP connection to another instance of the fleet, authenticated both ways
 * with the cluster secret (codec.ts linkMac), then carrying route batches each way. Every batch
 * sent is kept until the peer acknowledges it (bounded by LINK_UNACKED_MAX_BYTES), so a link
 * that dies hands its unacknowledged batches back for a replay through Redis (manager.ts).
 *
 * A Link knows nothing of routing: it calls `onBatch` with each received batch's records and
 * `onClosed` once, with what was never acknowledged.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { isRendezvousError, type RendezvousErrorCode } from '../errors.js';
import {
  ackFrame,
  BATCH_HEADER_BYTES,
  BodyReader,
  batchHeader,
  challengeFrame,
  checkPreamble,
  errorFrame,
  FrameReader,
  helloFrame,
  LinkFrame,
  linkMac,
  MAC_BYTES,
  malformed,
  NONCE_BYTES,
  PREAMBLE_BYTES,
  preamble,
  STREAM_BYTES,
  splitBatchRecords,
  welcomeFrame,
} from './codec.js';
import {
  LINK_GATHER_BELOW_BYTES,
  LINK_HANDSHAKE_MAX_BYTES,
  LINK_HANDSHAKE_TIMEOUT_MS,
  LINK_MAX_SEQ,
  LINK_UNACKED_MAX_BYTES,
} from './constants.js';

const INSTANCE_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const LinkState = Object.freeze({ PREAMBLE: 0, HANDSHAKE: 1, OPEN: 2, CLOSED: 3 } as const);
type LinkState = (typeof LinkState)[keyof typeof LinkState];

/** A batch sent and not yet acknowledged: the bytes exactly as sent, for a replay. */
export interface Unacked {
  seq: number;
  /** The batch's records: one buffer or the chunks that make it, in order. */
  chunks: Buffer[];
  bytes: number;
}

export interface LinkHooks {
  readonly selfId: string;
  readonly secret: Buffer;
  readonly maxFrame: number;
  /**
   * Acceptor: the dialer proved the secret and is `peerId`; answer false to refuse the link (it
   * is closed without WELCOME). Dialer: the acceptor proved it; false closes our own dial.
   */
  authenticated(link: Link): boolean;
  /**
   * A received BATCH's records, as regions of whole records (views of the reads; a record that
   * spanned two reads is a copy of its own). Return false when they do not decode: the link closes.
   */
  onBatch(link: Link, seq: number, records: Buffer[]): boolean;
  /** Once, when the link ends for any reason, with the batches the peer never acknowledged, oldest first. */
  onClosed(link: Link, code: RendezvousErrorCode | null, unacked: Unacked[]): void;
}

export class Link {
  state: LinkState = LinkState.PREAMBLE;
  /** The other instance's id: known up front when we dial, from HELLO when we accept. */
  peerId: string;
  /** Our outgoing direction's stream id (the peer dedupes our replays by it). */
  readonly outStream = randomBytes(STREAM_BYTES);
  /** The peer's outgoing stream id, latin1 (set at authentication). */
  inStream = '';
  /** Last batch sequence processed from the peer (what our ACKs say). */
  lastIn = 0;
  private seqOut = 0;
  private readonly unacked: Unacked[] = [];
  private unackedHead = 0;
  unackedBytes = 0;
  /**
   * Keepalive ticks (manager.ts, every LINK_KEEPALIVE_MS) since the peer last sent anything.
   * Counted in our own ticks, not wall time: a turn of ours that was late (a busy core) finds the
   * peer's bytes still unread, and must not mistake its own stall for the peer's silence.
   */
  silentTicks = 0;
  private ackScheduled = false;
  /** The last `lastIn` the peer was told (in an ACK or a BATCH): no ACK frame is due while it is current. */
  private ackSent = 0;
  private readonly nonce = randomBytes(NONCE_BYTES);
  private theirNonce: Buffer | null = null;
  private pre: Buffer | null = Buffer.alloc(0);
  private readonly reader: FrameReader;
  private handshakeTimer: NodeJS.Timeout | null;

  constructor(
    readonly socket: Socket,
    readonly role: 'dialer' | 'acceptor',
    private readonly hooks: LinkHooks,
    expectedPeer = '',
  ) {
    this.peerId = expectedPeer;
    this.reader = new FrameReader(LINK_HANDSHAKE_MAX_BYTES, (f) => this.onFrame(f));
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close(null));
    socket.on('close', () => this.close(null));
    this.handshakeTimer = setTimeout(() => this.fail('RDV_ERR_LINK_AUTH_FAILED'), LINK_HANDSHAKE_TIMEOUT_MS);
    this.handshakeTimer.unref();
    socket.cork();
    socket.write(preamble());
    if (role === 'acceptor') socket.write(challengeFrame(this.nonce));
    socket.uncork();
  }

  get open(): boolean {
    return this.state === LinkState.OPEN;
  }

  /** The instance that dialed this link (the tie-break between two simultaneous dials). */
  get dialedBy(): string {
    return this.role === 'dialer' ? this.hooks.selfId : this.peerId;
  }

  private onData(chunk: Buffer): void {
    if (this.state === LinkState.CLOSED) return;
    this.silentTicks = 0;
    try {
      if (this.pre !== null) {
        const need = PREAMBLE_BYTES - this.pre.length;
        this.pre = Buffer.concat([this.pre, chunk.subarray(0, need)]);
        if (this.pre.length < PREAMBLE_BYTES) return;
        checkPreamble(this.pre);
        this.pre = null;
        this.state = LinkState.HANDSHAKE;
        chunk = chunk.subarray(need);
        if (chunk.length === 0) return;
      }
      this.reader.push(chunk);
    } catch (err) {
      this.fail(isRendezvousError(err) ? err.code : 'RDV_ERR_LINK_MALFORMED');
    }
  }

  private onFrame(f: Buffer): void {
    if (this.state === LinkState.CLOSED) return;
    const type = f[0]!;
    if (type === LinkFrame.ERROR) {
      const r = new BodyReader(f);
      const code = r.str8();
      this.close((code.startsWith('RDV_ERR_LINK_') ? code : 'RDV_ERR_LINK_MALFORMED') as RendezvousErrorCode);
      return;
    }
    if (this.state === LinkState.OPEN) {
      if (type === LinkFrame.BATCH) {
        if (f.length < BATCH_HEADER_BYTES - 4) throw malformed('short BATCH');
        this.onBatchFrame(f.readUInt32BE(1), f.readUInt32BE(5), [f.subarray(BATCH_HEADER_BYTES - 4)]);
        return;
      }
      if (type === LinkFrame.ACK) {
        const r = new BodyReader(f);
        const seq = r.u32();
        r.end();
        this.acked(seq);
        return;
      }
      throw malformed(`frame type ${type} on an open link`);
    }
    if (this.role === 'acceptor' && type === LinkFrame.HELLO) this.onHello(f);
    else if (this.role === 'dialer' && type === LinkFrame.CHALLENGE && this.theirNonce === null) this.onChallenge(f);
    else if (this.role === 'dialer' && type === LinkFrame.WELCOME && this.theirNonce !== null) this.onWelcome(f);
    else throw malformed(`frame type ${type} during the handshake`);
  }

  /** A frame that spanned reads (FrameReader onSplitFrame, once open): a BATCH keeps its records' views. */
  private onSplitFrame(parts: Buffer[], length: number): void {
    if (this.state !== LinkState.OPEN) return;
    if (parts[0]![0] !== LinkFrame.BATCH) {
      this.onFrame(Buffer.concat(parts, length));
      return;
    }
    const { seq, ack, regions } = splitBatchRecords(parts, length);
    this.onBatchFrame(seq, ack, regions);
  }

  private onBatchFrame(seq: number, ack: number, regions: Buffer[]): void {
    // TCP keeps order: a sequence past the next one means a broken peer.
    if (seq > this.lastIn + 1) throw malformed(`BATCH ${seq} after ${this.lastIn}`);
    this.acked(ack);
    if (!this.hooks.onBatch(this, seq, regions)) throw malformed('route records do not decode');
    if (seq > this.lastIn) this.lastIn = seq;
    this.scheduleAck();
  }

  private onChallenge(f: Buffer): void {
    const r = new BodyReader(f);
    const challenge = r.bytes(NONCE_BYTES);
    r.end();
    this.theirNonce = Buffer.from(challenge);
    const { selfId, secret } = this.hooks;
    const mac = linkMac(secret, 'dial', this.theirNonce, this.nonce, this.outStream, selfId, this.peerId);
    this.socket.write(helloFrame(this.nonce, this.outStream, selfId, this.peerId, mac));
  }

  private onHello(f: Buffer): void {
    const r = new BodyReader(f);
    const theirNonce = Buffer.from(r.bytes(NONCE_BYTES));
    const stream = Buffer.from(r.bytes(STREAM_BYTES));
    const dialerId = r.str8();
    const acceptorId = r.str8();
    const mac = r.bytes(MAC_BYTES);
    r.end();
    const { selfId, secret } = this.hooks;
    const want = linkMac(secret, 'dial', this.nonce, theirNonce, stream, dialerId, acceptorId);
    // Constant time over the MAC; the ids are checked after it, so a guess learns nothing early.
    const macOk = timingSafeEqual(want, mac);
    if (!macOk || acceptorId !== selfId || !INSTANCE_ID.test(dialerId) || dialerId === selfId) {
      this.fail('RDV_ERR_LINK_AUTH_FAILED');
      return;
    }
    this.peerId = dialerId;
    this.inStream = stream.toString('latin1');
    if (!this.hooks.authenticated(this)) {
      this.close(null);
      return;
    }
    const answer = linkMac(secret, 'accept', theirNonce, this.nonce, this.outStream, selfId, dialerId);
    this.socket.write(welcomeFrame(this.outStream, selfId, answer));
    this.opened();
  }

  private onWelcome(f: Buffer): void {
    const r = new BodyReader(f);
    const stream = Buffer.from(r.bytes(STREAM_BYTES));
    const acceptorId = r.str8();
    const mac = r.bytes(MAC_BYTES);
    r.end();
    const { selfId, secret } = this.hooks;
    const want = linkMac(secret, 'accept', this.nonce, this.theirNonce!, stream, acceptorId, selfId);
    if (!timingSafeEqual(want, mac) || acceptorId !== this.peerId) {
      this.fail('RDV_ERR_LINK_AUTH_FAILED');
      return;
    }
    this.inStream = stream.toString('latin1');
    this.opened();
    if (!this.hooks.authenticated(this)) this.close(null);
  }

  private opened(): void {
    this.state = LinkState.OPEN;
    this.reader.maxFrame = this.hooks.maxFrame;
    this.reader.onSplitFrame = (parts, length) => this.onSplitFrame(parts, length);
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }

  /**
   * Send one batch (its records as `chunks`, `bytes` in all). False when the link cannot take it
   * (not open, over LINK_UNACKED_MAX_BYTES, or out of sequence numbers): the caller sends it
   * another way and closes the link. Small chunks are gathered into one buffer (one copy, one
   * iovec); large ones are written as they are (no copy; one writev under cork).
   */
  sendBatch(chunks: Buffer[], bytes: number): boolean {
    if (this.state !== LinkState.OPEN) return false;
    if (this.unackedBytes + bytes > LINK_UNACKED_MAX_BYTES || this.seqOut >= LINK_MAX_SEQ) return false;
    const seq = ++this.seqOut;
    const sock = this.socket;
    if (chunks.length === 1 || bytes < LINK_GATHER_BELOW_BYTES * chunks.length) {
      const b = Buffer.allocUnsafe(BATCH_HEADER_BYTES + bytes);
      batchHeader(seq, this.lastIn, bytes, b);
      let o = BATCH_HEADER_BYTES;
      for (const c of chunks) o += c.copy(b, o);
      sock.write(b);
      this.unacked.push({ seq, chunks: [b.subarray(BATCH_HEADER_BYTES)], bytes });
    } else {
      sock.cork();
      sock.write(batchHeader(seq, this.lastIn, bytes));
      for (const c of chunks) sock.write(c);
      sock.uncork();
      this.unacked.push({ seq, chunks, bytes });
    }
    this.unackedBytes += bytes;
    this.ackSent = this.lastIn;
    return true;
  }

  private acked(seq: number): void {
    if (seq > this.seqOut) throw malformed(`ACK ${seq} of a batch never sent`);
    this.release(seq);
  }

  private release(seq: number): void {
    const u = this.unacked;
    let h = this.unackedHead;
    while (h < u.length && u[h]!.seq <= seq) this.unackedBytes -= u[h++]!.bytes;
    if (h === u.length) {
      u.length = 0;
      h = 0;
    } else if (h > 1024) {
      u.splice(0, h);
      h = 0;
    }
    this.unackedHead = h;
  }

  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      // The replies of this turn usually left first (outbound.ts flushes in an earlier
      // setImmediate) and carried the ACK already.
      if (this.ackSent !== this.lastIn) this.sendAck();
    });
  }

  /** ACK the last processed batch; also the keepalive (manager.ts calls it every LINK_KEEPALIVE_MS). */
  sendAck(): void {
    if (this.state !== LinkState.OPEN) return;
    this.socket.write(ackFrame(this.lastIn));
    this.ackSent = this.lastIn;
  }

  /** Tell the peer why (a RDV_ERR_LINK_* code) and close. */
  fail(code: RendezvousErrorCode): void {
    if (this.state === LinkState.CLOSED) return;
    if (this.socket.writable) this.socket.end(errorFrame(code));
    this.close(code);
  }

  /** End the link (idempotent): the socket is destroyed and `onClosed` gets the unacknowledged batches. */
  close(code: RendezvousErrorCode | null): void {
    if (this.state === LinkState.CLOSED) return;
    const wasOpen = this.state === LinkState.OPEN;
    this.state = LinkState.CLOSED;
    if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    if (code === null || !this.socket.writableEnded) this.socket.destroy();
    else setTimeout(() => this.socket.destroy(), 100).unref(); // let the ERROR frame leave
    const left = wasOpen ? this.unacked.slice(this.unackedHead) : [];
    this.unacked.length = 0;
    this.unackedHead = 0;
    this.unackedBytes = 0;
    this.hooks.onClosed(this, code, left);
  }
}
