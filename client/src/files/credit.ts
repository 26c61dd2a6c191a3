/**
 * The recipient's credit allocation: pure, so fairness is tested without sockets. Credit is
 * counted in chunks per transfer (`limit − next`: granted, not yet received) and in bytes
 * across transfers. Each pass hands out one chunk at a time, round-robin over the transfers
 * that want more, starting after the one served last in the previous pass; a transfer stops
 * at its window, all stop at the budget. So when the budget is the bottleneck every sender
 * gets the same share of chunks over time, and when there are more senders than budgeted
 * chunks, the ones left out are first in line for the next chunk that frees up: none starves.
 */

export interface CreditDemand {
  readonly key: string;
  /** Chunks received in order. */
  readonly next: number;
  /** Chunks granted so far (exclusive upper index). */
  readonly limit: number;
  /** Chunks in the whole transfer. */
  readonly total: number;
  readonly chunkBytes: number;
  /** This transfer's window, bytes, when it differs from `CreditLimits.windowBytes` (a faster path). */
  readonly windowBytes?: number;
}

export interface CreditLimits {
  /** Per transfer, bytes of outstanding credit; one chunk is always allowed. */
  readonly windowBytes: number;
  /** All transfers together, bytes; one chunk is always allowed when nothing is outstanding. */
  readonly budgetBytes: number;
}

export interface CreditPass {
  /** New limits for the transfers whose limit grew. */
  readonly grants: Map<string, number>;
  /** Where the next pass starts (index into the next pass's demand list, modulo its length). */
  readonly cursor: number;
}

export function outstandingBytes(d: CreditDemand): number {
  return (d.limit - d.next) * d.chunkBytes;
}

/** One allocation pass over `demands` (in a stable order), starting at `cursor`. */
export function allocateCredit(demands: readonly CreditDemand[], limits: CreditLimits, cursor: number): CreditPass {
  const grants = new Map<string, number>();
  const n = demands.length;
  if (n === 0) return { grants, cursor: 0 };
  const limit = demands.map((d) => d.limit);
  let used = 0;
  for (const d of demands) used += outstandingBytes(d);
  let at = ((cursor % n) + n) % n;
  let nextCursor = at;
  let idle = 0;
  // Each successful step grants one chunk, so the loop ends after at most budget/chunk steps
  // plus one idle round.
  while (idle < n) {
    const d = demands[at]!;
    const mine = (limit[at]! - d.next) * d.chunkBytes;
    const wants = limit[at]! < d.total;
    const inWindow = mine === 0 || mine + d.chunkBytes <= (d.windowBytes ?? limits.windowBytes);
    const inBudget = used === 0 || used + d.chunkBytes <= limits.budgetBytes;
    if (wants && inWindow && inBudget) {
      limit[at]!++;
      used += d.chunkBytes;
      grants.set(d.key, limit[at]!);
      idle = 0;
      nextCursor = (at + 1) % n;
    } else idle++;
    at = (at + 1) % n;
  }
  return { grants, cursor: nextCursor };
}
