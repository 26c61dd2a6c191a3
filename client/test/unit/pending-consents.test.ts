import { describe, expect, it } from 'vitest';
import { PENDING_CONSENT_TTL_MS } from '../../src/constants.js';
import { validateClientInit } from '../../src/sdk/config.js';
import { PendingConsents } from '../../src/session/pending-consents.js';

const req = (key: string) => ({ key, requestId: `id-${key}` });

describe('PendingConsents', () => {
  it('expires entries ttlMs after they arrived', () => {
    let now = 1_000;
    const list = new PendingConsents({ max: 4, ttlMs: () => 100, now: () => now });
    list.add(req('a'));
    now = 1_050;
    list.add(req('b'));
    now = 1_100;
    expect(list.list().map((e) => e.key)).toEqual(['b']);
    expect(list.has('a')).toBe(false);
    now = 1_150;
    expect(list.size).toBe(0);
  });

  it('when full, drops the expired first and then the oldest; the newest is always listed', () => {
    let now = 0;
    const list = new PendingConsents({ max: 3, ttlMs: () => 1_000, now: () => now });
    for (const k of ['a', 'b', 'c']) {
      list.add(req(k));
      now += 10;
    }
    expect(list.add(req('d'))?.key).toBe('a');
    expect(list.list().map((e) => e.key)).toEqual(['b', 'c', 'd']);
    now = 1_015; // b expired, c and d not
    expect(list.add(req('e'))).toBeUndefined();
    expect(list.list().map((e) => e.key)).toEqual(['c', 'd', 'e']);
  });

  it('finds by key or request id, and reads the TTL at each use', () => {
    let ttl = 1_000;
    let now = 500;
    const list = new PendingConsents({ max: 2, ttlMs: () => ttl, now: () => now });
    list.add(req('a'));
    now = 650;
    expect(list.find('a')?.key).toBe('a');
    expect(list.find('id-a')?.key).toBe('a');
    expect(list.find('nope')).toBeUndefined();
    ttl = 100;
    expect(list.find('a')).toBeUndefined();
  });
});

describe('client config: consentTtlMs', () => {
  it('defaults to PENDING_CONSENT_TTL_MS and is checked', () => {
    expect(validateClientInit({ home: '/tmp/x' }).consentTtlMs).toBe(PENDING_CONSENT_TTL_MS);
    expect(validateClientInit({ home: '/tmp/x', consentTtlMs: 60_000 }).consentTtlMs).toBe(60_000);
    for (const bad of [0, 999, 1.5, '60000', 8 * 86_400_000])
      expect(() => validateClientInit({ home: '/tmp/x', consentTtlMs: bad }), String(bad)).toThrowError(
        expect.objectContaining({ code: 'CLIENT_ERR_CONFIG' }),
      );
  });
});
