import { createHash, type Hash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { ClientError, type ClientErrorCode } from '../errors.js';
import { ensureDir } from '../store/home-dir.js';
import type { TransferChannel, TransferFailure, TransferProgress, TransferRef } from './channel.js';
import {
  FILE_APPROVAL_TIMEOUT_MS,
  FILE_CREDIT_BATCH_CHUNKS,
  FILE_FINISHED_REMEMBERED,
  FILE_MAX_BYTES,
  FILE_MAX_INCOMING,
  FILE_MAX_PENDING_OFFERS,
  FILE_PERSIST_EVERY_CHUNKS,
  FILE_RECEIVE_BUDGET_BYTES,
  FILE_RESEND_MAX_MS,
  FILE_RESEND_MS,
  FILE_WINDOW_BYTES,
} from './constants.js';
import { allocateCredit, type CreditDemand } from './credit.js';
import { hashFilePrefix } from './hash-file.js';
import { type IncomingOffer, type IncomingRecord, isIncomingRecord } from './incoming-record.js';
import { freeBytes, inboxBytes, isDiskFull, landFile, PARTIAL_DIR, partialPath, removePartial } from './landing.js';
import { sanitizeFileName } from './safe-name.js';
import { TransferStore } from './transfer-store.js';

export type { IncomingOffer, IncomingRecord };

import {
  chunkCount,
  chunkLength,
  encodeTransferMessage,
  type Offer,
  REASON_ERROR,
  type TransferMessage,
  TransferMessageType,
  type TransferReasonName,
} from './wire.js';

/** The host's gate: resolve true to accept. Called once per new offer. */
export type ApproveOffer = (offer: IncomingOffer) => boolean | Promise<boolean>;

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
  budgetBytes?: number;
  maxFileBytes?: number;
  /** Most bytes the inbox may hold (landed + in progress); unset = no quota. */
  quotaBytes?: number;
  approvalTimeoutMs?: number;
  resendMs?: number;
  resendMaxMs?: number;
}

export interface FileReceiverEvents {
  offer: [IncomingOffer];
  accepted: [TransferRef];
  progress: [TransferProgress];
  done: [TransferRef & { path: string; size: number; name: string }];
  failed: [TransferFailure];
}

interface Incoming {
  key: string;
  rec: IncomingRecord;
  total: number;
  /** Chunks written in order (next to write). */
  next: number;
  /** Chunks taken in for writing (the next index accepted from the wire). */
  queuedNext: number;
  /** Credit: the sender may send indices below this. */
  limit: number;
  /** The limit the sender was last told. */
  advertised: number;
  /** Credit withdrawn after a long silence; restored when the sender probes. */
  paused: boolean;
  fh: FileHandle | null;
  hash: Hash;
  /** Chunks taken in and not yet written, in order from `next` (at most the granted credit). */
  queue: Uint8Array[];
  /** The running writer (one per transfer), resolved when the queue is empty. */
  writes: Promise<void>;
  writing: boolean;
  interval: number;
  timer: NodeJS.Timeout | null;
  closed: boolean;
}

const keyOf = (peer: string, id: string) => `${peer}/${id}`;

/**
 * The receiving side: gates each offer through `approve` (decline and timeout are clean), then
 * drives the sender with credit — a window per transfer and one budget shared round-robin
 * (credit.ts) — writes chunks in order to a temp file while hashing them, makes progress
 * durable every FILE_PERSIST_EVERY_CHUNKS, and lands the file only once the SHA-256 matches
 * (landing.ts). Memory: at most the granted credit is held (chunks waiting for their write),
 * whatever the file size; chunks outside the credit or out of order are dropped, not kept.
 */
export class FileReceiver extends EventEmitter<FileReceiverEvents> {
  readonly #o: FileReceiverOptions & {
    windowBytes: number | ((peer: string) => number);
    budgetBytes: number;
    maxFileBytes: number;
    approvalTimeoutMs: number;
    resendMs: number;
    resendMaxMs: number;
  };
  readonly #store: TransferStore<IncomingRecord>;
  readonly #in = new Map<string, Incoming>();
  readonly #pending = new Map<string, IncomingOffer>();
  /** key → finished record, oldest first (bounded by FILE_FINISHED_REMEMBERED). */
  readonly #finished = new Map<string, IncomingRecord>();
  #cursor = 0;
  #stopped = false;
  readonly counters = { chunks: 0, duplicates: 0, outOfOrder: 0, overCredit: 0, badLength: 0, creditsSent: 0 };

  constructor(options: FileReceiverOptions) {
    super();
    this.#o = {
      windowBytes: FILE_WINDOW_BYTES,
      budgetBytes: FILE_RECEIVE_BUDGET_BYTES,
      maxFileBytes: FILE_MAX_BYTES,
      approvalTimeoutMs: FILE_APPROVAL_TIMEOUT_MS,
      resendMs: FILE_RESEND_MS,
      resendMaxMs: FILE_RESEND_MAX_MS,
      ...options,
    };
    this.#store = new TransferStore(options.stateDir, 'files-in', isIncomingRecord);
  }

  /** Offers waiting for the host and transfers in progress. */
  list(): Array<IncomingOffer & { state: 'pending' | 'receiving'; bytes: number }> {
    return [
      ...[...this.#pending.values()].map((o) => ({ ...o, state: 'pending' as const, bytes: 0 })),
      ...[...this.#in.values()].map((t) => ({
        ...t.rec.offer,
        state: 'receiving' as const,
        bytes: Math.min(t.rec.offer.size, t.next * t.rec.chunkSize),
      })),
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
    for (const [key, rec] of this.#store.all()) {
      if (rec.state !== 'receiving') {
        this.#remember(key, rec);
        continue;
      }
      if (this.#in.has(key)) continue;
      const path = partialPath(this.#o.inboxDir, rec.offer.peer, rec.offer.id);
      let next = rec.next;
      try {
        const size = (await stat(path)).size;
        next = Math.min(next, Math.floor(size / rec.chunkSize), chunkCount(rec.offer.size, rec.chunkSize));
        const fh = await open(path, 'r+');
        // Chunks past the durable point may be torn: drop them, the sender sends them again.
        await fh.truncate(Math.min(next * rec.chunkSize, rec.offer.size));
        const { hash } = await hashFilePrefix(path, Math.min(next * rec.chunkSize, rec.offer.size));
        const t = this.#track(key, rec, next, hash, fh);
        this.#arm(t);
        if (t.next === t.total) void this.#finish(t);
      } catch {
        // The partial file is gone or unreadable: start this transfer over from zero.
        await removePartial(path).catch(() => {});
        try {
          const fh = await open(path, 'w');
          const t = this.#track(key, rec, 0, createHash('sha256'), fh);
          this.#store.setNext(key, 0);
          this.#arm(t);
        } catch (err) {
          this.#finishFailed(key, rec, isDiskFull(err) ? 'disk-full' : 'internal', (err as Error).message);
        }
      }
    }
    this.#schedule();
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
      if (t.rec.offer.size !== m.size || t.rec.chunkSize !== m.chunkSize) return;
      t.paused = false;
      this.#heard(t);
      this.#schedule();
      this.#advertise(t, true);
      return;
    }
    if (this.#pending.has(key)) return; // still with the host
    const finished = this.#finished.get(key);
    if (finished) {
      const reason = finished.reason ?? 'internal';
      if (finished.state === 'done') this.#send(peer, { type: TransferMessageType.DONE, id: m.id });
      else if (finished.declined) this.#send(peer, { type: TransferMessageType.DECLINE, id: m.id, reason });
      else this.#send(peer, { type: TransferMessageType.FAILED, id: m.id, reason });
      return;
    }
    const decline = (reason: TransferReasonName) => {
      this.#send(peer, { type: TransferMessageType.DECLINE, id: m.id, reason });
      // Remembered (in memory) so a re-sent offer — our DECLINE lost — is not put to the host again.
      this.#remember(key, {
        offer: {
          id: m.id,
          peer,
          name: '',
          offeredName: '',
          size: m.size,
          mediaType: m.mediaType,
          note: '',
          sha256: Buffer.from(m.sha256).toString('hex'),
        },
        chunkSize: m.chunkSize,
        state: 'failed',
        next: 0,
        reason,
        declined: true,
      });
      this.emit('failed', {
        id: m.id,
        peer,
        direction: 'in',
        code: REASON_ERROR[reason],
        message: `offer refused: ${reason}`,
      });
    };
    if (this.#pending.size >= FILE_MAX_PENDING_OFFERS || this.#in.size >= FILE_MAX_INCOMING) {
      decline('too-many');
      return;
    }
    if (m.size > this.#o.maxFileBytes) {
      decline('too-large');
      return;
    }
    let name: string;
    try {
      name = sanitizeFileName(m.name);
    } catch {
      decline('bad-name');
      return;
    }
    const offer: IncomingOffer = {
      id: m.id,
      peer,
      name,
      offeredName: m.name,
      size: m.size,
      mediaType: m.mediaType,
      note: m.note,
      sha256: Buffer.from(m.sha256).toString('hex'),
    };
    this.#pending.set(key, offer);
    void this.#gate(key, offer, m.chunkSize, decline);
  }

  async #gate(
    key: string,
    offer: IncomingOffer,
    chunkSize: number,
    decline: (r: TransferReasonName) => void,
  ): Promise<void> {
    const stillPending = () => this.#pending.get(key) === offer && !this.#stopped;
    try {
      const space = await this.#spaceFor(offer.size);
      if (!stillPending()) return;
      if (space) {
        this.#pending.delete(key);
        return decline(space);
      }
      this.emit('offer', offer);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.#o.approvalTimeoutMs);
        timer.unref?.();
      });
      const verdict = await Promise.race([Promise.resolve(this.#o.approve(offer)), timeout]).finally(() =>
        clearTimeout(timer),
      );
      if (!stillPending()) return;
      this.#pending.delete(key);
      if (verdict === 'timeout') return decline('timeout');
      if (verdict !== true) return decline('declined');
      await this.#start(key, offer, chunkSize);
    } catch (err) {
      if (this.#pending.get(key) === offer) this.#pending.delete(key);
      decline(isDiskFull(err) ? 'disk-full' : 'internal');
    }
  }

  /** Null when `size` more bytes fit; else why not (quota, disk). */
  async #spaceFor(size: number): Promise<TransferReasonName | null> {
    let reserved = 0;
    for (const t of this.#in.values())
      reserved += t.rec.offer.size - Math.min(t.rec.offer.size, t.next * t.rec.chunkSize);
    if (this.#o.quotaBytes !== undefined) {
      const held = await inboxBytes(this.#o.inboxDir);
      if (held + reserved + size > this.#o.quotaBytes) return 'quota';
    }
    ensureDir(this.#o.inboxDir);
    const free = await freeBytes(this.#o.inboxDir);
    if (free !== null && free < reserved + size) return 'disk-full';
    return null;
  }

  async #start(key: string, offer: IncomingOffer, chunkSize: number): Promise<void> {
    const path = partialPath(this.#o.inboxDir, offer.peer, offer.id);
    ensureDir(`${this.#o.inboxDir}/${PARTIAL_DIR}`);
    const fh = await open(path, 'w', 0o600);
    const rec: IncomingRecord = { offer, chunkSize, state: 'receiving', next: 0 };
    this.#store.put(key, rec);
    const t = this.#track(key, rec, 0, createHash('sha256'), fh);
    this.#send(offer.peer, { type: TransferMessageType.ACCEPT, id: offer.id });
    this.emit('accepted', { id: offer.id, peer: offer.peer, direction: 'in' });
    this.#arm(t);
    if (t.total === 0) return this.#finish(t);
    this.#schedule();
  }

  #track(key: string, rec: IncomingRecord, next: number, hash: Hash, fh: FileHandle): Incoming {
    const t: Incoming = {
      key,
      rec,
      total: chunkCount(rec.offer.size, rec.chunkSize),
      next,
      queuedNext: next,
      limit: next,
      advertised: next,
      paused: false,
      fh,
      hash,
      queue: [],
      writes: Promise.resolve(),
      writing: false,
      interval: this.#o.resendMs,
      timer: null,
      closed: false,
    };
    this.#in.set(key, t);
    return t;
  }

  // ── chunks ──────────────────────────────────────────────────────────────────────────────

  #chunk(peer: string, id: string, index: number, bytes: Uint8Array): void {
    const key = keyOf(peer, id);
    const t = this.#in.get(key);
    if (!t || t.closed) {
      const finished = this.#finished.get(key);
      if (finished?.state === 'done' && index === chunkCount(finished.offer.size, finished.chunkSize) - 1)
        this.#send(peer, { type: TransferMessageType.DONE, id }); // our DONE was lost
      return;
    }
    if (index < t.queuedNext) {
      this.counters.duplicates++;
      return;
    }
    if (index >= t.limit) {
      this.counters.overCredit++; // never taken in: what was not granted is not buffered
      return;
    }
    if (index !== t.queuedNext) {
      this.counters.outOfOrder++; // a gap: go-back-N, the sender rewinds
      return;
    }
    if (bytes.length !== chunkLength(t.rec.offer.size, t.rec.chunkSize, index)) {
      this.counters.badLength++;
      return;
    }
    this.counters.chunks++;
    this.#heard(t);
    t.queuedNext++;
    t.queue.push(bytes);
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
          if (t.next - t.rec.next >= FILE_PERSIST_EVERY_CHUNKS && t.next < t.total) {
            await t.fh.datasync();
            this.#store.setNext(t.key, t.next);
          }
        } catch (err) {
          await this.#abort(t, isDiskFull(err) ? 'disk-full' : 'internal', (err as Error).message, true);
          return;
        }
        if (t.closed) return;
        const size = t.rec.offer.size;
        this.emit('progress', {
          id: t.rec.offer.id,
          peer: t.rec.offer.peer,
          direction: 'in',
          bytes: Math.min(size, t.next * t.rec.chunkSize),
          total: size,
        });
        if (t.next === t.total) {
          await this.#finish(t);
          return;
        }
        this.#schedule();
      }
    } finally {
      t.writing = false;
    }
  }

  async #finish(t: Incoming): Promise<void> {
    const { offer } = t.rec;
    const path = partialPath(this.#o.inboxDir, offer.peer, offer.id);
    try {
      await t.fh?.datasync();
      await t.fh?.close();
      t.fh = null;
      const digest = t.hash.digest('hex');
      if (digest !== offer.sha256) return await this.#abort(t, 'hash-mismatch', `got ${digest}`, true);
      const landed = await landFile(this.#o.inboxDir, offer.peer, path, offer.name);
      this.#close(t);
      this.#finishRecord(t.key, { ...t.rec, state: 'done', next: t.total, path: landed });
      this.#send(offer.peer, { type: TransferMessageType.DONE, id: offer.id });
      this.emit('done', {
        id: offer.id,
        peer: offer.peer,
        direction: 'in',
        path: landed,
        size: offer.size,
        name: offer.name,
      });
      this.#schedule();
    } catch (err) {
      await this.#abort(t, isDiskFull(err) ? 'disk-full' : 'internal', (err as Error).message, true);
    }
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
    this.#schedule();
  }

  #finishFailed(key: string, rec: IncomingRecord, reason: TransferReasonName, detail: string): void {
    this.#in.delete(key);
    this.#finishRecord(key, { ...rec, state: 'failed', reason });
    const code: ClientErrorCode = REASON_ERROR[reason];
    this.emit('failed', { id: rec.offer.id, peer: rec.offer.peer, direction: 'in', code, message: detail });
  }

  #finishRecord(key: string, rec: IncomingRecord): void {
    this.#store.put(key, rec);
    this.#remember(key, rec);
  }

  #remember(key: string, rec: IncomingRecord): void {
    this.#finished.delete(key);
    this.#finished.set(key, rec);
    while (this.#finished.size > FILE_FINISHED_REMEMBERED) {
      const oldest = this.#finished.keys().next().value as string;
      this.#finished.delete(oldest);
      this.#store.delete(oldest);
    }
  }

  #close(t: Incoming): void {
    t.closed = true;
    if (t.timer) clearTimeout(t.timer);
    this.#in.delete(t.key);
  }

  // ── credit ──────────────────────────────────────────────────────────────────────────────

  /** Hand out credit (credit.ts) and tell each sender whose grant moved enough. */
  #schedule(): void {
    const active = [...this.#in.values()].filter((t) => !t.closed && !t.paused);
    const demands: CreditDemand[] = active.map((t) => ({
      key: t.key,
      next: t.next,
      limit: t.limit,
      total: t.total,
      chunkBytes: t.rec.chunkSize,
      windowBytes: this.#windowFor(t.rec.offer.peer),
    }));
    const pass = allocateCredit(
      demands,
      { windowBytes: FILE_WINDOW_BYTES, budgetBytes: this.#o.budgetBytes },
      this.#cursor,
    );
    this.#cursor = pass.cursor;
    for (const t of active) {
      const limit = pass.grants.get(t.key);
      if (limit !== undefined) t.limit = limit;
      this.#advertise(t, false);
    }
  }

  #windowFor(peer: string): number {
    const w = this.#o.windowBytes;
    return typeof w === 'function' ? w(peer) : w;
  }

  /**
   * Send CREDIT when the sender is close to running out of what it was told, the grant moved by
   * FILE_CREDIT_BATCH_CHUNKS, or it covers the last chunk; always with `force`.
   */
  #advertise(t: Incoming, force: boolean): void {
    const moved = t.limit - t.advertised;
    const left = t.advertised - t.queuedNext;
    if (
      !force &&
      (moved <= 0 || (moved < FILE_CREDIT_BATCH_CHUNKS && left > FILE_CREDIT_BATCH_CHUNKS && t.limit < t.total))
    )
      return;
    t.advertised = t.limit;
    this.counters.creditsSent++;
    this.#send(t.rec.offer.peer, {
      type: TransferMessageType.CREDIT,
      id: t.rec.offer.id,
      next: t.next,
      limit: t.limit,
    });
  }

  #heard(t: Incoming): void {
    t.interval = this.#o.resendMs;
    this.#arm(t);
  }

  #arm(t: Incoming): void {
    if (t.timer) clearTimeout(t.timer);
    if (t.closed) return;
    t.timer = setTimeout(() => this.#silence(t), t.interval);
    t.timer.unref?.();
  }

  /**
   * No chunk for one interval while credit is out: tell the sender where we are again (a lost
   * credit or chunk). Once the interval reached its maximum, withdraw the credit from the
   * shared budget (a dead sender must not hold it) until the sender probes again.
   */
  #silence(t: Incoming): void {
    if (t.closed || t.paused) return;
    if (t.interval >= this.#o.resendMaxMs && t.limit > t.next) {
      t.paused = true;
      t.limit = t.next;
      this.#advertise(t, true);
      this.#schedule();
      return;
    }
    if (t.limit > t.queuedNext) this.#advertise(t, true);
    t.interval = Math.min(t.interval * 2, this.#o.resendMaxMs);
    this.#arm(t);
  }

  #send(peer: string, m: TransferMessage): void {
    this.#o.channel.send(peer, encodeTransferMessage(m));
  }
}
