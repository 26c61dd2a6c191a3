/**
 * `p2p-comm listen`'s incoming-file progress (cli/listen-progress.ts) fed the client's own
 * file.progress / file.done / file.failed events: a bar redrawn in place on a terminal, plain
 * lines per 10 % otherwise, outgoing transfers left to `send --file`. (files-cli.test.ts checks
 * the plain lines of a real listen receiving a real 32 MiB file.)
 */
import { describe, expect, it } from 'vitest';
import { IncomingProgress, LISTEN_PROGRESS_MAX } from '../src/cli/listen-progress.js';

const MiB = 1024 * 1024;
const ref = (id: string) => ({ id, peer: 'peerA', direction: 'in' as const });

function run(tty: boolean) {
  let out = '';
  let now = 0;
  const p = new IncomingProgress({ write: (s) => (out += s), tty, columns: 100, now: () => now });
  const step = (id: string, bytes: number, total = 10 * MiB) => {
    now += 200;
    p.progress({ ...ref(id), bytes, total, name: `${id}.bin` });
  };
  return { p, step, out: () => out };
}

describe('listen: incoming file progress', () => {
  it('without a terminal: a plain line per 10 % step, ending at 100 % when the file landed', () => {
    const r = run(false);
    for (let b = 0; b <= 9 * MiB; b += MiB / 4) r.step('a', b);
    r.p.done(ref('a'));
    const lines = r.out().trim().split('\n');
    expect(r.out()).not.toContain('\r');
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.length).toBeLessThanOrEqual(12);
    for (const l of lines) expect(l).toMatch(/^a\.bin: \d{1,3}% \([\d.]+ (B|KiB|MiB) of 10\.0 MiB\), .*\/s, ETA /);
    expect(lines.at(-1)).toMatch(/^a\.bin: 100% \(10\.0 MiB of 10\.0 MiB\)/);
  });

  it('on a terminal: one bar redrawn in place (carriage returns), a newline at the end', () => {
    const r = run(true);
    for (let b = 0; b <= 10 * MiB; b += MiB) r.step('a', b);
    r.p.done(ref('a'));
    expect(r.out().split('\r').length).toBeGreaterThan(5);
    expect(r.out()).toMatch(/a\.bin \[#+\] 100%/);
    expect(r.out().endsWith('\n')).toBe(true);
    expect(r.out().slice(0, -1)).not.toContain('\n');
  });

  it('a failed transfer ends the bar’s line; outgoing transfers and unknown ends draw nothing', () => {
    const r = run(true);
    r.step('b', MiB);
    r.p.failed(ref('b'));
    expect(r.out().endsWith('\n')).toBe(true);
    const before = r.out();
    r.p.progress({ ...ref('c'), direction: 'out', bytes: 1, total: 2, name: 'c' });
    r.p.done(ref('nope'));
    r.p.failed({ ...ref('c'), direction: 'out' });
    expect(r.out()).toBe(before);
  });

  it(`draws at most LISTEN_PROGRESS_MAX (${LISTEN_PROGRESS_MAX}) transfers at once`, () => {
    const r = run(false);
    for (let i = 0; i <= LISTEN_PROGRESS_MAX; i++) r.step(`t${i}`, 0, 100);
    const names = new Set(
      r
        .out()
        .trim()
        .split('\n')
        .map((l) => l.split(':')[0]),
    );
    expect(names.size).toBe(LISTEN_PROGRESS_MAX);
  });
});
