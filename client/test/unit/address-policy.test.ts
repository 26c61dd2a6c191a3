import { describe, expect, it } from 'vitest';
import { validateClientInit } from '../../src/sdk/config.js';
import { addressScope, isDialableAddress } from '../../src/transports/address-policy.js';

describe('address policy for peer-supplied direct addresses', () => {
  const table: Array<[string, ReturnType<typeof addressScope>]> = [
    ['8.8.8.8', 'unicast'],
    ['192.168.1.20', 'unicast'],
    ['10.0.0.5', 'unicast'],
    ['2001:db8::1', 'unicast'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:7F00:0001', 'loopback'],
    ['::127.0.0.1', 'loopback'],
    ['0:0:0:0:0:ffff:127.0.0.1', 'loopback'],
    ['169.254.10.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['::ffff:169.254.1.1', 'link-local'],
    ['224.0.0.251', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::fb', 'multicast'],
    ['::ffff:224.0.0.1', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['::ffff:0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['::ffff:8.8.8.8', 'unicast'],
    ['localhost', 'not-an-ip'],
    ['example.com', 'not-an-ip'],
    ['', 'not-an-ip'],
    ['127.0.0.1.nip.io', 'not-an-ip'],
  ];
  it.each(table)('%s is %s', (host, scope) => {
    expect(addressScope(host)).toBe(scope);
  });

  it('dials unicast always, loopback and link-local only when configured, the rest never', () => {
    expect(isDialableAddress('192.168.1.20')).toBe(true);
    expect(isDialableAddress('127.0.0.1')).toBe(false);
    expect(isDialableAddress('::ffff:127.0.0.1')).toBe(false);
    expect(isDialableAddress('127.0.0.1', { allowLoopback: true })).toBe(true);
    expect(isDialableAddress('::ffff:7f00:1', { allowLoopback: true })).toBe(true);
    expect(isDialableAddress('fe80::1%eth0')).toBe(false);
    expect(isDialableAddress('fe80::1%eth0', { allowLinkLocal: true })).toBe(true);
    expect(isDialableAddress('169.254.1.1', { allowLoopback: true })).toBe(false);
    for (const never of ['0.0.0.0', '::', '224.0.0.251', 'ff02::1', '255.255.255.255', 'localhost'])
      expect(isDialableAddress(never, { allowLoopback: true, allowLinkLocal: true }), never).toBe(false);
  });
});

describe('client config: the address options', () => {
  it('default to false and must be booleans', () => {
    const cfg = validateClientInit({ home: '/tmp/x' });
    expect(cfg.paths.allowLoopbackAddresses).toBe(false);
    expect(cfg.paths.allowLinkLocalAddresses).toBe(false);
    expect(
      validateClientInit({ home: '/tmp/x', paths: { allowLoopbackAddresses: true } }).paths.allowLoopbackAddresses,
    ).toBe(true);
    expect(() =>
      validateClientInit({ home: '/tmp/x', paths: { allowLoopbackAddresses: 'yes', allowLinkLocalAddresses: 1 } }),
    ).toThrowError(
      expect.objectContaining({
        code: 'CLIENT_ERR_CONFIG',
        data: {
          problems: [
            'paths.allowLoopbackAddresses must be a boolean',
            'paths.allowLinkLocalAddresses must be a boolean',
          ],
        },
      }),
    );
  });
});
