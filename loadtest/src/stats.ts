/** Small statistics helpers: percentiles over a bounded sample reservoir. */
import { MAX_LATENCY_SAMPLES } from './constants.js';

/** Keeps at most `limit` samples; past that, reservoir sampling keeps a uniform subset. */
export class Reservoir {
  readonly #samples: number[] = [];
  #seen = 0;
  constructor(private readonly limit = MAX_LATENCY_SAMPLES) {}
  add(v: number): void {
    this.#seen++;
    if (this.#samples.length < this.limit) this.#samples.push(v);
    else {
      const j = Math.floor(Math.random() * this.#seen);
      if (j < this.limit) this.#samples[j] = v;
    }
  }
  get count(): number {
    return this.#seen;
  }
  values(): number[] {
    return this.#samples.slice();
  }
}

/** Nearest-rank percentile (p in [0, 100]) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p * sorted.length) / 100 - 1e-9)));
  return sorted[rank - 1]!;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(values: readonly number[]): LatencySummary {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p99: percentile(values, 99),
    p999: percentile(values, 99.9),
    max: values.length ? values.reduce((m, v) => Math.max(m, v), -Infinity) : Number.NaN,
  };
}
