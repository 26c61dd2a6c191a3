import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureDir, homeUnusable, isHomeErrno } from './home-dir.js';

/**
 * Write a file so that a reader (or a crash) sees either the old or the new content, never a
 * mix: write a sibling temp file with the final mode, fsync, rename over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  ensureDir(dirname(path));
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', mode);
  } catch (err) {
    // Read-only, not ours, full: the place is the problem, say so (CLIENT_ERR_HOME_UNUSABLE).
    throw isHomeErrno(err) ? homeUnusable(dirname(path), err) : err;
  }
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // the temp file is gone already; the rename error is what matters
    }
    throw isHomeErrno(err) ? homeUnusable(dirname(path), err) : err;
  }
}

/** Read a file of at most `maxBytes`; null when it does not exist. Other errors propagate. */
export function readFileBounded(path: string, maxBytes: number): Buffer | null {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  if (size > maxBytes) throw new RangeError(`${path} is ${size} bytes, over the ${maxBytes}-byte limit`);
  return readFileSync(path);
}
