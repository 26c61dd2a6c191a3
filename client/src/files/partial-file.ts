/**
 * The partial file of an incoming transfer on disk: created empty for a new transfer, reopened
 * after a restart at its last durable chunk (chunks past it may be torn, so they are cut off
 * and the sender sends them again) with the hash re-fed up to there.
 */
import { createHash, type Hash } from 'node:crypto';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { ensureDir } from '../store/home-dir.js';
import { hashFilePrefix } from './hash-file.js';
import type { IncomingRecord } from './incoming-record.js';
import { PARTIAL_DIR, partialPath } from './landing.js';
import { chunkCount } from './wire.js';

export interface OpenPartial {
  fh: FileHandle;
  /** Chunks on disk in order (where writing goes on). */
  next: number;
  /** SHA-256 fed with those chunks. */
  hash: Hash;
}

/** A new, empty partial file (owner-only). */
export async function createPartial(inboxDir: string, rec: IncomingRecord): Promise<OpenPartial> {
  ensureDir(`${inboxDir}/${PARTIAL_DIR}`);
  const fh = await open(partialPath(inboxDir, rec.offer.peer, rec.offer.id), 'w', 0o600);
  return { fh, next: 0, hash: createHash('sha256') };
}

/** Reopen a partial file at its durable point; throws when it is gone or unreadable. */
export async function reopenPartial(inboxDir: string, rec: IncomingRecord): Promise<OpenPartial> {
  const path = partialPath(inboxDir, rec.offer.peer, rec.offer.id);
  const size = (await stat(path)).size;
  const next = Math.min(rec.next, Math.floor(size / rec.chunkSize), chunkCount(rec.offer.size, rec.chunkSize));
  const fh = await open(path, 'r+');
  try {
    const keep = Math.min(next * rec.chunkSize, rec.offer.size);
    await fh.truncate(keep);
    const { hash } = await hashFilePrefix(path, keep);
    return { fh, next, hash };
  } catch (err) {
    await fh.close().catch(() => {});
    throw err;
  }
}
