import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import { ClientError, type ClientErrorCode } from '../errors.js';
import type { TransferChannel, TransferFailure, TransferProgress, TransferRef } from './channel.js';
import { admitChunk } from './chunk-intake.js';
import {
  FILE_APPROVAL_TIMEOUT_MS,
  FILE_MAX_BYTES,
  FILE_PERSIST_EVERY_CHUNKS,
  FILE_RECEIVE_BUDGET_BYTES,
  FILE_RESEND_MAX_MS,
  FILE_RESEND_MS,
  FILE_WINDOW_BYTES,
} from './constants.js';
import { FinishedTransfers } from './finished-transfers.js';
import { type IncomingOffer, type IncomingRecord, isIncomingRecord } from './incoming-record.js';
import { type Incoming, keyOf, newIncoming, receivedBytes, remainingBytes } from './incoming-transfer.js';
import { isDiskFull, landFile, partialPath, removePartial } from './landing.js';
import {
  type LongMessageEncoding,
  type LongMessageSink,
  longMessageEncoding,
  screenLongOffer,
} from './long-message.js';
import { type ApproveOffer, askHost, declinedRecord, screenOffer, spaceFor } from './offer-gate.js';
import { createPartial, type OpenPartial, reopenPartial } from './partial-file.js';
import { ReceiverCredit } from './receiver-credit.js';
import { TransferStore } from './transfer-store.js';
import {
  encodeTransferMessage,
  type Offer,
  REASON_ERROR,
  type TransferMessage,
  TransferMessageType,
  type TransferReasonName,
} from './wire.js';

export type { ApproveOffer, IncomingOffer, IncomingRecord };

export interface FileReceiverOptions {
  channel: TransferChannel;
  stateDir: string;
  /** Root of the inbox: files land in `<inboxDir>/<peer>/`. Usually NEXUS_HOME/inbox. */
  inboxDir: string;
  approve: ApproveOffer;
  /**
   * Credit per transfer, bytes (default FILE_WINDOW_BYTES, safe on the relay). A function is
   * asked at every allocation with the sender's key, so the host can give a peer on a direct or
   * WebRTC path a larger window than one behind the relay.
   */
  windowBytes?: number | ((peer: string) => number);
  /**
   * Credit across all incoming transfers, bytes, or per sender's key: each allocation uses the
   * smallest of the active senders' budgets, so one relayed sender keeps the relay-safe bound.
   */
  budgetBytes?: number | ((peer: string) => number);
  maxFileBytes?: number;
  /** Most bytes the inbox may hold (landed + in progress); unset = no quota. */
  quotaBytes?: number;
  approvalTimeoutMs?: number;
  resendMs?: number;
  resendMaxMs?: number;
  /** Where long messages go (long-message.ts); without it an offer of one is declined. */
  messages?: LongMessageSink;
}

export interface FileReceiverEvents {
  offer: [IncomingOffer];
  accepted: [TransferRef];
  progress: [TransferProgress];
  done: [TransferRef & { path: string; size: number; name: string; sha256: string }];
  failed: [TransferFailure];
}

/**
 * The receiving side: gates each offer (offer-gate.ts; decline and timeout are clean), then
 * drives the sender with credit (receiver-credit.ts), takes chunks in order only
 * (chunk-intake.ts), writes them to a partial file while hashing them, makes progress durable
 * every FILE_PERSIST_EVERY_CHUNKS (partial-file.ts resumes from there after a restart), and
 * lands the file only once the SHA-256 matches (landing.ts). Memory: at most the granted
 * credit is held (chunks waiting for their write), whatever the file size.
 */
export class FileReceiver extends EventEmitter<FileReceiverEvents> {
  readonly #o: FileReceiverOptions & {
    maxFileBytes: number;
    approvalTimeoutMs: number;
    resendMs: number;
  };
  readonly #store: TransferStore<IncomingRecord>;
  readonly #in = new Map<string, Incoming>();
  readonly #pending = new Map<string, IncomingOffer>();
  readonly #finished: FinishedTransfers;
  readonly #credit: ReceiverCredit;
  #stopped = false;
  /** Restoring after a restart: offers for transfers being reopened wait for the sender's next probe. */
  #restoring = false;
  readonly counters = { chunks: 0, duplicates: 0, outOfOrder: 0, overCredit: 0, badLength: 0, creditsSent: 0 };

  constructor(options: FileReceiverOptions) {
    super();
    this.#o = {
      maxFileBytes: FILE_MAX_BYTES,
      approvalTimeoutMs: FILE_APPROVAL_TIMEOUT_MS,
      resendMs: FILE_RESEND_MS,
      ...options,
    };
    this.#store = new TransferStore(options.stateDir, 'files-in', isIncomingRecord);
    this.#finished = new FinishedTransfers(this.#store);
    const window = options.windowBytes ?? FILE_WINDOW_BYTES;
    const budget = options.budgetBytes ?? FILE_RECEIVE_BUDGET_BYTES;
    this.#credit = new ReceiverCredit({
      transfers: () => this.#in.values(),
      send: (peer, m) => this.#send(peer, m),
      windowFor: typeof window === 'function' ? window : () => window,
      budgetFor: typeof budget === 'function' ? budget : () => budget,
      resendMs: this.#o.resendMs,
      resendMaxMs: options.resendMaxMs ?? FILE_RESEND_MAX_MS,
      counters: this.counters,
      now: Date.now,
    });
  }

  /** Offers waiting for the host and transfers in progress. */
  list(): Array<IncomingOffer & { state: 'pending' | 'receiving'; bytes: number }> {
    return [
      ...[...this.#pending.values()].map((o) => ({ ...o, state: 'pending' as const, bytes: 0 })),
      ...[...this.#in.values()].map((t) => ({ ...t.rec.offer, state: 'receiving' as const, bytes: receivedBytes(t) })),
    ];
  }

  /** Credit outstanding per transfer, chunks (for tests and diagnostics). */
  credit(): Map<string, { next: number; limit: number; chunkSize: number }> {
    return new Map(
      [...this.#in.values()].map((t) => [t.key, { next: t.next, limit: t.limit, chunkSize: t.rec.chunkSize }]),
    );
  }

  /** Resume what was being received before a restart: re-hash each partial file, then grant credit. */
  async restore(): Promise<void> {
    this.#restoring = true;
    try {
      await this.#restoreAll();
    } finally {
      this.#restoring = false;
    }
  }

  async #restoreAll(): Promise<void> {
    for (const [key, rec] of this.#store.all()) {
      if (rec.state !== 'receiving') {
        this.#finished.remember(key, rec);
        continue;
      }
      if (this.#in.has(key)) continue;
      let partial: OpenPartial;
      try {
        partial = await reopenPartial(this.#o.inboxDir, rec);
      } catch {
        // The partial file is gone or unreadable: start this transfer over from zero.
        await removePartial(partialPath(this.#o.inboxDir, rec.offer.peer, rec.offer.id)).catch(() => {});
        try {
          partial = await createPartial(this.#o.inboxDir, rec);
          this.#store.setNext(key, 0);
        } catch (err) {
          this.#finishFailed(key, rec, isDiskFull(err) ? 'disk-full' : 'internal', (err as Error).message);
          continue;
        }
      }
      const t = this.#track(key, rec, partial);
      this.#credit.arm(t);
      if (t.next === t.total) void this.#finish(t);
    }
    this.#credit.schedule();
  }

  /** A message from the sender of a transfer to us. */
  handle(peer: string, m: TransferMessage): void {
    if (this.#stopped) return;
    switch (m.type) {
      case TransferMessageType.OFFER:
        this.#offer(peer, m);
        break;
      case TransferMessageType.CHUNK:
        this.#chunk(peer, m.id, m.index, m.bytes);
        break;
      case TransferMessageType.CANCEL: {
        const key = keyOf(peer, m.id);
        const t = this.#in.get(key);
        if (t) void this.#abort(t, m.reason, 'cancelled by the sender', false);
        else if (this.#pending.has(key)) this.#pending.delete(key); // the approval's answer is ignored
        break;
      }
    }
  }

  /**
   * The best path to `peer` changed: transfers from it re-send their credit at most
   * FILE_RESEND_MS after the change, not after a silence interval that doubled while the old
   * path was dying (the sender does the same on its side).
   */
  pathChanged(peer: string): void {
    for (const t of this.#in.values()) if (!t.closed && t.rec.offer.peer === peer) this.#credit.heard(t);
  }

  /** Cancel an incoming transfer (or decline a pending offer) from this side. */
  async cancel(peer: string, id: string): Promise<void> {
    const key = keyOf(peer, id);
    const t = this.#in.get(key);
    if (t) return this.#abort(t, 'cancelled', 'cancelled here', true);
    if (this.#pending.delete(key)) {
      this.#send(peer, { type: TransferMessageType.DECLINE, id, reason: 'declined' });
      this.emit('failed', { id, peer, direction: 'in', code: 'CLIENT_ERR_FILE_DECLINED', message: 'declined here' });
      return;
    }
    throw new ClientError('CLIENT_ERR_FILE_UNKNOWN_TRANSFER', id);
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#in.values()) {
      t.closed = true;
      if (t.timer) clearTimeout(t.timer);
      const fh = t.fh;
      t.fh = null;
      void t.writes.then(() => fh?.close()).catch(() => {});
    }
    this.#in.clear();
    this.#pending.clear();
  }

  // ── offers ──────────────────────────────────────────────────────────────────────────────

  #offer(peer: string, m: Offer & { id: string }): void {
    const key = keyOf(peer, m.id);
    const t = this.#in.get(key);
    if (t) {
      // A probe: the sender restarted, lost our credit, or heard nothing for a while.
      if (t.rec.offer.size === m.size && t.rec.chunkSize === m.chunkSize) this.#credit.probed(t);
      return;
    }
    if (this.#pending.has(key)) return; // still with the host
    // Being reopened by restore(): a fresh gate now would start it over from zero.
    if (this.#restoring && this.#store.get(key)?.state === 'receiving') return;
    const finished = this.#finished.get(key);
    if (finished) {
      this.#send(peer, FinishedTransfers.answerOffer(finished, m.id));
      return;
    }
    const decline = (reason: TransferReasonName) => {
      this.#send(peer, { type: TransferMessageType.DECLINE, id: m.id, reason });
      // Remembered (in memory) so a re-sent offer — our DECLINE lost — is not put to the host again.
      this.#finished.remember(key, declinedRecord(peer, m, reason));
      const message = `offer refused: ${reason}`;
      this.emit('failed', { id: m.id, peer, direction: 'in', code: REASON_ERROR[reason], message });
    };
    const enc = longMessageEncoding(m.mediaType);
    if (enc) {
      const verdict = screenLongOffer(this.#o.messages, peer, m, this.#longCount());
      if (verdict === 'wait') return;
      if (verdict) {
        decline(verdict);
        return;
      }
    }
    const load = { pending: this.#pending.size, incoming: this.#in.size };
    const offer = screenOffer(peer, m, load, this.#o.maxFileBytes);
    if (typeof offer === 'string') {
      decline(offer);
      return;
    }
    this.#pending.set(key, offer);
    // A long message is accepted without the host's file prompt: its gates run on the whole message.
    void this.#gate(key, offer, m.chunkSize, decline, enc ? () => true : this.#o.approve);
  }

  /** Long messages offered or being received now. */
  #longCount(): number {
    let n = 0;
    for (const o of this.#pending.values()) if (longMessageEncoding(o.mediaType)) n++;
    for (const t of this.#in.values()) if (longMessageEncoding(t.rec.offer.mediaType)) n++;
    return n;
  }

  async #gate(
    key: string,
    offer: IncomingOffer,
    chunkSize: number,
    decline: (r: TransferReasonName) => void,
    approve: ApproveOffer,
  ): Promise<void> {
    const stillPending = () => this.#pending.get(key) === offer && !this.#stopped;
    try {
      let reserved = 0;
      for (const t of this.#in.values()) reserved += remainingBytes(t);
      const space = await spaceFor(this.#o.inboxDir, this.#o.quotaBytes, reserved, offer.size);
      if (!stillPending()) return;
      if (space) {
        this.#pending.delete(key);
        return decline(space);
      }
      if (approve === this.#o.approve) this.emit('offer', offer);
      const verdict = await askHost(approve, offer, this.#o.approvalTimeoutMs);
      if (!stillPending()) return;
      if (verdict !== true) {
        this.#pending.delete(key);
        return decline(verdict === 'timeout' ? 'timeout' : 'declined');
      }
      // Still pending while the partial file opens, so a re-sent offer is not put to the host again.
      await this.#start(key, offer, chunkSize, stillPending);
    } catch (err) {
      if (this.#pending.get(key) === offer) this.#pending.delete(key);
      decline(isDiskFull(err) ? 'disk-full' : 'internal');
    }
  }

  async #start(key: string, offer: IncomingOffer, chunkSize: number, stillPending: () => boolean): Promise<void> {
    const rec: IncomingRecord = { offer, chunkSize, state: 'receiving', next: 0 };
    const partial = await createPartial(this.#o.inboxDir, rec);
    if (!stillPending()) {
      // Cancelled (or stopped) while the file opened: the sender was already told.
      await partial.fh.close().catch(() => {});
      await removePartial(partialPath(this.#o.inboxDir, offer.peer, offer.id)).catch(() => {});
      return;
    }
    this.#pending.delete(key);
    this.#store.put(key, rec);
    const t = this.#track(key, rec, partial);
    this.#send(offer.peer, { type: TransferMessageType.ACCEPT, id: offer.id });
    this.emit('accepted', { id: offer.id, peer: offer.peer, direction: 'in' });
    this.#credit.arm(t);
    if (t.total === 0) return this.#finish(t);
    this.#credit.schedule();
  }

  #track(key: string, rec: IncomingRecord, p: OpenPartial): Incoming {
    const t = newIncoming(key, rec, p.next, p.hash, p.fh, this.#o.resendMs);
    this.#in.set(key, t);
    return t;
  }

  // ── chunks ──────────────────────────────────────────────────────────────────────────────

  #chunk(peer: string, id: string, index: number, bytes: Uint8Array): void {
    const key = keyOf(peer, id);
    const t = this.#in.get(key);
    if (!t || t.closed) {
      if (FinishedTransfers.lostDone(this.#finished.get(key), index))
        this.#send(peer, { type: TransferMessageType.DONE, id }); // our DONE was lost
      return;
    }
    if (!admitChunk(t, index, bytes, this.counters)) return;
    this.#credit.heard(t);
    if (!t.writing) t.writes = this.#drain(t);
  }

  /**
   * Write what is queued, all of it in one writev(2) per round (chunks are consecutive), then
   * feed the hash, make progress durable now and then, and hand out the freed credit.
   */
  async #drain(t: Incoming): Promise<void> {
    t.writing = true;
    try {
      while (t.queue.length > 0 && !t.closed && t.fh) {
        const batch = t.queue.splice(0);
        try {
          await t.fh.writev(batch, t.next * t.rec.chunkSize);
          for (const b of batch) t.hash.update(b);
          t.next += batch.length;
          if (!t.syncing && t.next - t.rec.next >= FILE_PERSIST_EVERY_CHUNKS && t.next < t.total) this.#persist(t);
        } catch (err) {
          await this.#abort(t, isDiskFull(err) ? 'disk-full' : 'internal', (err as Error).message, true);
          return;
        }
        if (t.closed) return;
        const { id, peer, size } = t.rec.offer;
        this.emit('progress', { id, peer, direction: 'in', bytes: receivedBytes(t), total: size });
        if (t.next === t.total) {
          await this.#finish(t);
          return;
        }
        this.#credit.schedule();
      }
    } finally {
      t.writing = false;
    }
  }

  /** Make the chunks written so far durable in the background, then record them (resume point). */
  #persist(t: Incoming): void {
    const fh = t.fh;
    if (!fh) return;
    const upTo = t.next;
    t.syncing = fh
      .datasync()
      .then(
        () => {
          if (!t.closed) this.#store.setNext(t.key, upTo);
        },
        (err: unknown) => this.#abort(t, isDiskFull(err) ? 'disk-full' : 'internal', (err as Error).message, true),
      )
      .finally(() => {
        t.syncing = null;
      });
  }

  // ── the end ─────────────────────────────────────────────────────────────────────────────

  /** All chunks written: make them durable, check the whole hash, land the file. */
  async #finish(t: Incoming): Promise<void> {
    const { offer } = t.rec;
    const path = partialPath(this.#o.inboxDir, offer.peer, offer.id);
    try {
      await t.syncing;
      if (t.closed) return; // the background flush failed and aborted the transfer
      await t.fh?.datasync();
      await t.fh?.close();
      t.fh = null;
      const digest = t.hash.digest('hex');
      if (digest !== offer.sha256) return await this.#abort(t, 'hash-mismatch', `got ${digest}`, true);
      const enc = longMessageEncoding(offer.mediaType);
      if (enc && this.#o.messages) return await this.#deliverMessage(t, enc, this.#o.messages);
      const landed = await landFile(this.#o.inboxDir, offer.peer, path, offer.name);
      this.#close(t);
      this.#finished.finish(t.key, { ...t.rec, state: 'done', next: t.total, path: landed });
      this.#send(offer.peer, { type: TransferMessageType.DONE, id: offer.id });
      const { id, peer, size, name, sha256 } = offer;
      this.emit('done', { id, peer, direction: 'in', path: landed, size, name, sha256 });
      this.#credit.schedule();
    } catch (err) {
      await this.#abort(t, isDiskFull(err) ? 'disk-full' : 'internal', (err as Error).message, true);
    }
  }

  /**
   * A long message, whole and verified: read it (at most the sink's maximum, checked at the
   * offer), hand it to the message gates, and answer DONE once they decided. The partial file
   * stays until then, so a restart while the host decides asks again instead of losing it.
   */
  async #deliverMessage(t: Incoming, enc: LongMessageEncoding, sink: LongMessageSink): Promise<void> {
    const { offer } = t.rec;
    const path = partialPath(this.#o.inboxDir, offer.peer, offer.id);
    const body = await readFile(path);
    if (body.length !== offer.size) return this.#abort(t, 'internal', 'partial file changed size', true);
    const commit = () => {
      if (t.closed) return false;
      this.#close(t);
      this.#finished.finish(t.key, { ...t.rec, state: 'done', next: t.total });
      return true;
    };
    try {
      await sink.deliver(offer, enc, body, commit);
    } catch (err) {
      // Refused by the gates: no longer trusted, too many waiting for the host, not UTF-8.
      const code = (err as { code?: unknown }).code;
      const reason =
        code === 'CLIENT_ERR_BUSY' ? 'too-many' : code === 'CLIENT_ERR_NOT_TRUSTED' ? 'declined' : 'internal';
      if (!t.closed) return this.#abort(t, reason, (err as Error).message, true);
    }
    if (!commit() && this.#finished.get(t.key)?.state !== 'done') return;
    await removePartial(path).catch(() => {});
    this.#send(offer.peer, { type: TransferMessageType.DONE, id: offer.id });
    this.#credit.schedule();
  }

  /** End a transfer without a file: delete the partial file, tell the sender if `tell`. */
  async #abort(t: Incoming, reason: TransferReasonName, detail: string, tell: boolean): Promise<void> {
    if (t.closed) return;
    this.#close(t);
    const fh = t.fh;
    t.fh = null;
    await fh?.close().catch(() => {});
    await removePartial(partialPath(this.#o.inboxDir, t.rec.offer.peer, t.rec.offer.id)).catch(() => {});
    if (tell) this.#send(t.rec.offer.peer, { type: TransferMessageType.FAILED, id: t.rec.offer.id, reason });
    this.#finishFailed(t.key, t.rec, reason, detail);
    this.#credit.schedule();
  }

  #finishFailed(key: string, rec: IncomingRecord, reason: TransferReasonName, detail: string): void {
    this.#in.delete(key);
    this.#finished.finish(key, { ...rec, state: 'failed', reason });
    const code: ClientErrorCode = REASON_ERROR[reason];
    this.emit('failed', { id: rec.offer.id, peer: rec.offer.peer, direction: 'in', code, message: detail });
  }

  #close(t: Incoming): void {
    t.closed = true;
    if (t.timer) clearTimeout(t.timer);
    this.#in.delete(t.key);
  }

  #send(peer: string, m: TransferMessage): void {
    this.#o.channel.send(peer, encodeTransferMessage(m));
  }
}
