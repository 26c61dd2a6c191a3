/**
 * RendezvousConnection.publishPrekeyBundle / fetchPrekeyBundle against real servers: two
 * rendezvous instances sharing a real redis-server (publish on one, fetch on the other), the
 * server's refusals as CLIENT_ERR_PREKEY_REFUSED with its code, the in-flight bound, and — with
 * a WebSocket server that authenticates but never answers prekey frames — the timeout and a
 * socket closed before the answer.
 */
import { createPrekeyBundle, decodeFrame, encodeFrame, FrameType, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ClientError } from '../../src/errors.js';
import { PREKEY_REQUESTS_MAX_IN_FLIGHT, RendezvousConnection } from '../../src/transports/rendezvous-connection.js';
import { startRedis, startRendezvous } from '../helpers/server.js';

let redis: Awaited<ReturnType<typeof startRedis>>;
let one: Awaited<ReturnType<typeof startRendezvous>>;
let two: Awaited<ReturnType<typeof startRendezvous>>;
const conns: RendezvousConnection[] = [];

beforeAll(async () => {
  redis = await startRedis();
  one = await startRendezvous({ REDIS_URL: redis.url, INSTANCE_ID: 'one' });
  two = await startRendezvous({ REDIS_URL: redis.url, INSTANCE_ID: 'two' });
});
afterAll(async () => {
  for (const c of conns) c.stop();
  await one?.close();
  await two?.close();
  await redis?.kill();
});

async function connected(url: string, opts: { prekeyRequestTimeoutMs?: number } = {}) {
  const identity = generateIdentity(nodeSuite);
  const conn = new RendezvousConnection({ url, identity, suite: nodeSuite, ...opts });
  conns.push(conn);
  const welcomed = new Promise<void>((r) => conn.once('welcome', () => r()));
  conn.start();
  await welcomed;
  return { conn, identity };
}

async function rejection(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ClientError);
    return err as ClientError;
  }
  throw new Error('expected a rejection');
}

describe('prekey requests on a real fleet', () => {
  it('publishes on one instance and fetches on the other; none held → null', async () => {
    const owner = await connected(one.url);
    const reader = await connected(two.url);
    expect(await reader.conn.fetchPrekeyBundle(owner.identity.publicKey)).toBeNull();
    const b = createPrekeyBundle(nodeSuite, { identity: owner.identity, bundleId: 1, createdAt: Date.now() });
    await owner.conn.publishPrekeyBundle(b.encoded);
    expect(await reader.conn.fetchPrekeyBundle(owner.identity.publicKey)).toEqual(b.encoded);
  });

  it("rejects with the server's code: an older bundle, another key's bundle; bad arguments locally", async () => {
    const owner = await connected(one.url);
    const now = Date.now();
    const newer = createPrekeyBundle(nodeSuite, { identity: owner.identity, bundleId: 2, createdAt: now });
    const older = createPrekeyBundle(nodeSuite, { identity: owner.identity, bundleId: 1, createdAt: now - 60_000 });
    await owner.conn.publishPrekeyBundle(newer.encoded);
    const stale = await rejection(owner.conn.publishPrekeyBundle(older.encoded));
    expect(stale.code).toBe('CLIENT_ERR_PREKEY_REFUSED');
    expect(stale.data?.serverCode).toBe('RDV_ERR_PREKEY_STALE');
    const stranger = generateIdentity(nodeSuite);
    const foreign = createPrekeyBundle(nodeSuite, { identity: stranger, bundleId: 1, createdAt: now });
    expect((await rejection(owner.conn.publishPrekeyBundle(foreign.encoded))).data?.serverCode).toBe(
      'RDV_ERR_PREKEY_OWNER',
    );
    expect((await rejection(owner.conn.publishPrekeyBundle(new Uint8Array(10)))).code).toBe(
      'CLIENT_ERR_INVALID_ARGUMENT',
    );
    expect((await rejection(owner.conn.fetchPrekeyBundle(new Uint8Array(31)))).code).toBe(
      'CLIENT_ERR_INVALID_ARGUMENT',
    );
    const idle = new RendezvousConnection({ url: one.url, identity: stranger, suite: nodeSuite });
    expect((await rejection(idle.fetchPrekeyBundle(owner.identity.publicKey))).code).toBe('CLIENT_ERR_LINK_CLOSED');
  });

  it('bounds the requests in flight (CLIENT_ERR_BUSY past PREKEY_REQUESTS_MAX_IN_FLIGHT); the rest are answered', async () => {
    const a = await connected(two.url);
    const asks = Array.from({ length: PREKEY_REQUESTS_MAX_IN_FLIGHT + 1 }, () =>
      a.conn.fetchPrekeyBundle(a.identity.publicKey).then(
        (v) => ({ ok: true as const, v }),
        (e: ClientError) => ({ ok: false as const, code: e.code }),
      ),
    );
    const results = await Promise.all(asks);
    expect(results.filter((r) => r.ok)).toHaveLength(PREKEY_REQUESTS_MAX_IN_FLIGHT);
    expect(results.at(-1)).toEqual({ ok: false, code: 'CLIENT_ERR_BUSY' });
    // Answered requests free their slots.
    expect(await a.conn.fetchPrekeyBundle(a.identity.publicKey)).toBeNull();
  });
});

describe('prekey requests against a server that never answers them', () => {
  let wss: WebSocketServer;
  let url = '';
  let closeNext = false;
  beforeAll(async () => {
    // Authenticates anyone (CHALLENGE, then WELCOME after any HELLO) and ignores prekey frames,
    // or, when told, closes the socket on the next one.
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
    wss.on('connection', (ws) => {
      ws.send(
        encodeFrame({
          type: FrameType.CHALLENGE,
          version: 1,
          challenge: new Uint8Array(32),
          serverTime: Date.now(),
          origin: 'silent',
        }),
      );
      ws.on('message', (data: Buffer) => {
        const f = decodeFrame(new Uint8Array(data));
        if (f.type === FrameType.HELLO) ws.send(encodeFrame({ type: FrameType.WELCOME, info: '{}' }));
        else if (f.type === FrameType.PREKEY_FETCH && closeNext) ws.close();
      });
    });
  });
  afterAll(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });

  it('times out with CLIENT_ERR_PREKEY_TIMEOUT, and a socket closed first is CLIENT_ERR_LINK_CLOSED', async () => {
    const a = await connected(url, { prekeyRequestTimeoutMs: 300 });
    const t0 = Date.now();
    expect((await rejection(a.conn.fetchPrekeyBundle(a.identity.publicKey))).code).toBe('CLIENT_ERR_PREKEY_TIMEOUT');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    closeNext = true;
    expect((await rejection(a.conn.fetchPrekeyBundle(a.identity.publicKey))).code).toBe('CLIENT_ERR_LINK_CLOSED');
  });
});
