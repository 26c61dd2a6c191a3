/**
 * Progress for people: bytes, rate and ETA, as a redrawn bar on a terminal or as plain lines
 * (for logs and pipes). Pure: the clock and the output are passed in, so tests pin every
 * string.
 */
import {
  FILE_PROGRESS_PLAIN_INTERVAL_MS,
  FILE_PROGRESS_RATE_SAMPLES,
  FILE_PROGRESS_RATE_WINDOW_MS,
  FILE_PROGRESS_TTY_INTERVAL_MS,
} from './constants.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB"; bytes below 1 KiB as integers. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** Seconds as m:ss or h:mm:ss; "--:--" when unknown (no rate yet) or absurd (over 99 h). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0 || seconds >= 99 * 3600) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Average rate over the last FILE_PROGRESS_RATE_WINDOW_MS, from (time, bytes) samples. */
export class RateMeter {
  readonly #samples: Array<{ at: number; bytes: number }> = [];
  readonly #windowMs: number;

  constructor(windowMs = FILE_PROGRESS_RATE_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  /** Record that `bytes` (cumulative) were done at `at` ms. */
  add(at: number, bytes: number): void {
    this.#samples.push({ at, bytes });
    // Keep one sample older than the window as the baseline; bound the count.
    while (this.#samples.length > 2 && this.#samples[1]!.at <= at - this.#windowMs) this.#samples.shift();
    if (this.#samples.length > FILE_PROGRESS_RATE_SAMPLES) this.#samples.splice(1, 1);
  }

  /** Bytes per second; 0 until two samples span some time. */
  rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || !last || last.at <= first.at) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }
}

export interface ProgressState {
  name: string;
  bytes: number;
  total: number;
  /** Bytes per second. */
  rate: number;
}

function eta(p: ProgressState): string {
  return p.rate > 0 ? formatDuration((p.total - p.bytes) / p.rate) : formatDuration(Number.NaN);
}

function percent(p: ProgressState): number {
  return p.total === 0 ? 100 : Math.floor((p.bytes / p.total) * 100);
}

/** One plain line: "report.pdf: 45% (12.3 MiB of 27.0 MiB), 4.5 MiB/s, ETA 0:03". */
export function formatPlainLine(p: ProgressState): string {
  return `${p.name}: ${percent(p)}% (${formatBytes(p.bytes)} of ${formatBytes(p.total)}), ${formatBytes(Math.round(p.rate))}/s, ETA ${eta(p)}`;
}

/**
 * One terminal line of exactly `width` columns (or less when it cannot fit):
 * "report.pdf [#######-------]  45%  12.3 MiB/27.0 MiB  4.5 MiB/s  ETA 0:03".
 */
export function formatBarLine(p: ProgressState, width: number): string {
  const pct = percent(p);
  const tail = ` ${String(pct).padStart(3)}%  ${formatBytes(p.bytes)}/${formatBytes(p.total)}  ${formatBytes(Math.round(p.rate))}/s  ETA ${eta(p)}`;
  const nameRoom = Math.max(8, Math.min(30, width - tail.length - 12));
  const name = [...p.name].length > nameRoom ? `${[...p.name].slice(0, nameRoom - 1).join('')}…` : p.name;
  const barWidth = width - [...name].length - tail.length - 3;
  if (barWidth < 5) return `${name}${tail}`.slice(0, Math.max(0, width));
  const filled = Math.floor((pct / 100) * barWidth);
  return `${name} [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]${tail}`;
}

export interface ProgressReporterOptions {
  name: string;
  total: number;
  /** Where text goes (process.stderr.write in the CLI). */
  write: (s: string) => void;
  /** A terminal: one line redrawn in place. Otherwise: plain lines, now and then. */
  tty: boolean;
  /** Terminal width, columns. */
  columns?: number;
  now?: () => number;
}

/**
 * Turns progress updates into output: on a terminal, a bar redrawn at most every
 * FILE_PROGRESS_TTY_INTERVAL_MS; otherwise a plain line per 10 % step or per
 * FILE_PROGRESS_PLAIN_INTERVAL_MS, whichever comes first. `finish()` prints the last state.
 */
export class ProgressReporter {
  readonly #o: Required<ProgressReporterOptions>;
  readonly #rate = new RateMeter();
  #bytes = 0;
  #lastAt = Number.NEGATIVE_INFINITY;
  #lastStep = -1;

  constructor(o: ProgressReporterOptions) {
    this.#o = { columns: 80, now: Date.now, ...o };
  }

  update(bytes: number): void {
    const now = this.#o.now();
    this.#bytes = bytes;
    this.#rate.add(now, bytes);
    if (this.#o.tty) {
      if (now - this.#lastAt < FILE_PROGRESS_TTY_INTERVAL_MS) return;
      this.#draw(now);
      return;
    }
    const step = this.#o.total === 0 ? 10 : Math.floor((bytes / this.#o.total) * 10);
    if (step > this.#lastStep || now - this.#lastAt >= FILE_PROGRESS_PLAIN_INTERVAL_MS) this.#draw(now, step);
  }

  /** The final state, then a newline on a terminal. */
  finish(): void {
    this.#draw(this.#o.now(), 10);
    if (this.#o.tty) this.#o.write('\n');
  }

  #draw(now: number, step = this.#lastStep): void {
    this.#lastAt = now;
    this.#lastStep = step;
    const state = { name: this.#o.name, bytes: this.#bytes, total: this.#o.total, rate: this.#rate.rate() };
    if (this.#o.tty) this.#o.write(`\r${formatBarLine(state, this.#o.columns - 1)}`);
    else this.#o.write(`${formatPlainLine(state)}\n`);
  }
}
