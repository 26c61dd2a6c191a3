import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * Write a file so that a reader (or a crash) sees either the old or the new content, never a
 * mix: write a sibling temp file with the final mode, fsync, rename over the target.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', mode);
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
    throw err;
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
