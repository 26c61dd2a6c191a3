/**
 * Where received files are written and how they become visible. A transfer writes
 * `<inbox>/.partial/<peer>-<id>.part`; only after the whole-content hash matched is it linked
 * to `<inbox>/<peer>/<sanitised name>` — link(2) fails on an existing name, so an existing
 * file is never overwritten and two landings cannot race to one name — and the temp name is
 * removed. A failed or cancelled transfer deletes its temp file: no partial file is ever
 * visible under the peer's directory.
 */
import { link, lstat, readdir, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ClientError } from '../errors.js';
import { ensureDir } from '../store/home-dir.js';
import { FILE_MAX_NAME_SUFFIX, FILE_QUOTA_SCAN_MAX_ENTRIES } from './constants.js';
import { safePeerDirName, suffixedName } from './safe-name.js';

/** Directory of partial files inside the inbox (hidden, never a peer directory: keys have no dot). */
export const PARTIAL_DIR = '.partial';

export function partialPath(inbox: string, peer: string, id: string): string {
  return join(inbox, PARTIAL_DIR, `${safePeerDirName(peer)}-${id}.part`);
}

export function peerDir(inbox: string, peer: string): string {
  return join(inbox, safePeerDirName(peer));
}

/** errno codes that mean the disk (or the user's disk quota) is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Link the verified temp file to the first free name among `name`, `name (1)`, … in the
 * peer's directory, then remove the temp name. Returns the final path.
 */
export async function landFile(inbox: string, peer: string, tempPath: string, name: string): Promise<string> {
  const dir = peerDir(inbox, peer);
  ensureDir(dir);
  for (let n = 0; n <= FILE_MAX_NAME_SUFFIX; n++) {
    const target = join(dir, suffixedName(name, n));
    try {
      await link(tempPath, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    await unlink(tempPath);
    return target;
  }
  throw new ClientError('CLIENT_ERR_FILE_QUOTA', `${FILE_MAX_NAME_SUFFIX} files named "${name}" already`);
}

/** Remove a temp file; gone already is fine. */
export async function removePartial(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** Bytes free for this user on the file system holding `dir`; null if it cannot be told. */
export async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/**
 * Bytes the inbox holds: regular files in the inbox and one level of directories below it
 * (peer directories and .partial), at most FILE_QUOTA_SCAN_MAX_ENTRIES entries looked at.
 */
export async function inboxBytes(inbox: string): Promise<number> {
  let total = 0;
  let seen = 0;
  const walk = async (dir: string, depth: number): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (++seen > FILE_QUOTA_SCAN_MAX_ENTRIES) return;
      try {
        const st = await lstat(join(dir, n));
        if (st.isFile()) total += st.size;
        else if (st.isDirectory() && depth === 0) await walk(join(dir, n), 1);
      } catch {
        // removed meanwhile
      }
    }
  };
  await walk(inbox, 0);
  return total;
}
