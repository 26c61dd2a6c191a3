/**
 * Long messages in the client (client/src/files/long-message.ts): a `send` over
 * MAX_MESSAGE_BYTES is spooled to one owner-only file in the state directory and offered as a
 * message transfer under its message id; the recipient's side hands the verified whole to the
 * session's message gates (`Session.deliverLong`). To the caller it is one message: the same
 * `{ id, seq, to }` answer (seq -1: it travels outside the numbered stream), then
 * `message.delivered` once the recipient decided, or `message.failed` with a code. The spool
 * is what lets a restart of the sender resume the transfer; it is deleted when it ends.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
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
  /** Outgoing long messages: "<peer>/<id>" → spool file. Bounded by the engine's FILE_MAX_OUTGOING. */
  readonly #out = new Map<string, string>();
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
  }

  /** True for the events of a long-message transfer (not shown as a file). */
  owns(r: TransferRef): boolean {
    return r.direction === 'out' ? this.#out.has(`${r.peer}/${r.id}`) : this.#in.has(`${r.peer}/${r.id}`);
  }

  /** After the engine resumed: follow the long messages still being sent, drop orphaned spools. */
  start(): void {
    mkdirSync(this.#spool, { recursive: true, mode: 0o700 });
    // A spool file is named by its message (= transfer) id: one the sender still sends is live.
    const spooled = new Set(readdirSync(this.#spool));
    const live = new Set<string>();
    for (const t of this.#d.engine().sender.list()) {
      if (!spooled.has(t.id)) continue;
      this.#out.set(`${t.peer}/${t.id}`, join(this.#spool, t.id));
      live.add(t.id);
    }
    for (const name of spooled) if (!live.has(name)) this.#unlink(join(this.#spool, name));
    // Incoming ones restored after our restart: still long messages, not files.
    for (const t of this.#d.engine().receiver.list())
      if (longMessageEncoding(t.mediaType)) this.#track(`${t.peer}/${t.id}`);
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
    const id = randomBytes(16).toString('hex');
    const path = join(this.#spool, id);
    mkdirSync(this.#spool, { recursive: true, mode: 0o700 });
    writeFileSync(path, bytes, { mode: 0o600 });
    const key = `${peer}/${id}`;
    this.#out.set(key, path);
    // Start the handshake now, while the spool is hashed: the first OFFER then finds a session
    // instead of waiting a FILE_RESEND_MS for its retry.
    if (!this.#d.session.sessions.has(peer)) this.#d.session.sessions.ensure(peer, decodeKey(peer));
    this.#d
      .engine()
      .send(peer, path, { id, name: LONG_MESSAGE_OFFER_NAME, mediaType: LONG_MESSAGE_MEDIA_TYPES[enc] })
      .catch((err: unknown) => {
        this.#out.delete(key);
        this.#unlink(path);
        const code = (err as { code?: unknown }).code;
        this.#d.emitFailed({ id, to: peer, code: typeof code === 'string' ? code : 'CLIENT_ERR_FILE_FAILED' });
      });
    return { id, seq: -1, to: peer };
  }

  /** An outgoing transfer ended well: the recipient decided on the whole message. */
  done(r: TransferRef): void {
    if (r.direction === 'in') return;
    const path = this.#out.get(`${r.peer}/${r.id}`);
    if (path === undefined) return;
    this.#out.delete(`${r.peer}/${r.id}`);
    this.#unlink(path);
    this.#d.emitDelivered({ id: r.id, to: r.peer, seq: -1 });
  }

  failed(f: TransferFailure): void {
    const key = `${f.peer}/${f.id}`;
    if (f.direction === 'in') {
      this.#in.delete(key);
      return;
    }
    const path = this.#out.get(key);
    if (path === undefined) return;
    this.#out.delete(key);
    this.#unlink(path);
    this.#d.emitFailed({ id: f.id, to: f.peer, code: messageCode(f.code) });
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
