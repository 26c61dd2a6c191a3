import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { StunError, stunBinding } from '../../src/stun/index.js';
import { startResponder, type TestResponder, xorMappedSuccess } from './stun-responder.js';

let socket: Socket | undefined;
let responder: TestResponder | undefined;

afterEach(async () => {
  socket?.close();
  socket = undefined;
  await responder?.close();
  responder = undefined;
});

async function clientSocket(): Promise<{ socket: Socket; port: number }> {
  const s = createSocket('udp4');
  socket = s;
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return { socket: s, port: s.address().port };
}

describe('stunBinding', () => {
  it('returns the address the server saw', async () => {
    responder = await startResponder((req, rinfo) => [xorMappedSuccess(req, rinfo)]);
    const { socket: s, port } = await clientSocket();
    const r = await stunBinding(s, { host: '127.0.0.1', port: responder.port });
    expect(r.mapped).toEqual({ family: 'IPv4', address: '127.0.0.1', port });
    expect(r.transmissions).toBe(1);
  });

  it('retransmits with a doubling timeout until answered', async () => {
    responder = await startResponder((req, rinfo, i) => (i < 2 ? 'drop' : [xorMappedSuccess(req, rinfo)]));
    const { socket: s } = await clientSocket();
    const r = await stunBinding(s, { host: '127.0.0.1', port: responder.port }, { initialRtoMs: 50 });
    expect(r.transmissions).toBe(3);
    expect(responder.requests).toBe(3);
    // Sends at 0, 50, 150 ms: the answer cannot come before the third send.
    expect(r.rttMs).toBeGreaterThanOrEqual(140);
  });

  it('times out after the configured number of sends when nobody answers', async () => {
    responder = await startResponder(() => 'drop');
    const { socket: s } = await clientSocket();
    const started = performance.now();
    const err = await stunBinding(
      s,
      { host: '127.0.0.1', port: responder.port },
      { initialRtoMs: 20, maxTransmissions: 4, timeoutMs: 400 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StunError);
    expect((err as StunError).code).toBe('CLIENT_ERR_STUN_TIMEOUT');
    expect(responder.requests).toBe(4);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
  });

  it('ignores garbage, wrong transaction ids and other senders, then takes the real answer', async () => {
    responder = await startResponder((req, rinfo) => {
      const wrongTx = xorMappedSuccess(req, rinfo);
      wrongTx[19] = wrongTx[19]! ^ 0xff;
      return [Buffer.from('not stun at all'), wrongTx, xorMappedSuccess(req, rinfo)];
    });
    const { socket: s, port } = await clientSocket();
    const other = createSocket('udp4');
    await new Promise<void>((resolve) => other.bind(0, '127.0.0.1', resolve));
    try {
      const pending = stunBinding(s, { host: '127.0.0.1', port: responder.port });
      other.send(Buffer.alloc(20), port, '127.0.0.1');
      const r = await pending;
      expect(r.mapped.port).toBe(port);
      expect(r.ignored).toBeGreaterThanOrEqual(2);
    } finally {
      other.close();
    }
  });

  it('reports a Binding error response with its code', async () => {
    responder = await startResponder((req) => {
      const out = Buffer.alloc(36);
      out.writeUInt16BE(0x0111, 0);
      out.writeUInt16BE(16, 2);
      out.writeUInt32BE(0x2112a442, 4);
      req.copy(out, 8, 8, 20);
      out.writeUInt16BE(0x0009, 20);
      out.writeUInt16BE(11, 22);
      out.writeUInt8(4, 26);
      out.writeUInt8(0, 27);
      out.write('Bad Req', 28);
      return [out];
    });
    const { socket: s } = await clientSocket();
    const err = await stunBinding(s, { host: '127.0.0.1', port: responder.port }).catch((e: unknown) => e);
    expect((err as StunError).code).toBe('CLIENT_ERR_STUN_ERROR_RESPONSE');
    expect((err as StunError).message).toContain('400');
  });

  it('validates its arguments', async () => {
    const { socket: s } = await clientSocket();
    expect(() => stunBinding(s, { host: 'example.org', port: 3478 })).toThrow(StunError);
    expect(() => stunBinding(s, { host: '127.0.0.1', port: 0 })).toThrow(StunError);
    expect(() => stunBinding(s, { host: '127.0.0.1', port: 3478 }, { maxTransmissions: 0 })).toThrow(StunError);
  });
});
