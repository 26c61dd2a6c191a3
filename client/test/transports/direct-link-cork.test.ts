/**
 * A burst of envelopes sent on a direct link in one tick leaves in one socket write (the link
 * corks its socket until the end of the tick), and arrives whole and in order. Real WebSocket
 * pair on 127.0.0.1; the sending socket's write calls are counted, not replaced.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { DirectLink } from '../../src/transports/direct-link.js';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

async function wsPair(): Promise<{ client: WebSocket; server: WebSocket }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
  await new Promise<void>((r, j) => {
    client.once('open', () => r());
    client.once('error', j);
  });
  const server = await serverSide;
  cleanup.push(() => {
    client.terminate();
    server.terminate();
    wss.close();
  });
  return { client, server };
}

/** Count the write batches the socket hands to the kernel (one per writev/write). */
function countWrites(socket: Socket): () => number {
  const s = socket as unknown as {
    _writev: (...a: unknown[]) => unknown;
    _write: (...a: unknown[]) => unknown;
  };
  let n = 0;
  const writev = s._writev.bind(socket);
  const write = s._write.bind(socket);
  s._writev = (...a) => {
    n++;
    return writev(...a);
  };
  s._write = (...a) => {
    n++;
    return write(...a);
  };
  return () => n;
}

describe('direct link writes', () => {
  it('sends a burst of 16 envelopes from one tick in one socket write, whole and in order', async () => {
    const { client, server } = await wsPair();
    const link = new DirectLink(client, new Uint8Array(32), '127.0.0.1:0');
    cleanup.push(() => link.close('done'));
    const writes = countWrites((client as unknown as { _socket: Socket })._socket);
    const got: Buffer[] = [];
    const all = new Promise<void>((r) =>
      server.on('message', (d: Buffer) => {
        got.push(d);
        if (got.length === 16) r();
      }),
    );
    const sent = Array.from({ length: 16 }, () => randomBytes(49_200));
    for (const e of sent) link.send(e);
    expect(writes()).toBe(0); // held until the end of the tick
    await all;
    expect(writes()).toBe(1);
    expect(got.map((b) => b.toString('hex'))).toEqual(sent.map((b) => b.toString('hex')));
  });

  it('sends what comes in a later tick in a later write (nothing waits for more)', async () => {
    const { client, server } = await wsPair();
    const link = new DirectLink(client, new Uint8Array(32), '127.0.0.1:0');
    cleanup.push(() => link.close('done'));
    const first = new Promise<Buffer>((r) => server.once('message', r));
    link.send(Buffer.from('one'));
    expect((await first).toString()).toBe('one');
    const second = new Promise<Buffer>((r) => server.once('message', r));
    link.send(Buffer.from('two'));
    expect((await second).toString()).toBe('two');
  });
});
