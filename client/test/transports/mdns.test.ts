import { createSocket } from 'node:dgram';
import { bytesEqual, generateIdentity, toHex } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { dialDirect } from '../../src/transports/direct-dialer.js';
import { DirectListener } from '../../src/transports/direct-listener.js';
import { MdnsDiscovery, type MdnsHint } from '../../src/transports/mdns-discovery.js';

// Only the loopback interface, and a private port instead of 5353, so tests never talk to
// the machine's LAN nor to a system responder.
async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

function nextHint(hints: MdnsHint[], timeoutMs = 5_000): Promise<MdnsHint> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = setInterval(() => {
      if (hints.length > 0) {
        clearInterval(poll);
        resolve(hints[0]!);
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error('no mDNS hint'));
      }
    }, 20);
  });
}

describe('mDNS discovery (loopback only)', () => {
  it('finds a trusted peer’s listener with no configuration, and the handshake proves it', async () => {
    const port = await freeUdpPort();
    const socket = { interface: '127.0.0.1', port };
    const alice = generateIdentity(nodeSuite);
    const bob = generateIdentity(nodeSuite);
    const listener = new DirectListener({
      suite: nodeSuite,
      identity: bob,
      host: '127.0.0.1',
      port: 0,
      acceptKey: (k) => bytesEqual(k, alice.publicKey),
      onLink: () => {},
    });
    const bound = await listener.start();
    stops.push(() => listener.stop());
    const bobMdns = new MdnsDiscovery({
      socket,
      announce: { key: bob.publicKey, port: bound.port, addresses: ['127.0.0.1'], name: 'bob' },
      wants: () => false,
      onHint: () => {},
    });
    await bobMdns.start();
    stops.push(() => bobMdns.stop());

    const hints: MdnsHint[] = [];
    const stranger = generateIdentity(nodeSuite);
    const aliceMdns = new MdnsDiscovery({
      socket,
      wants: (k) => bytesEqual(k, bob.publicKey) || bytesEqual(k, stranger.publicKey),
      onHint: (h) => hints.push(h),
    });
    await aliceMdns.start();
    stops.push(() => aliceMdns.stop());
    aliceMdns.query();
    const hint = await nextHint(hints);
    expect(hint).toMatchObject({ host: '127.0.0.1', port: bound.port, name: 'bob' });
    expect(bytesEqual(hint.key, bob.publicKey)).toBe(true);
    expect(aliceMdns.hints.get(toHex(bob.publicKey))?.port).toBe(bound.port);

    const link = await dialDirect({
      suite: nodeSuite,
      identity: alice,
      address: { host: hint.host, port: hint.port },
      expectedKey: hint.key,
    });
    expect(bytesEqual(link.remoteKey, bob.publicKey)).toBe(true);
    link.close();

    // A goodbye (TTL 0) makes the hint go away.
    await bobMdns.stop();
    stops.pop();
    await new Promise((r) => setTimeout(r, 200));
    expect(aliceMdns.hints.has(toHex(bob.publicKey))).toBe(false);
  });

  it('ignores untrusted keys and garbage packets; a forged announcement fails at the handshake', async () => {
    const port = await freeUdpPort();
    const socket = { interface: '127.0.0.1', port };
    const alice = generateIdentity(nodeSuite);
    const bob = generateIdentity(nodeSuite);
    const mallory = generateIdentity(nodeSuite);
    const hints: MdnsHint[] = [];
    const aliceMdns = new MdnsDiscovery({
      socket,
      wants: (k) => bytesEqual(k, bob.publicKey),
      onHint: (h) => hints.push(h),
    });
    await aliceMdns.start();
    stops.push(() => aliceMdns.stop());

    // Garbage straight at the port.
    const raw = createSocket('udp4');
    await new Promise<void>((r) => raw.bind(0, '127.0.0.1', () => r()));
    for (const junk of [Buffer.from('hello'), Buffer.alloc(0), Buffer.alloc(1400, 0xff)]) {
      await new Promise<void>((r) => raw.send(junk, port, '127.0.0.1', () => r()));
    }
    raw.close();

    // An untrusted peer announces: no hint.
    const strangerMdns = new MdnsDiscovery({
      socket,
      announce: { key: mallory.publicKey, port: 1234, addresses: ['127.0.0.1'] },
      wants: () => false,
      onHint: () => {},
    });
    await strangerMdns.start();
    stops.push(() => strangerMdns.stop());
    await new Promise((r) => setTimeout(r, 300));
    expect(hints).toHaveLength(0);

    // Mallory announces Bob's key at Mallory's own listener: a hint, but the handshake refuses.
    const listener = new DirectListener({
      suite: nodeSuite,
      identity: mallory,
      host: '127.0.0.1',
      port: 0,
      acceptKey: () => true,
      onLink: () => {},
    });
    const bound = await listener.start();
    stops.push(() => listener.stop());
    const forger = new MdnsDiscovery({
      socket,
      announce: { key: bob.publicKey, port: bound.port, addresses: ['127.0.0.1'] },
      wants: () => false,
      onHint: () => {},
    });
    await forger.start();
    stops.push(() => forger.stop());
    const hint = await nextHint(hints);
    await expect(
      dialDirect({ suite: nodeSuite, identity: alice, address: hint, expectedKey: hint.key }),
    ).rejects.toMatchObject({ code: 'CLIENT_ERR_DIRECT_WRONG_KEY' });
  });
});
