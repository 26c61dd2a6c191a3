import { describe, expect, it } from 'vitest';
import {
  formatBarLine,
  formatBytes,
  formatDuration,
  formatPlainLine,
  ProgressReporter,
  RateMeter,
} from '../../src/files/progress.js';

describe('progress formatting', () => {
  it('formats bytes and durations', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(27 * 1024 ** 2)).toBe('27.0 MiB');
    expect(formatBytes(1024 ** 3)).toBe('1.0 GiB');
    expect(formatDuration(3)).toBe('0:03');
    expect(formatDuration(65)).toBe('1:05');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(Number.NaN)).toBe('--:--');
    expect(formatDuration(1e9)).toBe('--:--');
  });

  it('averages the rate over its window', () => {
    const r = new RateMeter(1000);
    expect(r.rate()).toBe(0);
    r.add(0, 0);
    r.add(500, 1000);
    expect(r.rate()).toBe(2000);
    r.add(3000, 1000); // stalled for 2.5 s: the old burst leaves the window
    r.add(3500, 1000);
    expect(r.rate()).toBe(0);
  });

  it('a plain line says percent, bytes, rate and ETA', () => {
    const p = { name: 'report.pdf', bytes: 12 * 1024 ** 2, total: 24 * 1024 ** 2, rate: 4 * 1024 ** 2 };
    expect(formatPlainLine(p)).toBe('report.pdf: 50% (12.0 MiB of 24.0 MiB), 4.0 MiB/s, ETA 0:03');
    expect(formatPlainLine({ ...p, rate: 0 })).toContain('ETA --:--');
    expect(formatPlainLine({ name: 'e', bytes: 0, total: 0, rate: 0 })).toContain('100%');
  });

  it('a bar line fills its width and shortens a long name', () => {
    const p = { name: 'report.pdf', bytes: 50, total: 100, rate: 10 };
    const line = formatBarLine(p, 79);
    expect(line.length).toBe(79);
    expect(line).toMatch(/^report\.pdf \[#+-+\] {2}50% {2}50 B\/100 B {2}10 B\/s {2}ETA 0:05$/);
    const bar = line.slice(line.indexOf('[') + 1, line.indexOf(']'));
    expect(bar.split('#').length - 1).toBe(Math.floor(bar.length / 2));
    const long = formatBarLine({ ...p, name: 'x'.repeat(100) }, 79);
    expect([...long].length).toBe(79);
    expect(long).toContain('…');
    expect(formatBarLine(p, 20).length).toBeLessThanOrEqual(20);
  });

  it('on a terminal: one line redrawn in place, throttled, then a newline', () => {
    let now = 0;
    const out: string[] = [];
    const r = new ProgressReporter({
      name: 'f',
      total: 1000,
      tty: true,
      columns: 60,
      now: () => now,
      write: (s) => out.push(s),
    });
    r.update(100);
    now = 50;
    r.update(200); // within 100 ms: not drawn
    now = 150;
    r.update(300);
    r.finish();
    expect(out.filter((s) => s.startsWith('\r'))).toHaveLength(3);
    expect(out.at(-1)).toBe('\n');
    expect(out.every((s) => !s.slice(0, -1).includes('\n'))).toBe(true);
  });

  it('not a terminal: plain lines at each 10 % step or every 5 s, never a carriage return', () => {
    let now = 0;
    const out: string[] = [];
    const r = new ProgressReporter({ name: 'f', total: 1000, tty: false, now: () => now, write: (s) => out.push(s) });
    for (let b = 0; b <= 1000; b += 10) {
      now += 10;
      r.update(b);
    }
    expect(out).toHaveLength(11); // 0 %, 10 %, … 100 %
    now += 6000;
    r.update(1000); // same step, but 5 s later
    expect(out).toHaveLength(12);
    expect(out.join('')).not.toContain('\r');
    expect(out.every((l) => l.endsWith('\n'))).toBe(true);
  });
});
