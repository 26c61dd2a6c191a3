import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { crc32 } from 'node:zlib';
import { bindingOutcome, decodeStunMessage, STUN_MAGIC_COOKIE } from '@p2p-comm/protocol/stun';
import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../src/app.js';
import { bindingResponse, readBindingRequest } from '../src/stun.js';
import { freePort, startApp, TestClient } from './helpers.js';

let app: RendezvousApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

function bindingRequest(): Buffer {
  const b = Buffer.alloc(20);
  b.writeUInt16BE(0x0001, 0);
  b.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  randomBytes(12).copy(b, 8);
  return b;
}

/** Independent decoder of XOR-MAPPED-ADDRESS (RFC 5389 §15.2), IPv4. */
function xorMapped(res: Buffer): { address: string; port: number } {
  let o = 20;
  while (o < res.length) {
    const type = res.readUInt16BE(o);
    const len = res.readUInt16BE(o + 2);
    if (type === 0x0020) {
      const port = res.readUInt16BE(o + 6) ^ 0x2112;
      const addr = [0, 1, 2, 3].map((i) => res[o + 8 + i]! ^ res[4 + i]!).join('.');
      return { address: addr, port };
    }
    o += 4 + len + ((4 - (len % 4)) % 4);
  }
  throw new Error('no XOR-MAPPED-ADDRESS');
}

async function ask(port: number): Promise<{ req: Buffer; res: Buffer; local: { address: string; port: number } }> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const req = bindingRequest();
  const res = await new Promise<Buffer>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no STUN answer')), 3000);
    sock.on('message', (m) => {
      clearTimeout(t);
      resolve(m);
    });
    sock.send(req, port, '127.0.0.1');
  });
  const local = sock.address();
  sock.close();
  return { req, res, local };
}

describe('STUN binding responder', () => {
  it('answers a binding request with the right XOR-MAPPED-ADDRESS on both ports, and advertises itself in WELCOME', async () => {
    const stunPort = await freePort();
    let alt = await freePort();
    while (alt === stunPort) alt = await freePort();
    const s = await startApp({ STUN_PORT: String(stunPort), STUN_ALT_PORT: String(alt) });
    app = s.app;
    for (const port of [stunPort, alt]) {
      const { req, res, local } = await ask(port);
      expect(res.readUInt16BE(0)).toBe(0x0101);
      expect(res.readUInt32BE(4)).toBe(STUN_MAGIC_COOKIE);
      expect(res.subarray(8, 20).equals(req.subarray(8, 20))).toBe(true);
      expect(xorMapped(res)).toEqual({ address: '127.0.0.1', port: local.port });
      // FINGERPRINT is the last attribute and verifies.
      const fp = res.readUInt32BE(res.length - 4);
      expect(fp).toBe((crc32(res.subarray(0, res.length - 8)) ^ 0x5354554e) >>> 0);
    }
    const c = await TestClient.connect(s.url);
    expect(c.welcome?.iceServers).toEqual([{ urls: [`stun:127.0.0.1:${stunPort}`] }]);
    expect(c.welcome?.stun).toEqual({ port: stunPort, altPort: alt });
    await c.close();
  });

  it('advertises STUN_PUBLIC_HOST instead of the dialed host when set (UDP behind its own load balancer)', async () => {
    const stunPort = await freePort();
    const s = await startApp({ STUN_PORT: String(stunPort), STUN_ALT_PORT: '0', STUN_PUBLIC_HOST: 'stun.example.org' });
    app = s.app;
    const c = await TestClient.connect(s.url);
    expect(c.welcome?.iceServers).toEqual([{ urls: [`stun:stun.example.org:${stunPort}`] }]);
    expect(c.welcome?.stun).toEqual({ host: 'stun.example.org', port: stunPort, altPort: 0 });
    await c.close();
  });

  it('ignores what is not a binding request', () => {
    expect(readBindingRequest(Buffer.alloc(10))).toBeNull();
    const r = bindingRequest();
    r.writeUInt16BE(0x0111, 0);
    expect(readBindingRequest(r)).toBeNull();
    const ok = bindingRequest();
    expect(readBindingRequest(ok)?.transactionId).toEqual(new Uint8Array(ok.subarray(8, 20)));
    ok.writeUInt32BE(0, 4);
    expect(readBindingRequest(ok)).toBeNull();
    // Over the responder's own limit (548 bytes), though well-formed for the codec.
    const big = Buffer.alloc(600);
    bindingRequest().copy(big);
    big.writeUInt16BE(600 - 20, 2);
    expect(readBindingRequest(big)).toBeNull();
  });

  it('answers the same bytes the client codec reads back (FINGERPRINT checked)', () => {
    const req = readBindingRequest(bindingRequest())!;
    const res = decodeStunMessage(bindingResponse(req, '::ffff:198.51.100.7', 40000));
    expect(bindingOutcome(res)).toEqual({ ok: true, mapped: { family: 'IPv4', address: '198.51.100.7', port: 40000 } });
  });

  it('encodes IPv6 mapped addresses XORed with cookie and transaction id', () => {
    const req = bindingRequest();
    const res = Buffer.from(bindingResponse(readBindingRequest(req)!, '2001:db8::1', 5000));
    expect(res[20 + 5]).toBe(0x02);
    const addr = Buffer.alloc(16);
    for (let i = 0; i < 16; i++) addr[i] = res[20 + 8 + i]! ^ res[4 + i]!;
    expect(addr.toString('hex')).toBe('20010db8000000000000000000000001');
    expect(res.readUInt16BE(20 + 6) ^ 0x2112).toBe(5000);
  });
});
