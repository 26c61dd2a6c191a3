import { appendFileSync, closeSync, openSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { JOURNAL_COMPACT_LINES, MAX_STATE_FILE_BYTES } from '../constants.js';
import { ClientError } from '../errors.js';
import { readFileBounded, writeFileAtomic } from './atomic-file.js';
import { ensureDir } from './home-dir.js';

export interface JournalContents<S, E> {
  snapshot: S | null;
  entries: E[];
}

/**
 * Durable state as a snapshot (`<name>.json`, written atomically) plus an append-only log
 * (`<name>.log`, one JSON line per change). Each append is one write(2), so a killed process
 * leaves at most a torn last line, which load() ignores. Applying a log entry must be
 * idempotent: a crash between writing a new snapshot and truncating the log replays entries
 * the snapshot already holds.
 */
export class Journal<S, E> {
  readonly #snapshotPath: string;
  readonly #logPath: string;
  #lines = 0;

  constructor(dir: string, name: string) {
    this.#snapshotPath = `${dir}/${name}.json`;
    this.#logPath = `${dir}/${name}.log`;
  }

  load(): JournalContents<S, E> {
    const snapshot = this.#read(this.#snapshotPath);
    let parsedSnapshot: S | null = null;
    if (snapshot !== null) {
      try {
        parsedSnapshot = JSON.parse(snapshot) as S;
      } catch {
        throw this.#corrupt(this.#snapshotPath, 'not valid JSON');
      }
    }
    const log = this.#read(this.#logPath) ?? '';
    const lines = log.split('\n');
    const entries: E[] = [];
    lines.forEach((line, i) => {
      if (line.length === 0) return;
      try {
        entries.push(JSON.parse(line) as E);
      } catch {
        // Only the last line may be torn (killed mid-append); anything earlier is corruption.
        if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.length > 0))
          throw this.#corrupt(this.#logPath, `line ${i + 1} is not valid JSON`);
      }
    });
    this.#lines = entries.length;
    return { snapshot: parsedSnapshot, entries };
  }

  append(entry: E): void {
    ensureDir(dirname(this.#logPath));
    appendFileSync(this.#logPath, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    this.#lines++;
  }

  /** True once the log is long enough to be folded into a snapshot. */
  get wantsCompaction(): boolean {
    return this.#lines >= JOURNAL_COMPACT_LINES;
  }

  /** Replace the snapshot with `state` and empty the log. */
  compact(state: S): void {
    writeFileAtomic(this.#snapshotPath, JSON.stringify(state), 0o600);
    ensureDir(dirname(this.#logPath));
    closeSync(openSync(this.#logPath, 'a', 0o600));
    writeFileSync(this.#logPath, '');
    this.#lines = 0;
  }

  #read(path: string): string | null {
    try {
      return readFileBounded(path, MAX_STATE_FILE_BYTES)?.toString('utf8') ?? null;
    } catch (err) {
      throw this.#corrupt(path, (err as Error).message);
    }
  }

  #corrupt(path: string, why: string): ClientError {
    return new ClientError('CLIENT_ERR_STATE_CORRUPT', `${path}: ${why}`, { path });
  }
}
