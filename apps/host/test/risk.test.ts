import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDefaultRiskReviewer, hasJwtLikeToken, reviewSafely } from '../src/gates/risk.js';

const reviewer = createDefaultRiskReviewer({ highRiskBytes: 1000 });
const review = (body: string) =>
  reviewer.review({ direction: 'out', body, peer: 'p' }) as ReturnType<typeof reviewer.review> & {
    level: string;
    reasons: string[];
    summary: string;
  };

describe('default risk reviewer', () => {
  it('passes ordinary messages as low risk', () => {
    for (const body of [
      'What is 2 + 3?',
      'The answer is 5.',
      'Let us meet at 10/11 and discuss the plan.',
      '{"v":"p2p-agent/1","kind":"ask","id":"a","text":"hi"}',
    ]) {
      expect(review(body)).toMatchObject({ level: 'low', reasons: [] });
    }
  });

  it('flags file listings', () => {
    const ls =
      'total 12\ndrwxr-xr-x  2 alice alice 4096 Jan 1 10:00 docs\n-rw-r--r--  1 alice alice  220 Jan 1 10:00 notes.txt\n-rw-------  1 alice alice  100 Jan 1 10:00 todo\n';
    const v = review(ls);
    expect(v.level).toBe('high');
    expect(v.reasons).toContain('file-listing');
    expect(v.summary).toContain('a file listing');
    expect(review('src/a.ts\nsrc/b.ts\nsrc/lib/c.ts\n').reasons).toContain('file-listing');
    expect(review('.\n├── a\n├── b\n└── c\n').reasons).toContain('file-listing');
  });

  it('flags paths', () => {
    for (const body of [
      'see /home/alice/projects/x',
      'open C:\\Users\\bob\\secret.txt',
      'my key is in ~/.ssh/id_ed25519',
    ]) {
      expect(review(body).reasons).toContain('paths');
    }
  });

  it('flags credential-like strings', () => {
    for (const body of [
      '-----BEGIN OPENSSH PRIVATE KEY-----',
      'AKIAIOSFODNN7EXAMPLE',
      `token sk-ant-${'a1B2'.repeat(8)}`,
      `ghp_${'aB3d'.repeat(9)}`,
      'password = hunter22',
      'api_key: 1234abcd',
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'Xk9vQ2mP7rT4wZ8yB1nD6fH3jL5sA0cE',
    ]) {
      expect(review(body).reasons, body).toContain('credentials');
    }
  });

  it('flags payloads over the size limit', () => {
    const v = review('a '.repeat(600));
    expect(v).toMatchObject({ level: 'high', reasons: ['size'] });
    expect(v.summary).toContain('1200 bytes');
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (s) => {
        const v = review(s);
        expect(['low', 'high']).toContain(v.level);
      }),
      { numRuns: 300 },
    );
  });

  it('treats a failing or malformed reviewer as high risk (fail closed)', async () => {
    const input = { direction: 'in' as const, body: 'x', peer: 'p' };
    expect(
      (
        await reviewSafely(
          {
            review: () => {
              throw new Error('boom');
            },
          },
          input,
        )
      ).level,
    ).toBe('high');
    expect((await reviewSafely({ review: () => ({ level: 'meh' }) as never }, input)).level).toBe('high');
  });
});

describe('risk review of long messages (up to 16 MiB)', () => {
  it('judges 4 MiB of repetitive text without overflowing or failing the review', () => {
    const n = 4 * 1024 * 1024;
    const cases: Array<[string, string[]]> = [
      ['a'.repeat(n), ['size']],
      [`/${'a/'.repeat(n / 2)}`, ['paths', 'size']],
      [`C:\\${'a\\'.repeat(n / 2)}`, ['paths', 'size']],
      ['eyJ-'.repeat(n / 4), ['size']],
      [`sk-${'a'.repeat(n)}`, ['credentials', 'size']],
      [`password = ${'a'.repeat(n)}`, ['credentials', 'size']],
      [`password${' '.repeat(n)}`, ['size']],
    ];
    for (const [body, reasons] of cases) expect(review(body).reasons).toEqual(reasons);
  });

  it('finds JSON web tokens exactly as the open pattern does, in linear time', () => {
    const open = /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;
    const piece = fc.constantFrom('eyJ', 'a', 'Z9', '.', '-', ' ', '_', 'aaaaaaaaaa', 'é');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (ps) => {
        const text = ps.join('');
        expect(hasJwtLikeToken(text)).toBe(open.test(text));
      }),
      { numRuns: 2_000 },
    );
    expect(
      hasJwtLikeToken('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'),
    ).toBe(true);
  });
});
