/** Property tests of the sliding replay window against a model that remembers every counter. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isProtocolError } from '../../src/errors.js';
import { ReplayWindow } from '../../src/session/replay-window.js';

type Verdict = 'accept' | 'PROTO_ERR_SESSION_REPLAY' | 'PROTO_ERR_SESSION_TOO_OLD';

function offer(w: ReplayWindow, counter: number): Verdict {
  try {
    w.commit(counter);
    return 'accept';
  } catch (err) {
    if (isProtocolError(err) && (err.code === 'PROTO_ERR_SESSION_REPLAY' || err.code === 'PROTO_ERR_SESSION_TOO_OLD'))
      return err.code;
    throw err;
  }
}

const sizes = fc.constantFrom(32, 64, 128, 2048);
// Counters that mostly move forward with jitter and jumps, like reordering paths.
const counters = fc.array(
  fc.oneof(
    fc.integer({ min: 0, max: 300 }),
    fc.integer({ min: 0, max: 5_000 }),
    fc.integer({ min: 2 ** 32 - 100, max: 2 ** 32 + 100 }),
  ),
  { maxLength: 400 },
);

describe('ReplayWindow properties', () => {
  it('never accepts a counter twice, and agrees exactly with the model', () => {
    fc.assert(
      fc.property(sizes, counters, (size, seq) => {
        const w = new ReplayWindow(size);
        const seen = new Set<number>();
        let top = -1;
        for (const c of seq) {
          const expected: Verdict =
            c > top
              ? 'accept'
              : top - c >= size
                ? 'PROTO_ERR_SESSION_TOO_OLD'
                : seen.has(c)
                  ? 'PROTO_ERR_SESSION_REPLAY'
                  : 'accept';
          const got = offer(w, c);
          expect(got).toBe(expected);
          if (seen.has(c)) expect(got).not.toBe('accept'); // no false accept of a seen counter
          if (got === 'accept') {
            seen.add(c);
            top = Math.max(top, c);
          }
        }
        expect(w.highest).toBe(top);
      }),
      { numRuns: 300 },
    );
  });

  it('check() records nothing: only commit() does', () => {
    fc.assert(
      fc.property(counters, (seq) => {
        const w = new ReplayWindow(64);
        for (const c of seq) w.check(c);
        expect(w.highest).toBe(-1);
      }),
    );
  });

  it('memory is fixed at construction whatever the traffic', () => {
    fc.assert(
      fc.property(sizes, counters, (size, seq) => {
        const w = new ReplayWindow(size);
        const before = w.stateBytes;
        for (const c of seq) offer(w, c);
        expect(w.stateBytes).toBe(before);
        expect(before).toBe((size / 32 + 1) * 4);
      }),
      { numRuns: 100 },
    );
  });
});
