/**
 * The MCP server's gateway client against a misbehaving HTTP peer on 127.0.0.1 (a real
 * socket; the real host gateway never answers like this, which is the point): oversized,
 * truncated and odd bodies are typed GatewayCallErrors, and a huge body is cut off early.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_MAX_RESPONSE_BYTES } from '../../src/mcp/constants.js';
import { GATEWAY_PREFIX, HostGatewayClient } from '../../src/mcp/gateway.js';

let server: Server;
let base = '';
/** Bytes the endless route managed to write before the client hung up. */
let endlessWritten = 0;

const ROUTES: Record<string, (res: ServerResponse) => void> = {
  ok: (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"peers":[]}'),
  nullError: (res) => res.writeHead(500, { 'content-type': 'application/json' }).end('null'),
  declaredHuge: (res) => {
    res.writeHead(200, { 'content-length': String(MCP_MAX_RESPONSE_BYTES + 1) });
    res.write('{');
    // The client refuses on the header alone; hang up after a moment either way.
    setTimeout(() => res.destroy(), 200).unref();
  },
  endless: (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = () => {
      // Bounded: at most 4× the client's limit, then the route gives up on its own.
      while (!res.destroyed && endlessWritten < 4 * MCP_MAX_RESPONSE_BYTES) {
        endlessWritten += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  },
  truncated: (res) => {
    res.writeHead(200, { 'content-length': '100' });
    res.write('{"peers":');
    setTimeout(() => res.socket?.destroy(), 50).unref();
  },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const route = ROUTES[(req.url ?? '').slice(GATEWAY_PREFIX.length + 1)];
    if (route) route(res);
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const gw = () => new HostGatewayClient(base, 'token');

describe('host gateway responses', () => {
  it('a JSON answer is returned', async () => {
    expect(await gw().get('/ok')).toEqual({ peers: [] });
  });

  it('an error status with a JSON null body is a typed error, not a TypeError', async () => {
    await expect(gw().get('/nullError')).rejects.toMatchObject({ code: 'MCP_ERR_GATEWAY_BAD_RESPONSE', status: 500 });
  });

  it('a declared length over MCP_MAX_RESPONSE_BYTES is refused before reading', async () => {
    await expect(gw().get('/declaredHuge')).rejects.toMatchObject({ code: 'MCP_ERR_GATEWAY_BAD_RESPONSE' });
  });

  it('an endless body is cut off just past MCP_MAX_RESPONSE_BYTES', async () => {
    await expect(gw().get('/endless')).rejects.toMatchObject({ code: 'MCP_ERR_GATEWAY_BAD_RESPONSE' });
    // The reader hung up: the server could not write (much) beyond the limit plus socket buffers.
    expect(endlessWritten).toBeLessThan(4 * MCP_MAX_RESPONSE_BYTES);
  });

  it('a body that breaks off midway is a typed error', async () => {
    await expect(gw().get('/truncated')).rejects.toMatchObject({ code: 'MCP_ERR_GATEWAY_UNREACHABLE' });
  });
});
