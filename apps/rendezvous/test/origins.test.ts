/** Origins derived from the bind address (PUBLIC_ORIGINS unset) and the per-IP limit key. */
import { FrameType } from '@p2p-comm/protocol';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { DERIVED_ORIGINS_MAX_ENTRIES } from '../src/constants.js';
import { ipKey } from '../src/ip-group.js';
import { defaultOrigins, formatOrigin, type MachineNames } from '../src/origins.js';
import { startApp, TestClient } from './helpers.js';

const machine: MachineNames = {
  hostname: 'RDV-Box',
  interfaces: {
    lo: [
      { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '', internal: true, cidr: null },
      { address: '::1', netmask: '', family: 'IPv6', mac: '', internal: true, cidr: null, scopeid: 0 },
    ],
    eth0: [
      { address: '192.0.2.2', netmask: '', family: 'IPv4', mac: '', internal: false, cidr: null },
      { address: '2001:db8::2', netmask: '', family: 'IPv6', mac: '', internal: false, cidr: null, scopeid: 0 },
      { address: 'fe80::1', netmask: '', family: 'IPv6', mac: '', internal: false, cidr: null, scopeid: 2 },
    ],
  },
};

describe('defaultOrigins', () => {
  it('loopback bind: the address and localhost, with the bound port', () => {
    expect(defaultOrigins('127.0.0.1', 41234, machine)).toEqual(['127.0.0.1:41234', 'localhost:41234']);
    expect(defaultOrigins('::1', 8080, machine)).toEqual(['[::1]:8080', 'localhost:8080']);
    expect(defaultOrigins('localhost', 8080, machine)).toEqual(['localhost:8080', '127.0.0.1:8080', '[::1]:8080']);
  });

  it('wildcard bind: loopback names, hostname (lower case) and interface addresses, no link-local', () => {
    const o = defaultOrigins('0.0.0.0', 8080, machine);
    expect(o).toEqual([
      'localhost:8080',
      '127.0.0.1:8080',
      '[::1]:8080',
      'rdv-box:8080',
      '192.0.2.2:8080',
      '[2001:db8::2]:8080',
    ]);
    expect(defaultOrigins('::', 8080, machine)).toEqual(o);
  });

  it('a specific address or name: exactly that; port 80 prints no port, as a URL does', () => {
    expect(defaultOrigins('192.0.2.2', 9000, machine)).toEqual(['192.0.2.2:9000']);
    expect(defaultOrigins('rdv.internal', 80, machine)).toEqual(['rdv.internal']);
    expect(formatOrigin('2001:DB8::1', 80)).toBe('[2001:db8::1]');
    // What a client signs is what its URL parser prints: the two must agree.
    expect(formatOrigin('2001:db8::2', 8080)).toBe(new URL('ws://[2001:db8::2]:8080').host);
    expect(formatOrigin('RDV-Box', 80)).toBe(new URL('ws://RDV-Box:80').host);
  });

  it('is bounded by DERIVED_ORIGINS_MAX_ENTRIES', () => {
    const many: MachineNames = {
      hostname: 'h',
      interfaces: {
        eth: Array.from({ length: 500 }, (_, i) => ({
          address: `10.0.${i >> 8}.${i & 255}`,
          netmask: '',
          family: 'IPv4' as const,
          mac: '',
          internal: false,
          cidr: null,
        })),
      },
    };
    expect(defaultOrigins('0.0.0.0', 1, many)).toHaveLength(DERIVED_ORIGINS_MAX_ENTRIES);
  });

  it('every derived origin passes the PUBLIC_ORIGINS syntax check', () => {
    const o = defaultOrigins('0.0.0.0', 8080, machine);
    expect(loadConfig({ PUBLIC_ORIGINS: o.join(',') }).publicOrigins).toEqual(o);
  });
});

describe('ipKey (per-IP limit key)', () => {
  it('IPv4 is per address; IPv4-mapped IPv6 is the IPv4 address', () => {
    expect(ipKey('192.0.2.7', 64)).toBe('192.0.2.7');
    expect(ipKey('::ffff:192.0.2.7', 64)).toBe('192.0.2.7');
    expect(ipKey('::FFFF:c000:0207', 64)).toBe('192.0.2.7');
  });

  it('IPv6 is grouped by the prefix', () => {
    const a = ipKey('2001:db8:1:2:aaaa::1', 64);
    expect(a).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(ipKey('2001:db8:1:2:ffff:ffff:ffff:ffff', 64)).toBe(a);
    expect(ipKey('[2001:db8:1:2::9%eth0]', 64)).toBe(a);
    expect(ipKey('2001:db8:1:3::1', 64)).not.toBe(a);
    expect(ipKey('2001:db8:1:3::1', 48)).toBe(ipKey('2001:db8:1:2::1', 48));
    expect(ipKey('2001:db8:1:2:aaaa::1', 56)).toBe('2001:db8:1:0:0:0:0:0/56');
    expect(ipKey('2001:db8:1:ff:aaaa::1', 56)).toBe('2001:db8:1:0:0:0:0:0/56');
    expect(ipKey('2001:db8::1', 128)).toBe('2001:db8:0:0:0:0:0:1/128');
    expect(ipKey('::1', 64)).toBe('0:0:0:0:0:0:0:0/64');
  });

  it('anything that is not an address is its own key', () => {
    expect(ipKey('unknown', 64)).toBe('unknown');
  });
});

describe('config for the server edges', () => {
  it('NODE_ENV=production refuses to start without PUBLIC_ORIGINS', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/NODE_ENV=production needs PUBLIC_ORIGINS/);
    expect(loadConfig({ NODE_ENV: 'production', PUBLIC_ORIGINS: 'rdv.example.org' }).publicOrigins).toEqual([
      'rdv.example.org',
    ]);
    expect(loadConfig({}).publicOrigins).toEqual([]);
  });

  it('validates METRICS_TOKEN, INVITE_REVOKED, IPV6_PREFIX_BITS and MAX_UNAUTHENTICATED', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN must be at least 16 bytes/);
    expect(() => loadConfig({ INVITE_REVOKED: 'ok-id,not an id' })).toThrow(/INVITE_REVOKED entries/);
    expect(() => loadConfig({ IPV6_PREFIX_BITS: '129' })).toThrow(/IPV6_PREFIX_BITS/);
    expect(() => loadConfig({ MAX_UNAUTHENTICATED: '0' })).toThrow(/MAX_UNAUTHENTICATED/);
    const c = loadConfig({ INVITE_REVOKED: 'a1, b2', IPV6_PREFIX_BITS: '48', MAX_UNAUTHENTICATED: '5' });
    expect(c.inviteRevoked).toEqual(['a1', 'b2']);
    expect(c.ipv6PrefixBits).toBe(48);
    expect(c.maxUnauthenticated).toBe(5);
    expect(Object.isFrozen(c)).toBe(true);
  });
});

describe('explicit PUBLIC_ORIGINS', () => {
  it('are compared in lower case, as clients sign them; the Host header does not matter', async () => {
    const { app, url } = await startApp({ PUBLIC_ORIGINS: 'RDV.Example.org,other.example:8443' });
    try {
      const auth = async (origin: string, host?: string) => {
        const c = await TestClient.open(url, undefined, host ? { headers: { host } } : {});
        c.sendHello({ origin });
        const f = await c.next((x) => x.type === FrameType.WELCOME || x.type === FrameType.ERROR);
        await c.close();
        return f.type === FrameType.WELCOME ? 'ok' : f.type === FrameType.ERROR ? f.code : '?';
      };
      expect(await auth('rdv.example.org')).toBe('ok');
      expect(await auth('other.example:8443', 'evil.example')).toBe('ok');
      expect(await auth('evil.example', 'evil.example')).toBe('RDV_ERR_AUTH_FAILED');
    } finally {
      await app.close();
    }
  });
});
