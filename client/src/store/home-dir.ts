/**
 * Creating directories in NEXUS_HOME, and saying plainly why it cannot be used. Node's
 * `mkdirSync(p, { recursive: true })` spins forever under /proc (mkdir answers ENOENT, it
 * retries the parent, which exists, and so on), and its EACCES/EROFS/ENOTDIR surface as raw
 * stacks; here every step is bounded and every failure is CLIENT_ERR_HOME_UNUSABLE naming the
 * path, the reason and the fix.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ClientError } from '../errors.js';

/** Deepest directory chain ensureDir walks up; real homes are far shallower. */
export const HOME_MAX_DEPTH = 64;

const FIX = 'set NEXUS_HOME to a directory you can write (e.g. NEXUS_HOME=$HOME/.nexus)';

/** Error codes that mean the place itself is unusable (not that a file in it is corrupt). */
const HOME_ERRNOS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOSPC', 'EDQUOT', 'ELOOP', 'ENAMETOOLONG']);

export function isHomeErrno(err: unknown): boolean {
  return HOME_ERRNOS.has(String((err as NodeJS.ErrnoException | null)?.code));
}

/**
 * The error for `path` (in or above NEXUS_HOME) failing with `err`: one line, the path, the
 * system's reason in words and what to do.
 */
export function homeUnusable(path: string, err: unknown): ClientError {
  const code = String((err as NodeJS.ErrnoException | null)?.code ?? '');
  let reason: string;
  let where = path;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      reason = 'permission denied (EACCES): this user cannot write there; fix its owner/mode (chown, chmod) or';
      break;
    case 'EROFS':
      reason = 'read-only file system (EROFS);';
      break;
    case 'ENOTDIR':
    case 'EEXIST': {
      where = fileInTheWay(path) ?? path;
      reason = `${where === path ? 'it' : where} is a file, not a directory (${code}); move that file away or`;
      break;
    }
    case 'ENOENT':
      reason = 'directories cannot be created there (ENOENT; a virtual file system such as /proc or /sys?);';
      break;
    case 'ENOSPC':
    case 'EDQUOT':
      reason = `no space left (${code}); free some or`;
      break;
    default:
      reason = `${(err as Error)?.message ?? String(err)};`;
  }
  return new ClientError('CLIENT_ERR_HOME_UNUSABLE', `${path}: ${reason} ${FIX}`, {
    path,
    ...(code ? { errno: code } : {}),
  });
}

/** The nearest existing ancestor of `path` (or itself) that is not a directory. */
function fileInTheWay(path: string): string | undefined {
  let p = resolve(path);
  for (let i = 0; i < HOME_MAX_DEPTH; i++) {
    try {
      if (!statSync(p).isDirectory()) return p;
    } catch {
      // missing or unreadable: look further up
    }
    const parent = dirname(p);
    if (parent === p) return undefined;
    p = parent;
  }
  return undefined;
}

/**
 * `mkdir -p dir` with `mode` for the directories it creates, bounded: it walks up at most
 * HOME_MAX_DEPTH levels to the first existing directory, then creates each missing one once.
 * Throws CLIENT_ERR_HOME_UNUSABLE naming the directory that failed.
 */
export function ensureDir(dir: string, mode = 0o700): void {
  const missing: string[] = [];
  let p = resolve(dir);
  for (let depth = 0; ; depth++) {
    if (depth >= HOME_MAX_DEPTH) throw homeUnusable(dir, new Error(`more than ${HOME_MAX_DEPTH} levels deep`));
    try {
      if (!statSync(p).isDirectory())
        throw homeUnusable(dir, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
      break;
    } catch (err) {
      if (err instanceof ClientError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw homeUnusable(p, err);
    }
    missing.push(p);
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  for (const m of missing.reverse()) {
    try {
      mkdirSync(m, { mode });
    } catch (err) {
      // Someone else created it meanwhile: fine if it is a directory.
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && isDirectory(m)) continue;
      throw homeUnusable(m, err);
    }
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
