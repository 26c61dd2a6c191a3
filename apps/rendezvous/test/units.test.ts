import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { newChallenge } from '../src/challenge.js';
import { hostnameOf } from '../src/hostname.js';
import { takeTokens } from '../src/rate-limit.js';
import { IpState, Session } from '../src/session.js';
import { testConfig } from './helpers.js';

describe('takeTokens', () => {
  const cfg = testConfig({
    RATE_MSGS_PER_S: '10',
    RATE_BURST_MSGS: '3',
    RATE_BYTES_PER_S: '100000',
    RATE_BURST_BYTES: '100000',
  });
  const session = (now: number) =>
    new Session(
      null as unknown as WebSocket,
      null as never,
      'ip',
      new IpState(1e9, 1e9, now),
      newChallenge(),
      [],
      '',
      now,
      3,
      100_000,
    );

  it('allows the burst, then refills at the sustained rate', () => {
    const s = session(0);
    expect([1, 2, 3, 4].map(() => takeTokens(s, cfg, 10, 0))).toEqual([true, true, true, false]);
    expect(takeTokens(s, cfg, 10, 50)).toBe(false); // 0.5 token after 50 ms at 10/s
    expect(takeTokens(s, cfg, 10, 100)).toBe(true);
  });

  it('limits bytes as well as frames', () => {
    const s = session(0);
    expect(takeTokens(s, cfg, 100_001, 0)).toBe(false);
    expect(takeTokens(s, cfg, 100_000, 0)).toBe(true);
    expect(takeTokens(s, cfg, 1, 0)).toBe(false);
  });
});

describe('hostnameOf', () => {
  it('strips the port from names, IPv4 and bracketed IPv6', () => {
    expect(hostnameOf('rdv.example.org:8443')).toBe('rdv.example.org');
    expect(hostnameOf('10.0.0.1')).toBe('10.0.0.1');
    expect(hostnameOf('[2001:db8::1]:8080')).toBe('2001:db8::1');
    expect(hostnameOf('[broken')).toBe('');
  });
});

describe('newChallenge', () => {
  it('returns distinct 32-byte values', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(newChallenge().toString('hex'));
    expect(seen.size).toBe(1000);
  });
});
