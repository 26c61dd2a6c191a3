/**
 * `p2p-comm listen`: progress of incoming files, drawn like `send --file` draws an outgoing one
 * (files/progress.ts): a bar redrawn in place when stderr is a terminal, plain lines now and
 * then otherwise. One reporter per transfer, made at its first progress event and dropped at
 * its end; long messages never reach here (their transfers do not emit file.* events).
 */
import { FILE_MAX_INCOMING } from '../files/constants.js';
import { ProgressReporter } from '../files/progress.js';

/**
 * Incoming transfers drawn at once, transfers: the engine's own FILE_MAX_INCOMING. A progress
 * event for one more (never expected) is not drawn.
 */
export const LISTEN_PROGRESS_MAX = FILE_MAX_INCOMING;

interface ProgressEvent {
  id: string;
  peer: string;
  direction: 'in' | 'out';
  bytes: number;
  total: number;
  name: string;
}

export interface IncomingProgressOptions {
  write: (s: string) => void;
  tty: boolean;
  columns?: number;
  now?: () => number;
}

export class IncomingProgress {
  readonly #o: IncomingProgressOptions;
  /** "<peer>/<id>" → its reporter (bounded by LISTEN_PROGRESS_MAX). */
  readonly #shown = new Map<string, { reporter: ProgressReporter; total: number }>();

  constructor(o: IncomingProgressOptions) {
    this.#o = o;
  }

  progress(p: ProgressEvent): void {
    if (p.direction !== 'in') return;
    const key = `${p.peer}/${p.id}`;
    let s = this.#shown.get(key);
    if (!s) {
      if (this.#shown.size >= LISTEN_PROGRESS_MAX) return;
      const reporter = new ProgressReporter({
        name: p.name || p.id,
        total: p.total,
        write: this.#o.write,
        tty: this.#o.tty,
        columns: this.#o.columns ?? 80,
        ...(this.#o.now ? { now: this.#o.now } : {}),
      });
      s = { reporter, total: p.total };
      this.#shown.set(key, s);
    }
    s.reporter.update(p.bytes);
  }

  /** The transfer landed: the bar ends at 100 %. */
  done(r: { id: string; peer: string; direction: 'in' | 'out' }): void {
    const s = this.#take(r);
    if (!s) return;
    s.reporter.update(s.total);
    s.reporter.finish();
  }

  /** It failed: end the bar's line so the failure is printed on its own. */
  failed(r: { id: string; peer: string; direction: 'in' | 'out' }): void {
    if (this.#take(r) && this.#o.tty) this.#o.write('\n');
  }

  #take(r: { id: string; peer: string; direction: 'in' | 'out' }) {
    if (r.direction !== 'in') return undefined;
    const key = `${r.peer}/${r.id}`;
    const s = this.#shown.get(key);
    this.#shown.delete(key);
    return s;
  }
}
