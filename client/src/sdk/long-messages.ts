/**
 * Long messages in the client (client/src/files/long-message.ts): a `send` over
 * MAX_MESSAGE_BYTES is spooled to one owner-only file in the state directory and offered as a
 * message transfer under its message id; the recipient's side hands the verified whole to the
 * session's message gates (`Session.deliverLong`). To the caller it is one message: the same
 * `{ id, seq, to }` answer (seq -1: it travels outside the numbered stream), then
 * `message.delivered` once the recipient decided, or `message.failed` with a code. The spool
 * is what lets a restart of the sender resume the transfer; it is deleted when it ends.
 *
 * Order: a long message keeps its place among the short ones sent around it. It remembers the
 * stream position it was sent at; it is offered only once every short message before that
 * position is acknowledged, and short messages from that position on wait (Session
 * `setSendHold`) until it ended (delivered or failed). Long messages to one peer go one at a
 * time, in the order sent. The position is kept beside the spool (`<id>.json`), so a restart
 * keeps the order too. The recipient needs nothing new: what it is sent comes in order.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeKey, fromUtf8 } from '@p2p-comm/protocol';
import { ClientError } from '../errors.js';
import type { TransferFailure, TransferRef } from '../files/channel.js';
import type { FileTransfers } from '../files/engine.js';
import type { IncomingOffer } from '../files/incoming-record.js';
import {
  LONG_MESSAGE_MEDIA_TYPES,
  LONG_MESSAGE_OFFER_NAME,
  type LongMessageEncoding,
  type LongMessageSink,
  longMessageEncoding,
} from '../files/long-message.js';
import type { OutgoingBody, Session } from '../session/session.js';
import type { PathKind } from '../transports/link.js';

/** Directory of outgoing long messages waiting to be sent whole, inside the state directory. */
export const LONG_MESSAGE_SPOOL_DIR = 'long-messages-out';
/**
 * Incoming long-message transfers remembered as such (so their transfer events are not shown
 * as files), entries; oldest forgotten. Above FILE_MAX_PENDING_OFFERS + FILE_MAX_INCOMING.
 */
const LONG_MESSAGE_TRACKED_INCOMING = 256;
/**
 * Outgoing long messages queued or being sent, across all peers, messages (each is a spool
 * file). Over it, `send` fails with CLIENT_ERR_OUTBOX_FULL. At most FILE_MAX_OUTGOING are
 * offered at once anyway: one per peer at a time.
 */
export const LONG_MESSAGE_MAX_OUTGOING = 64;

/** An outgoing long message, in its peer's queue. */
interface Queued {
  id: string;
  peer: string;
  enc: LongMessageEncoding;
  path: string;
  /** The stream position it was sent at: short messages from there on wait for it. */
  stream: string;
  seq: number;
  /** Send order (ms × 1024, strictly increasing): the queue's order, across restarts. */
  order: number;
  /** Offered to the engine (it is being sent). */
  started: boolean;
}

const SIDECAR_SUFFIX = '.json';

/** A sidecar read back from disk, checked (the file may be damaged): null when unusable. */
function readSidecar(path: string): Omit<Queued, 'path' | 'started'> | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    if (
      typeof v.id === 'string' &&
      /^[0-9a-f]{32}$/.test(v.id) &&
      typeof v.peer === 'string' &&
      (v.enc === 'text' || v.enc === 'bytes') &&
      typeof v.stream === 'string' &&
      Number.isSafeInteger(v.seq) &&
      Number.isSafeInteger(v.order)
    )
      return {
        id: v.id,
        peer: v.peer,
        enc: v.enc,
        stream: v.stream,
        seq: v.seq as number,
        order: v.order as number,
      };
  } catch {
    // unreadable: treated as absent
  }
  return null;
}

export interface LongMessagesDeps {
  session: Session;
  stateDir: string;
  /** Largest long message, bytes (validated config). */
  maxBytes: number;
  /** The transfer engine (made after this object: it takes `sink`). */
  engine: () => FileTransfers;
  bestPath: (peer: string) => string | undefined;
  emitDelivered: (d: { id: string; to: string; seq: number }) => void;
  emitFailed: (f: { id: string; to: string; code: string }) => void;
}

/** The failure code a caller sees for a long message that did not make it. */
function messageCode(fileCode: string): string {
  if (fileCode === 'CLIENT_ERR_FILE_TOO_LARGE') return 'CLIENT_ERR_MESSAGE_TOO_LARGE';
  if (fileCode === 'CLIENT_ERR_FILE_DECLINED') return 'CLIENT_ERR_NOT_TRUSTED';
  return fileCode;
}

export class LongMessages {
  readonly #d: LongMessagesDeps;
  readonly #spool: string;
  /** Outgoing long messages: "<peer>/<id>" → spool file. At most LONG_MESSAGE_MAX_OUTGOING. */
  readonly #out = new Map<string, string>();
  /** Outgoing long messages per peer, in send order; the head is the one being sent or next. */
  readonly #queues = new Map<string, Queued[]>();
  /** The last `order` given or restored: the next is above it. */
  #lastOrder = 0;
  /** Incoming long-message transfers, "<peer>/<id>" (bounded by LONG_MESSAGE_TRACKED_INCOMING). */
  readonly #in = new Set<string>();
  readonly sink: LongMessageSink;

  constructor(d: LongMessagesDeps) {
    this.#d = d;
    this.#spool = join(d.stateDir, LONG_MESSAGE_SPOOL_DIR);
    this.sink = {
      maxBytes: d.maxBytes,
      accepts: (peer, id) => {
        if (d.session.peerInfo(peer).state !== 'trusted') return false;
        this.#track(`${peer}/${id}`);
        return true;
      },
      deliver: (offer, enc, body, commit) => this.#deliver(offer, enc, body, commit),
    };
    // Short messages wait behind the oldest long message of their peer.
    d.session.setSendHold((peer) => {
      const head = this.#queues.get(peer)?.[0];
      return head ? { stream: head.stream, seq: head.seq } : null;
    });
    // Each ack of a short message may let the long message behind it go; a revoke ends them.
    d.session.on('message.delivered', (m) => this.#advance(m.to));
    d.session.on('peer.status', (st) => st.state !== 'trusted' && this.#advance(st.key));
  }

  /** True for the events of a long-message transfer (not shown as a file). */
  owns(r: TransferRef): boolean {
    return r.direction === 'out' ? this.#out.has(`${r.peer}/${r.id}`) : this.#in.has(`${r.peer}/${r.id}`);
  }

  /**
   * After the engine resumed: follow the long messages still being sent, queue again the ones
   * not offered yet (in their order), drop orphaned spools.
   */
  start(): void {
    mkdirSync(this.#spool, { recursive: true, mode: 0o700 });
    const names = new Set(readdirSync(this.#spool));
    const sending = new Map(
      this.#d
        .engine()
        .sender.list()
        .map((t) => [t.id, t]),
    );
    const kept = new Set<string>();
    for (const name of names) {
      if (!name.endsWith(SIDECAR_SUFFIX)) continue;
      const meta = readSidecar(join(this.#spool, name));
      if (meta === null || !names.has(meta.id) || `${meta.id}${SIDECAR_SUFFIX}` !== name) continue;
      const path = join(this.#spool, meta.id);
      this.#enqueue({ ...meta, path, started: sending.has(meta.id) });
      kept.add(meta.id);
      kept.add(name);
    }
    // A spool the engine still sends but without its position (written by an older version):
    // followed, holding nothing back.
    for (const [id, t] of sending) {
      if (!names.has(id) || kept.has(id)) continue;
      this.#enqueue({
        id,
        peer: t.peer,
        enc: 'bytes',
        path: join(this.#spool, id),
        stream: '',
        seq: 0,
        order: 0,
        started: true,
      });
      kept.add(id);
    }
    for (const name of names) if (!kept.has(name)) this.#unlink(join(this.#spool, name));
    // Incoming ones restored after our restart: still long messages, not files.
    for (const t of this.#d.engine().receiver.list())
      if (longMessageEncoding(t.mediaType)) this.#track(`${t.peer}/${t.id}`);
    for (const peer of [...this.#queues.keys()]) this.#advance(peer);
  }

  /**
   * Send `body` (over MAX_MESSAGE_BYTES, at most `maxBytes`) to the trusted `peer` as one
   * long message. Synchronous like a short send: the id is known at once; a failure to start
   * the transfer comes as `message.failed`.
   */
  send(peer: string, body: OutgoingBody): { id: string; seq: number; to: string } {
    const enc: LongMessageEncoding = 'text' in body ? 'text' : 'bytes';
    const bytes = 'text' in body ? Buffer.from(body.text, 'utf8') : body.data;
    if (bytes.length > this.#d.maxBytes)
      throw new ClientError('CLIENT_ERR_MESSAGE_TOO_LARGE', `${bytes.length} > ${this.#d.maxBytes} bytes`, {
        limit: this.#d.maxBytes,
      });
    if (this.#out.size >= LONG_MESSAGE_MAX_OUTGOING)
      throw new ClientError('CLIENT_ERR_OUTBOX_FULL', `${this.#out.size} long messages`, {
        limit: LONG_MESSAGE_MAX_OUTGOING,
      });
    const id = randomBytes(16).toString('hex');
    const path = join(this.#spool, id);
    mkdirSync(this.#spool, { recursive: true, mode: 0o700 });
    writeFileSync(path, bytes, { mode: 0o600 });
    const { stream, seq } = this.#d.session.streamPosition(peer);
    const order = Math.max(this.#lastOrder + 1, Date.now() * 1024);
    // The position beside the spool, renamed into place whole: a restart keeps the order.
    const sidecar = `${path}${SIDECAR_SUFFIX}`;
    writeFileSync(`${sidecar}.tmp`, JSON.stringify({ id, peer, enc, stream, seq, order }), { mode: 0o600 });
    renameSync(`${sidecar}.tmp`, sidecar);
    this.#enqueue({ id, peer, enc, path, stream, seq, order, started: false });
    // Start the handshake now, while earlier messages are acked and the spool is hashed: the
    // first OFFER then finds a session instead of waiting a FILE_RESEND_MS for its retry.
    if (!this.#d.session.sessions.has(peer)) this.#d.session.sessions.ensure(peer, decodeKey(peer));
    this.#advance(peer);
    return { id, seq: -1, to: peer };
  }

  #enqueue(q: Queued): void {
    this.#lastOrder = Math.max(this.#lastOrder, q.order);
    this.#out.set(`${q.peer}/${q.id}`, q.path);
    const list = this.#queues.get(q.peer) ?? [];
    list.push(q);
    list.sort((a, b) => a.order - b.order);
    this.#queues.set(q.peer, list);
  }

  /** Offer the peer's next long message once every short message before it is acknowledged. */
  #advance(peer: string): void {
    const head = this.#queues.get(peer)?.[0];
    if (!head || head.started) return;
    const state = this.#d.session.peerInfo(peer).state;
    if (state === 'revoked' || state === 'revoked-by-peer') {
      // Its short messages were dropped with the trust: it will never go either.
      this.#d.emitFailed({ id: head.id, to: peer, code: 'CLIENT_ERR_REVOKED' });
      this.#end(peer, head.id); // and the next one, the same way
      return;
    }
    if (this.#d.session.unackedBefore(peer, head)) return;
    head.started = true;
    this.#d
      .engine()
      .send(peer, head.path, {
        id: head.id,
        name: LONG_MESSAGE_OFFER_NAME,
        mediaType: LONG_MESSAGE_MEDIA_TYPES[head.enc],
      })
      .catch((err: unknown) => {
        const code = (err as { code?: unknown }).code;
        this.#d.emitFailed({ id: head.id, to: peer, code: typeof code === 'string' ? code : 'CLIENT_ERR_FILE_FAILED' });
        this.#end(peer, head.id);
      });
  }

  /** A long message ended (either way): forget it, let the short messages behind it go, then the next long one. */
  #end(peer: string, id: string): void {
    const key = `${peer}/${id}`;
    const path = this.#out.get(key);
    this.#out.delete(key);
    if (path !== undefined) {
      this.#unlink(`${path}${SIDECAR_SUFFIX}`);
      this.#unlink(path);
    }
    const list = this.#queues.get(peer);
    if (list) {
      const i = list.findIndex((q) => q.id === id);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#queues.delete(peer);
    }
    this.#d.session.pump(peer);
    this.#advance(peer);
  }

  /** An outgoing transfer ended well: the recipient decided on the whole message. */
  done(r: TransferRef): void {
    if (r.direction === 'in') return;
    if (!this.#out.has(`${r.peer}/${r.id}`)) return;
    // Told before the messages behind it go: the events come in the order of the messages.
    this.#d.emitDelivered({ id: r.id, to: r.peer, seq: -1 });
    this.#end(r.peer, r.id);
  }

  failed(f: TransferFailure): void {
    const key = `${f.peer}/${f.id}`;
    if (f.direction === 'in') {
      this.#in.delete(key);
      return;
    }
    if (!this.#out.has(key)) return;
    this.#d.emitFailed({ id: f.id, to: f.peer, code: messageCode(f.code) });
    this.#end(f.peer, f.id);
  }

  async #deliver(offer: IncomingOffer, enc: LongMessageEncoding, body: Buffer, commit: () => boolean): Promise<void> {
    if (enc === 'text' && fromUtf8(body) === null)
      throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'text body is not UTF-8');
    const kind = this.#d.bestPath(offer.peer);
    const via: PathKind = kind === 'direct' || kind === 'webrtc' ? kind : 'relay';
    try {
      await this.#d.session.deliverLong(offer.peer, { id: offer.id, enc, body }, via, commit);
    } finally {
      this.#in.delete(`${offer.peer}/${offer.id}`);
    }
  }

  #track(key: string): void {
    this.#in.add(key);
    if (this.#in.size > LONG_MESSAGE_TRACKED_INCOMING) this.#in.delete(this.#in.values().next().value!);
  }

  #unlink(path: string): void {
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
  }
}
