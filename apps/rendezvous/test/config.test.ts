import { describe, expect, it } from 'vitest';
import { CONFIG_SPEC, loadConfig } from '../src/config.js';
import { RendezvousError } from '../src/errors.js';

describe('loadConfig', () => {
  it('applies the documented defaults and freezes the result', () => {
    const c = loadConfig({});
    expect(c.host).toBe('0.0.0.0');
    expect(c.port).toBe(8080);
    expect(c.stunPort).toBe(3478);
    expect(c.stunAltPort).toBe(3479);
    expect(c.stunHost).toBe('0.0.0.0');
    expect(c.redisUrl).toBeNull();
    expect(c.admission).toBe('open');
    expect(c.maxFrameBytes).toBe(65536);
    expect(c.authDeadlineMs).toBe(10000);
    expect(c.heartbeatIntervalMs).toBe(30000);
    expect(c.turnTtlS).toBe(3600);
    expect(c.instanceId).toMatch(/^[0-9a-f]{12}$/);
    expect(Object.isFrozen(c)).toBe(true);
    for (const e of CONFIG_SPEC) {
      if (typeof e.default === 'number') expect(c[e.key], e.env).toBe(e.default);
    }
  });

  it('reports every problem at once', () => {
    let err: unknown;
    try {
      loadConfig({
        PORT: 'x',
        ADMISSION: 'token',
        MAX_FRAME_BYTES: '-1',
        REDIS_URL: 'http://nope',
        TURN_SECRET: 's',
        TRUST_PROXY: 'maybe',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RendezvousError);
    const e = err as RendezvousError;
    expect(e.code).toBe('RDV_ERR_CONFIG');
    for (const s of [
      'PORT',
      'INVITE_SECRET',
      'MAX_FRAME_BYTES',
      'REDIS_URL',
      'TURN_SECRET and TURN_URLS',
      'TRUST_PROXY',
    ])
      expect(e.message).toContain(s);
  });

  it('parses lists and booleans', () => {
    const c = loadConfig({
      PUBLIC_ORIGINS: 'rdv.example.org, rdv.example.org:8443',
      TRUST_PROXY: 'true',
      REDIS_CLUSTER_NODES: 'a:7000,b:7001',
      STUN_HOST: '::',
    });
    expect(c.publicOrigins).toEqual(['rdv.example.org', 'rdv.example.org:8443']);
    expect(c.trustProxy).toBe(true);
    expect(c.redisClusterNodes).toEqual(['a:7000', 'b:7001']);
    expect(c.stunHost).toBe('::');
  });

  it('requires a long enough invite secret and an allowlist source', () => {
    expect(() => loadConfig({ ADMISSION: 'token', INVITE_SECRET: 'short' })).toThrow(/INVITE_SECRET/);
    expect(() => loadConfig({ ADMISSION: 'allowlist' })).toThrow(/ALLOWLIST_FILE/);
    expect(() => loadConfig({ ADMISSION: 'allowlist', ALLOWLIST_REDIS_KEY: 'k' })).toThrow(/needs REDIS_URL/);
    expect(() => loadConfig({ REDIS_KEY_PREFIX: 'a{b}' })).toThrow(/REDIS_KEY_PREFIX/);
  });

  it('derives RECIPIENT_BUSY_BYTES from SEND_QUEUE_MAX_BYTES and keeps an accepted frame under the hard cap', () => {
    expect(loadConfig({}).recipientBusyBytes).toBe(512 * 1024);
    expect(loadConfig({ SEND_QUEUE_MAX_BYTES: String(4 << 20) }).recipientBusyBytes).toBe(2 << 20);
    expect(loadConfig({ RECIPIENT_BUSY_BYTES: '1' }).recipientBusyBytes).toBe(1);
    // busy + one max frame must fit under the hard cap, so only a non-reading flooder reaches it.
    expect(() => loadConfig({ RECIPIENT_BUSY_BYTES: String(1024 * 1024 - 1000) })).toThrow(
      /RECIPIENT_BUSY_BYTES \+ MAX_FRAME_BYTES/,
    );
    expect(() => loadConfig({ MAILBOX_MAX_BYTES_PER_SENDER: '1000' })).toThrow(/MAILBOX_MAX_BYTES_PER_SENDER/);
    expect(() => loadConfig({ MAILBOX_TOTAL_MAX_BYTES: '1000' })).toThrow(/MAILBOX_TOTAL_MAX_BYTES/);
    expect(() => loadConfig({ SLOW_READER_TIMEOUT_MS: '0' })).toThrow(/SLOW_READER_TIMEOUT_MS/);
  });
});
