import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type JsonObject, JsonRpcConnection, type RpcNotification, RpcRemoteError } from '../src/extension/json-rpc.js';

function setup(opts: { timeoutMs?: number; maxLineBytes?: number; maxPending?: number } = {}) {
  const fromExt = new PassThrough();
  const toExt = new PassThrough();
  const notes: RpcNotification[] = [];
  const errors: string[] = [];
  const written: JsonObject[] = [];
  let buf = '';
  toExt.setEncoding('utf8');
  toExt.on('data', (c: string) => {
    buf += c;
    for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
      written.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
    }
  });
  const rpc = new JsonRpcConnection({
    input: fromExt,
    output: toExt,
    onNotification: (n) => notes.push(n),
    onRequest: async (method, params) => {
      if (method === 'approval.request') return { allow: params.x === 1 };
      throw new Error('nope');
    },
    onProtocolError: (d) => errors.push(d),
    ...opts,
  });
  const reply = (obj: unknown) => fromExt.write(`${JSON.stringify(obj)}\n`);
  return { rpc, fromExt, notes, errors, written, reply };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('JsonRpcConnection', () => {
  it('matches responses to requests by id, across split and merged chunks', async () => {
    const { rpc, written, fromExt } = setup();
    const a = rpc.request('identity.get');
    const b = rpc.request('peers.list', { all: true });
    await tick();
    expect(written.map((w) => [w.jsonrpc, w.id, w.method])).toEqual([
      ['2.0', 1, 'identity.get'],
      ['2.0', 2, 'peers.list'],
    ]);
    const both = `${JSON.stringify({ jsonrpc: '2.0', id: 2, result: { peers: [] } })}\n${JSON.stringify({ jsonrpc: '2.0', id: 1, result: { publicKey: 'k' } })}\n`;
    fromExt.write(both.slice(0, 17));
    fromExt.write(both.slice(17));
    expect(await a).toEqual({ publicKey: 'k' });
    expect(await b).toEqual({ peers: [] });
  });

  it('delivers notifications and turns error responses into RpcRemoteError', async () => {
    const { rpc, notes, reply } = setup();
    reply({ jsonrpc: '2.0', method: 'message.received', params: { from: 'x' } });
    const p = rpc.request('messages.send', {});
    await tick();
    reply({
      jsonrpc: '2.0',
      id: 1,
      error: { code: -32001, message: 'peer not trusted', data: { code: 'CLIENT_ERR_X' } },
    });
    await expect(p).rejects.toBeInstanceOf(RpcRemoteError);
    expect(notes).toEqual([{ method: 'message.received', params: { from: 'x' } }]);
  });

  it('answers requests the extension makes, with result or error', async () => {
    const { written, reply } = setup();
    reply({ jsonrpc: '2.0', id: 'r1', method: 'approval.request', params: { x: 1 } });
    reply({ jsonrpc: '2.0', id: 'r2', method: 'other', params: {} });
    await tick();
    await tick();
    expect(written).toContainEqual({ jsonrpc: '2.0', id: 'r1', result: { allow: true } });
    expect(written.find((w) => w.id === 'r2')?.error).toMatchObject({ code: -32000 });
  });

  it('drops malformed and oversized lines without throwing, and keeps working', async () => {
    const { rpc, errors, fromExt, reply } = setup({ maxLineBytes: 100 });
    fromExt.write('not json\n');
    fromExt.write('[1,2]\n');
    fromExt.write(`${JSON.stringify({ jsonrpc: '2.0', id: 99, result: 1 })}\n`);
    fromExt.write(`${'x'.repeat(250)}`);
    fromExt.write(`${'y'.repeat(50)}\n`);
    const p = rpc.request('status');
    await tick();
    reply({ jsonrpc: '2.0', id: 1, result: { ok: true } });
    expect(await p).toEqual({ ok: true });
    expect(errors).toEqual([
      'line is not JSON',
      'not a JSON-RPC 2.0 message',
      'response with unknown id',
      'line over 100 bytes dropped',
    ]);
    expect(rpc.linesDropped).toBe(1);
  });

  it('reports a too-long notification once with its method and id, read in pieces, and reads the next line', async () => {
    const dropped: unknown[] = [];
    const { rpc, errors, notes, fromExt } = setup({ maxLineBytes: 200 });
    const rpcDropped = new JsonRpcConnection({
      input: fromExt,
      output: new PassThrough(),
      onNotification: () => {},
      onLineDropped: (d) => dropped.push(d),
      maxLineBytes: 200,
    });
    const big = JSON.stringify({
      jsonrpc: '2.0',
      method: 'message.received',
      params: { id: 'ab12', text: 'q"'.repeat(500) },
    });
    for (let i = 0; i < big.length; i += 64) fromExt.write(big.slice(i, i + 64));
    fromExt.write(`\n${JSON.stringify({ jsonrpc: '2.0', method: 'peer.status', params: { ok: true } })}\n`);
    await tick();
    expect(dropped).toEqual([{ bytes: expect.any(Number), maxLineBytes: 200, method: 'message.received', id: 'ab12' }]);
    expect((dropped[0] as { bytes: number }).bytes).toBeGreaterThan(200);
    expect(errors).toEqual(['line over 200 bytes dropped (message.received ab12)']);
    expect(notes).toEqual([{ method: 'peer.status', params: { ok: true } }]);
    expect([rpc.linesDropped, rpcDropped.linesDropped]).toEqual([1, 1]);
  });

  it('times out, bounds requests in flight, and rejects everything on close', async () => {
    const { rpc } = setup({ timeoutMs: 30, maxPending: 2 });
    const slow = rpc.request('status');
    await expect(slow).rejects.toMatchObject({ code: 'HOST_ERR_EXTENSION_TIMEOUT' });
    const a = rpc.request('a');
    const b = rpc.request('b');
    await expect(rpc.request('c')).rejects.toMatchObject({ code: 'HOST_ERR_EXTENSION_UNAVAILABLE' });
    rpc.close('gone');
    await expect(a).rejects.toMatchObject({ code: 'HOST_ERR_EXTENSION_UNAVAILABLE' });
    await expect(b).rejects.toMatchObject({ code: 'HOST_ERR_EXTENSION_UNAVAILABLE' });
    await expect(rpc.request('d')).rejects.toMatchObject({ code: 'HOST_ERR_EXTENSION_UNAVAILABLE' });
  });

  it('closes when the extension output ends', async () => {
    const { rpc, fromExt } = setup();
    const p = rpc.request('status');
    fromExt.end();
    await expect(p).rejects.toMatchObject({ code: 'HOST_ERR_EXTENSION_UNAVAILABLE' });
    expect(rpc.isOpen).toBe(false);
  });
});
