import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ClientError, type ClientErrorCode } from '../errors.js';
import type { TransferChannel, TransferFailure, TransferProgress, TransferRef } from './channel.js';
import {
  FILE_CHUNK_BYTES,
  FILE_MAX_BYTES,
  FILE_MAX_OUTGOING,
  FILE_NO_PATH_RETRY_MS,
  FILE_OFFER_TIMEOUT_MS,
  FILE_PERSIST_EVERY_CHUNKS,
  FILE_READ_AHEAD_CHUNKS,
  FILE_RESEND_MAX_MS,
  FILE_RESEND_MS,
} from './constants.js';
import { hashFilePrefix } from './hash-file.js';
import { TransferStore } from './transfer-store.js';
import {
  allocChunk,
  CHUNK_HEADER_BYTES,
  chunkCount,
  chunkLength,
  encodeTransferMessage,
  isMediaType,
  REASON_ERROR,
  type TransferMessage,
  TransferMessageType,
  type TransferReasonName,
} from './wire.js';

/** What survives a restart of the sender. */
export interface OutgoingRecord {
  peer: string;
  id: string;
  path: string;
  size: number;
  mtimeMs: number;
  chunkSize: number;
  sha256: string;
  name: string;
  mediaType: string;
  note: string;
  /** Chunks the recipient acknowledged (persisted every FILE_PERSIST_EVERY_CHUNKS). */
  next: number;
  /** When the offer was first made, ms since epoch (the offer timeout counts from here). */
  offeredAt: number;
  accepted: boolean;
}

function isOutgoingRecord(v: unknown): v is OutgoingRecord {
  const r = v as Record<string, unknown>;
  return (
    typeof r === 'object' &&
    r !== null &&
    ['peer', 'id', 'path', 'sha256', 'name', 'mediaType', 'note'].every((k) => typeof r[k] === 'string') &&
    ['size', 'mtimeMs', 'chunkSize', 'next', 'offeredAt'].every((k) => typeof r[k] === 'number') &&
    typeof r.accepted === 'boolean'
  );
}

export interface SendFileOptions {
  /** Name offered to the recipient; default the file's base name. */
  name?: string;
  mediaType?: string;
  note?: string;
  /** Transfer id (32 lower-case hex); default random. A long message uses its message id. */
  id?: string;
}

export interface FileSenderOptions {
  channel: TransferChannel;
  /** Where outgoing transfer records live (the extension's state directory). */
  stateDir: string;
  /** Chunk payload, bytes; default FILE_CHUNK_BYTES. The channel must carry it plus CHUNK_HEADER_BYTES. */
  chunkBytes?: number;
  maxFileBytes?: number;
  offerTimeoutMs?: number;
  resendMs?: number;
  resendMaxMs?: number;
  now?: () => number;
}

export interface FileSenderEvents {
  accepted: [TransferRef];
  progress: [TransferProgress];
  done: [TransferRef & { size: number; sha256: string }];
  failed: [TransferFailure];
}

interface Outgoing {
  rec: OutgoingRecord;
  key: string;
  total: number;
  /** Chunks the recipient has (its `next`). */
  acked: number;
  /** Next chunk index to send. */
  sentNext: number;
  /** Send only indices below this (the recipient's credit). */
  grant: number;
  persistedNext: number;
  fh: FileHandle | null;
  pumping: boolean;
  interval: number;
  /**
   * The last send found no path: the timer fires after this instead, ms (FILE_NO_PATH_RETRY_MS
   * doubling up to `interval`), so the transfer goes on as soon as the session is up. 0 otherwise.
   */
  noPathWait: number;
  timer: NodeJS.Timeout | null;
  closed: boolean;
}

const keyOf = (peer: string, id: string) => `${peer}/${id}`;

/**
 * The sending side: offer → wait for the answer (timeout and decline end it cleanly) → send
 * chunks only below the recipient's credit → DONE. Go-back-N: after a silence (or a credit
 * that repeats the recipient's position) it rewinds to the last acknowledged chunk. Restart:
 * `restore()` re-opens each recorded file (refusing one that changed), re-offers it under the
 * same id, and the recipient's credit says where to continue — never from zero unless the
 * recipient has nothing.
 */
export class FileSender extends EventEmitter<FileSenderEvents> {
  readonly #o: Required<Omit<FileSenderOptions, 'channel' | 'stateDir'>> & FileSenderOptions;
  readonly #store: TransferStore<OutgoingRecord>;
  readonly #out = new Map<string, Outgoing>();
  readonly counters = { chunksSent: 0, rewinds: 0, probes: 0 };
  #stopped = false;

  constructor(options: FileSenderOptions) {
    super();
    this.#o = {
      chunkBytes: FILE_CHUNK_BYTES,
      maxFileBytes: FILE_MAX_BYTES,
      offerTimeoutMs: FILE_OFFER_TIMEOUT_MS,
      resendMs: FILE_RESEND_MS,
      resendMaxMs: FILE_RESEND_MAX_MS,
      now: Date.now,
      ...options,
    };
    this.#store = new TransferStore(options.stateDir, 'files-out', isOutgoingRecord);
  }

  /** Outgoing transfers in progress. */
  list(): Array<TransferProgress & { name: string; accepted: boolean }> {
    return [...this.#out.values()].map((t) => ({
      id: t.rec.id,
      peer: t.rec.peer,
      direction: 'out',
      name: t.rec.name,
      bytes: Math.min(t.rec.size, t.acked * t.rec.chunkSize),
      total: t.rec.size,
      accepted: t.rec.accepted,
    }));
  }

  /** Resume every transfer recorded before a restart. */
  async restore(): Promise<void> {
    for (const [key, rec] of this.#store.all()) {
      if (this.#out.has(key)) continue;
      const t = this.#track(rec);
      try {
        const st = await stat(rec.path);
        if (st.size !== rec.size || st.mtimeMs !== rec.mtimeMs)
          throw new ClientError('CLIENT_ERR_FILE_SOURCE_CHANGED', rec.path);
        t.fh = await open(rec.path, 'r');
      } catch (err) {
        const code = err instanceof ClientError ? err.code : 'CLIENT_ERR_FILE_SOURCE_CHANGED';
        this.#send(t, { type: TransferMessageType.CANCEL, id: rec.id, reason: 'source-changed' });
        this.#fail(t, code, (err as Error).message);
        continue;
      }
      this.#noPath(t, !this.#probe(t));
      this.#arm(t);
    }
  }

  /**
   * Offer `path` to `peer`. Hashes the file first (streaming), then offers it; resolves with the
   * transfer id once the offer is out. The outcome comes as `done` / `failed` events.
   */
  async send(peer: string, path: string, opts: SendFileOptions = {}): Promise<{ id: string }> {
    if (this.#stopped) throw new ClientError('CLIENT_ERR_STOPPED');
    if (this.#out.size >= FILE_MAX_OUTGOING)
      throw new ClientError('CLIENT_ERR_FILE_TOO_MANY', `${this.#out.size} outgoing`, { limit: FILE_MAX_OUTGOING });
    const mediaType = opts.mediaType ?? 'application/octet-stream';
    if (!isMediaType(mediaType)) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'mediaType');
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path);
    } catch (err) {
      throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `cannot read ${path}: ${(err as Error).message}`);
    }
    if (!st.isFile()) throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `${path} is not a regular file`);
    if (st.size > this.#o.maxFileBytes)
      throw new ClientError('CLIENT_ERR_FILE_TOO_LARGE', `${st.size} bytes`, { limit: this.#o.maxFileBytes });
    const { hash, bytes } = await hashFilePrefix(path, st.size);
    const after = await stat(path);
    if (bytes !== st.size || after.mtimeMs !== st.mtimeMs || after.size !== st.size)
      throw new ClientError('CLIENT_ERR_FILE_SOURCE_CHANGED', `${path} changed while it was hashed`);
    const rec: OutgoingRecord = {
      peer,
      id: opts.id ?? randomBytes(16).toString('hex'),
      path,
      size: st.size,
      mtimeMs: st.mtimeMs,
      chunkSize: this.#o.chunkBytes,
      sha256: hash.digest('hex'),
      name: opts.name ?? basename(path),
      mediaType,
      note: opts.note ?? '',
      next: 0,
      offeredAt: this.#o.now(),
      accepted: false,
    };
    // Refuses a bad name/note length before anything is stored.
    encodeTransferMessage(this.#offerMessage(rec));
    const t = this.#track(rec);
    t.fh = await open(path, 'r');
    this.#store.put(t.key, rec);
    this.#noPath(t, !this.#probe(t));
    this.#arm(t);
    return { id: rec.id };
  }

  /**
   * A transfer to `peer` waits for the recipient: chunks sent and not yet acknowledged, or a
   * silence already rewound them and the probe is unanswered (its interval grew). The path
   * manager's stall detection watches file traffic with this (a dead link under a transfer is
   * suspected after PATH_STALL_MS without credit, not after the link's own ping timeout).
   */
  inFlight(peer: string): boolean {
    for (const t of this.#out.values()) {
      if (t.closed || t.rec.peer !== peer || !t.rec.accepted) continue;
      if (t.sentNext > t.acked || t.interval > this.#o.resendMs) return true;
    }
    return false;
  }

  /**
   * The best path to `peer` changed: every transfer to it starts its silence clock again at the
   * shortest interval. After a dead path (a WebRTC cut) the interval had doubled through the
   * silence before the switch, so the probe and rewind that restart the transfer on the new
   * path came 2, 4 or 8 s after it; now they come at most FILE_RESEND_MS after it (a transfer
   * that is flowing on the new path resets the clock itself, and nothing is re-sent). On a fall
   * back the probe and rewind happen at once instead.
   */
  pathChanged(peer: string, fellBack = false): void {
    for (const t of this.#out.values()) {
      if (t.closed || t.rec.peer !== peer) continue;
      t.interval = this.#o.resendMs;
      t.noPathWait = 0;
      // Fell back (the better path closed or went silent): what was in flight on it is lost, so
      // ask the recipient where it stands now, as a silence would a FILE_RESEND_MS later; its
      // answer grants credit for the new path. An upgrade keeps what is in flight: it arrives.
      if (fellBack && t.rec.accepted && t.acked < t.total) {
        this.#noPath(t, !this.#probe(t));
        this.#rewind(t);
      }
      this.#arm(t);
    }
  }

  /** Cancel an outgoing transfer; the recipient deletes what it has. */
  cancel(peer: string, id: string): void {
    const t = this.#out.get(keyOf(peer, id));
    if (!t) throw new ClientError('CLIENT_ERR_FILE_UNKNOWN_TRANSFER', id);
    this.#send(t, { type: TransferMessageType.CANCEL, id, reason: 'cancelled' });
    this.#fail(t, 'CLIENT_ERR_FILE_CANCELLED', 'cancelled here');
  }

  /** A message from the recipient of one of our transfers. */
  handle(peer: string, m: TransferMessage): void {
    const t = this.#out.get(keyOf(peer, m.id));
    if (!t || t.closed) return;
    t.interval = this.#o.resendMs;
    t.noPathWait = 0;
    this.#arm(t);
    switch (m.type) {
      case TransferMessageType.ACCEPT:
        this.#accepted(t);
        break;
      case TransferMessageType.CREDIT:
        this.#credit(t, m.next, m.limit);
        break;
      case TransferMessageType.DECLINE:
      case TransferMessageType.FAILED:
        this.#fail(
          t,
          REASON_ERROR[m.reason],
          `${m.type === TransferMessageType.DECLINE ? 'declined' : 'failed'}: ${m.reason}`,
        );
        break;
      case TransferMessageType.DONE:
        this.#done(t);
        break;
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#out.values()) {
      t.closed = true;
      if (t.timer) clearTimeout(t.timer);
      void t.fh?.close().catch(() => {});
    }
    this.#out.clear();
  }

  #track(rec: OutgoingRecord): Outgoing {
    const t: Outgoing = {
      rec,
      key: keyOf(rec.peer, rec.id),
      total: chunkCount(rec.size, rec.chunkSize),
      acked: rec.next,
      sentNext: rec.next,
      grant: rec.next,
      persistedNext: rec.next,
      fh: null,
      pumping: false,
      interval: this.#o.resendMs,
      noPathWait: 0,
      timer: null,
      closed: false,
    };
    this.#out.set(t.key, t);
    return t;
  }

  #offerMessage(rec: OutgoingRecord): TransferMessage {
    return {
      type: TransferMessageType.OFFER,
      id: rec.id,
      size: rec.size,
      chunkSize: rec.chunkSize,
      sha256: Buffer.from(rec.sha256, 'hex'),
      name: rec.name,
      mediaType: rec.mediaType,
      note: rec.note,
    };
  }

  /** (Re-)send the offer: first contact, the answer to silence, and the resume request. */
  /** Re-send the offer; false when the channel had no path for it. */
  #probe(t: Outgoing): boolean {
    this.counters.probes++;
    return this.#send(t, this.#offerMessage(t.rec));
  }

  #send(t: Outgoing, m: TransferMessage): boolean {
    return this.#o.channel.send(t.rec.peer, encodeTransferMessage(m));
  }

  #arm(t: Outgoing): void {
    if (t.timer) clearTimeout(t.timer);
    if (t.closed) return;
    const wait = t.noPathWait > 0 ? Math.min(t.noPathWait, t.interval) : t.interval;
    t.timer = setTimeout(() => this.#silence(t), wait);
    t.timer.unref?.();
  }

  /** Note whether the last send found no path: the next try comes sooner (see `noPathWait`). */
  #noPath(t: Outgoing, none: boolean): void {
    if (!none) t.noPathWait = 0;
    else t.noPathWait = t.noPathWait === 0 ? FILE_NO_PATH_RETRY_MS : Math.min(t.noPathWait * 2, t.interval);
  }

  /** Nothing heard for one interval: give up on an unanswered offer, else probe and rewind. */
  #silence(t: Outgoing): void {
    if (t.closed) return;
    if (!t.rec.accepted && this.#o.now() - t.rec.offeredAt >= this.#o.offerTimeoutMs) {
      this.#send(t, { type: TransferMessageType.CANCEL, id: t.rec.id, reason: 'timeout' });
      this.#fail(t, 'CLIENT_ERR_FILE_OFFER_TIMEOUT', `no answer in ${this.#o.offerTimeoutMs} ms`);
      return;
    }
    const sent = this.#probe(t);
    this.#noPath(t, !sent);
    this.#rewind(t);
    // Back off only when the probe went out and was not answered. One that found no path (the
    // server restarting, every link down) says nothing about the peer: keep the pace, so the
    // transfer resumes within one FILE_RESEND_MS of a path coming back, not after a silence
    // that doubled all through the outage (up to FILE_RESEND_MAX_MS).
    if (sent) t.interval = Math.min(t.interval * 2, this.#o.resendMaxMs);
    this.#arm(t);
  }

  #rewind(t: Outgoing): void {
    if (t.sentNext > t.acked) {
      this.counters.rewinds++;
      t.sentNext = t.acked;
    }
  }

  #accepted(t: Outgoing): void {
    if (t.rec.accepted) return;
    t.rec.accepted = true;
    this.#store.put(t.key, t.rec);
    this.emit('accepted', { id: t.rec.id, peer: t.rec.peer, direction: 'out' });
  }

  #credit(t: Outgoing, next: number, limit: number): void {
    if (next > t.total) return; // a recipient that claims more than exists: ignore it
    this.#accepted(t);
    if (next > t.acked) {
      t.acked = next;
      if (t.acked - t.persistedNext >= FILE_PERSIST_EVERY_CHUNKS) {
        t.persistedNext = t.acked;
        this.#store.setNext(t.key, t.acked);
      }
      this.emit('progress', {
        id: t.rec.id,
        peer: t.rec.peer,
        direction: 'out',
        bytes: Math.min(t.rec.size, t.acked * t.rec.chunkSize),
        total: t.rec.size,
      });
    } else if (next < t.acked) {
      // The recipient went back (it restarted and lost unsynced chunks): it decides.
      t.acked = next;
      t.sentNext = next;
    } else if (limit <= t.grant) {
      // Same position, no new credit: the recipient is waiting for chunk `next` (one was lost).
      this.#rewind(t);
    }
    t.grant = Math.min(limit, t.total);
    if (t.sentNext < t.acked) t.sentNext = t.acked;
    void this.#pump(t);
  }

  /**
   * Send chunks while credit allows. Up to FILE_READ_AHEAD_CHUNKS are read from the file at a
   * time, with one readv(2) straight into their CHUNK messages (one thread-pool round trip for
   * many chunks, no copy; never more than the credit, so memory stays within the window), and
   * each chunk is checked against the grant again just before it goes.
   */
  async #pump(t: Outgoing): Promise<void> {
    if (t.pumping) return;
    t.pumping = true;
    const { size, chunkSize, id, peer } = t.rec;
    try {
      while (!t.closed && t.sentNext < t.grant && t.fh) {
        const first = t.sentNext;
        const count = Math.min(t.grant - first, FILE_READ_AHEAD_CHUNKS);
        const offset = first * chunkSize;
        const bytes = Math.min(count * chunkSize, size - offset);
        t.sentNext = first + count;
        const messages: Buffer[] = [];
        const bodies: Buffer[] = [];
        for (let i = 0; i < count; i++) {
          const { message, body } = allocChunk(id, first + i, chunkLength(size, chunkSize, first + i));
          messages.push(message);
          bodies.push(body);
        }
        const { bytesRead } = await t.fh.readv(bodies, offset);
        if (t.closed) return;
        if (bytesRead !== bytes) {
          this.#send(t, { type: TransferMessageType.CANCEL, id, reason: 'source-changed' });
          this.#fail(t, 'CLIENT_ERR_FILE_SOURCE_CHANGED', `${t.rec.path} is shorter than offered`);
          return;
        }
        for (let i = 0; i < count; i++) {
          const index = first + i;
          if (index >= t.grant) {
            // The recipient withdrew credit while we read: what is not granted is not sent.
            t.sentNext = Math.min(t.sentNext, index);
            break;
          }
          if (!this.#o.channel.send(peer, messages[i]!)) {
            // Refused mid-transfer (no path, or the path pushing back): the timer retries at its
            // usual pace. Retrying sooner would only rewind and re-send into the same push-back.
            t.sentNext = Math.min(t.sentNext, index);
            return;
          }
          this.counters.chunksSent++;
        }
      }
    } catch (err) {
      this.#fail(t, 'CLIENT_ERR_FILE_FAILED', `reading ${t.rec.path}: ${(err as Error).message}`);
    } finally {
      t.pumping = false;
    }
  }

  #done(t: Outgoing): void {
    this.#close(t);
    this.emit('done', { id: t.rec.id, peer: t.rec.peer, direction: 'out', size: t.rec.size, sha256: t.rec.sha256 });
  }

  #fail(t: Outgoing, code: ClientErrorCode, message: string): void {
    if (t.closed) return;
    this.#close(t);
    this.emit('failed', { id: t.rec.id, peer: t.rec.peer, direction: 'out', code, message });
  }

  #close(t: Outgoing): void {
    t.closed = true;
    if (t.timer) clearTimeout(t.timer);
    this.#out.delete(t.key);
    this.#store.delete(t.key);
    void t.fh?.close().catch(() => {});
    t.fh = null;
  }
}

/** Bytes a channel must carry for chunks of `chunkBytes`. */
export const chunkMessageBytes = (chunkBytes: number) => CHUNK_HEADER_BYTES + chunkBytes;
export type { TransferReasonName };
