import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateCredit, type CreditDemand, outstandingBytes } from '../../src/files/credit.js';
import { safePeerDirName, sanitizeFileName, suffixedName, truncateName } from '../../src/files/safe-name.js';

const demand = (key: string, next: number, limit: number, total = 1000, chunkBytes = 100): CreditDemand => ({
  key,
  next,
  limit,
  total,
  chunkBytes,
});

describe('credit allocation', () => {
  it('never exceeds a window or the budget, and grants only what a transfer still needs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(50), fc.nat(10), fc.integer({ min: 1, max: 60 })), { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 100, max: 2000 }),
        fc.integer({ min: 100, max: 5000 }),
        fc.nat(),
        (specs, windowBytes, budgetBytes, cursor) => {
          const demands = specs.map(([next, extra, total], i) =>
            demand(`t${i}`, Math.min(next, total), Math.min(next + Math.min(extra, 1), total), total),
          );
          const before = demands.reduce((s, d) => s + outstandingBytes(d), 0);
          const { grants } = allocateCredit(demands, { windowBytes, budgetBytes }, cursor);
          const after = demands.map((d) => ({ ...d, limit: grants.get(d.key) ?? d.limit }));
          const used = after.reduce((s, d) => s + outstandingBytes(d), 0);
          if (grants.size > 0) expect(used).toBeLessThanOrEqual(Math.max(budgetBytes, before, 100));
          for (const d of after) {
            expect(d.limit).toBeLessThanOrEqual(d.total);
            if (grants.has(d.key)) expect(outstandingBytes(d)).toBeLessThanOrEqual(Math.max(windowBytes, 100));
          }
        },
      ),
    );
  });

  it('shares a scarce budget round-robin: with more senders than chunks, everyone is served in turn', () => {
    const served = new Map<string, number>();
    let ds = Array.from({ length: 10 }, (_, i) => demand(`t${i}`, 0, 0));
    let cursor = 0;
    for (let round = 0; round < 30; round++) {
      const pass = allocateCredit(ds, { windowBytes: 1000, budgetBytes: 300 }, cursor);
      cursor = pass.cursor;
      ds = ds.map((d) => ({ ...d, limit: pass.grants.get(d.key) ?? d.limit }));
      for (const k of pass.grants.keys()) served.set(k, (served.get(k) ?? 0) + 1);
      // The oldest grant is consumed: that transfer's chunk arrived.
      const busy = ds.find((d) => d.limit > d.next)!;
      ds = ds.map((d) => (d === busy ? { ...d, next: d.next + 1 } : d));
    }
    for (let i = 0; i < 10; i++) expect(served.get(`t${i}`) ?? 0, `t${i}`).toBeGreaterThanOrEqual(2);
  });

  it('a transfer with its own (larger) window gets more, within the same budget', () => {
    const fast = { ...demand('direct', 0, 0), windowBytes: 800 };
    const { grants } = allocateCredit([demand('relay', 0, 0), fast], { windowBytes: 200, budgetBytes: 1000 }, 0);
    expect(grants.get('relay')).toBe(2);
    expect(grants.get('direct')).toBe(8);
  });

  it('one chunk is always allowed, even when a chunk is bigger than the window or budget', () => {
    const { grants } = allocateCredit([demand('a', 0, 0, 5, 10_000)], { windowBytes: 100, budgetBytes: 100 }, 0);
    expect(grants.get('a')).toBe(1);
  });
});

describe('safe names', () => {
  it('keeps ordinary names', () => {
    expect(sanitizeFileName('report.pdf')).toBe('report.pdf');
    expect(sanitizeFileName('Ünïcødé 文件.txt')).toBe('Ünïcødé 文件.txt');
  });

  it('never yields a separator, a leading dot, a control character, a device name or an over-long name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        let out: string;
        try {
          out = sanitizeFileName(s);
        } catch (err) {
          expect((err as { code: string }).code).toBe('CLIENT_ERR_FILE_BAD_NAME');
          return;
        }
        expect(out).not.toMatch(/[/\\\u0000-\u001f\u007f]/);
        expect(out.startsWith('.')).toBe(false);
        expect(out).not.toMatch(/^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$/i);
        expect(Buffer.byteLength(out)).toBeLessThanOrEqual(248);
        expect(out.length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('cuts long names on a character boundary and keeps the extension', () => {
    const cut = truncateName(`${'é'.repeat(200)}.tar.gz`, 100);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(100);
    expect(cut.endsWith('.gz')).toBe(true);
    expect(cut).not.toContain('\ufffd');
  });

  it('suffixes before the extension and refuses peer keys that are not base64url', () => {
    expect(suffixedName('a.txt', 2)).toBe('a (2).txt');
    expect(suffixedName('noext', 1)).toBe('noext (1)');
    expect(() => safePeerDirName('../x')).toThrow();
  });
});
