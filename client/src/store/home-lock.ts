import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ClientError } from '../errors.js';
import { ensureDir, homeUnusable, isHomeErrno } from './home-dir.js';

/**
 * One live client per NEXUS_HOME: its journals are single-writer, and the server would let
 * two processes with one key take the connection from each other. The lock is a file holding
 * the owner's pid; a lock whose pid is gone is taken over.
 */
export class HomeLock {
  readonly #path: string;
  readonly #dir: string;
  #held = false;

  constructor(stateDir: string) {
    ensureDir(stateDir);
    this.#dir = stateDir;
    this.#path = join(stateDir, 'lock');
  }

  acquire(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.#path, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        this.#held = true;
        return;
      } catch (err) {
        if (isHomeErrno(err)) throw homeUnusable(this.#dir, err);
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const pid = Number.parseInt(safeRead(this.#path), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid))
        throw new ClientError('CLIENT_ERR_HOME_LOCKED', `pid ${pid} holds ${this.#path}`, { pid, path: this.#path });
      try {
        unlinkSync(this.#path); // stale: its owner is gone
      } catch {
        // someone else removed it first; retry the create
      }
    }
    throw new ClientError('CLIENT_ERR_HOME_LOCKED', this.#path, { path: this.#path });
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    try {
      if (safeRead(this.#path) === String(process.pid)) unlinkSync(this.#path);
    } catch {
      // already gone
    }
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
