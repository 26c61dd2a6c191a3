/** Two rendezvous instances sharing a real Redis (and a real Redis Cluster): routing, takeover, mailbox, outage. */
import { AckStatus, bytesEqual, FrameType, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../src/app.js';
import { closeAfterEach, freePort, startApp, TestClient } from './helpers.js';
import { type RedisProc, startCluster, startRedis } from './redis-helpers.js';

const { apps, clients, redises } = closeAfterEach();

async function instance(env: Record<string, string>, id: string): Promise<{ app: RendezvousApp; url: string }> {
  const s = await startApp({ INSTANCE_ID: id, ...env });
  apps.push(s.app);
  return s;
}

async function until(pred: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function crossInstanceSuite(env: () => Record<string, string>): Promise<void> {
  const i1 = await instance(env(), 'one');
  const i2 = await instance(env(), 'two');
  const a = await TestClient.connect(i1.url);
  const b = await TestClient.connect(i2.url);
  clients.push(a, b);
  // Presence is written right after WELCOME; give it a moment to land.
  await new Promise((r) => setTimeout(r, 100));
  const env1 = a.envelope(b.key, 'across');
  a.signal(11, b.key, env1);
  const d = await b.next((f) => f.type === FrameType.DELIVER);
  expect(d.type === FrameType.DELIVER && bytesEqual(d.envelope, env1) && bytesEqual(d.from, a.key)).toBe(true);
  expect(await a.answer(11)).toEqual({ type: FrameType.ACK, frameId: 11, status: AckStatus.DELIVERED });
  // Many frames in one tick travel as batches; every frameId gets exactly one ACK.
  for (let i = 0; i < 200; i++) b.relay(1000 + i, a.key);
  for (let i = 0; i < 200; i++)
    expect((await a.next((f) => f.type === FrameType.DELIVER)).type).toBe(FrameType.DELIVER);
  for (let i = 0; i < 200; i++) expect((await b.answer(1000 + i)).type).toBe(FrameType.ACK);
  expect(b.frames.filter((f) => f.type === FrameType.ACK)).toHaveLength(0);
  expect(i2.app.stats.batchesOut).toBeLessThan(200);
  // Takeover across instances: the same key connecting to instance one kicks instance two's socket.
  const b2 = await TestClient.connect(i1.url, b.identity);
  clients.push(b2);
  expect(await b.errorAndClose()).toEqual({ code: 'RDV_ERR_REPLACED', close: 4005 });
  a.signal(12, b.key);
  expect((await a.answer(12)).type).toBe(FrameType.ACK);
  await b2.next((f) => f.type === FrameType.DELIVER);
  // Offline across the fleet: signal → PEER_OFFLINE, relay → queued and delivered on connect elsewhere.
  const c = generateIdentity(nodeSuite);
  a.signal(13, c.publicKey);
  expect((await a.answer(13)).type).toBe(FrameType.PEER_OFFLINE);
  const queued = a.envelope(c.publicKey, 'later');
  a.relay(14, c.publicKey, queued);
  expect(await a.answer(14)).toEqual({ type: FrameType.ACK, frameId: 14, status: AckStatus.QUEUED });
  const cc = await TestClient.connect(i2.url, c);
  clients.push(cc);
  const m = await cc.next((f) => f.type === FrameType.DELIVER);
  expect(m.type === FrameType.DELIVER && bytesEqual(m.envelope, queued)).toBe(true);
}

describe('two instances over one Redis', () => {
  it('routes across instances in one hop with exactly one ACK, takes over, mailboxes', async () => {
    const r = await startRedis();
    redises.push(r);
    await crossInstanceSuite(() => ({ REDIS_URL: r.url }));
  });

  it('delivers a mailbox after the rendezvous processes restart', async () => {
    const r = await startRedis({ persist: true });
    redises.push(r);
    const i1 = await instance({ REDIS_URL: r.url }, 'one');
    const a = await TestClient.connect(i1.url);
    clients.push(a);
    const bId = generateIdentity(nodeSuite);
    const e = a.envelope(bId.publicKey, 'survives');
    a.relay(1, bId.publicKey, e);
    expect(await a.answer(1)).toEqual({ type: FrameType.ACK, frameId: 1, status: AckStatus.QUEUED });
    await a.close();
    await i1.app.close();
    apps.length = 0;
    // Redis restarts too (AOF on): the mailbox is still there.
    await r.kill();
    await r.restart();
    const i2 = await instance({ REDIS_URL: r.url }, 'three');
    const b = await TestClient.connect(i2.url, bId);
    clients.push(b);
    const m = await b.next((f) => f.type === FrameType.DELIVER);
    expect(m.type === FrameType.DELIVER && bytesEqual(m.envelope, e)).toBe(true);
  });

  it('keeps serving locally while Redis is down, reports not ready, and recovers by itself', async () => {
    const r: RedisProc = await startRedis();
    redises.push(r);
    const i1 = await instance({ REDIS_URL: r.url }, 'one');
    const i2 = await instance({ REDIS_URL: r.url }, 'two');
    const readyz = async (port: string) => (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
    const port1 = new URL(i1.url).port;
    expect(await readyz(port1)).toBe(200);
    const a = await TestClient.connect(i1.url);
    const a2 = await TestClient.connect(i1.url);
    const b = await TestClient.connect(i2.url);
    clients.push(a, a2, b);
    await new Promise((res) => setTimeout(res, 100));
    await r.kill();
    await until(async () => (await readyz(port1)) === 503);
    expect(i1.app.broker.isReady()).toBe(false);
    // Local routing still works.
    a.signal(1, a2.key);
    expect((await a.answer(1)).type).toBe(FrameType.ACK);
    // A key that is not local cannot be routed: a clear code, no hang, no crash.
    const stranger = generateIdentity(nodeSuite);
    a.relay(2, stranger.publicKey);
    const e = await a.answer(2);
    expect(e.type === FrameType.ERROR && e.code).toBe('RDV_ERR_UNAVAILABLE');
    await r.restart();
    await until(async () => (await readyz(port1)) === 200, 15_000);
    await until(() => i2.app.broker.isReady(), 15_000);
    // Presence was re-claimed after the restart (non-persistent Redis lost it): cross-instance works again.
    await until(async () => {
      a.signal(3, b.key);
      const ans = await a.answer(3);
      return ans.type === FrameType.ACK;
    }, 15_000);
    await b.next((f) => f.type === FrameType.DELIVER);
  });
});

describe('Redis absent at start', () => {
  it('starts anyway, reports not ready, and becomes ready when Redis appears', async () => {
    const port = await freePort();
    const i1 = await instance({ REDIS_URL: `redis://127.0.0.1:${port}` }, 'early');
    const readyz = async () => (await fetch(`http://127.0.0.1:${new URL(i1.url).port}/readyz`)).status;
    expect(await readyz()).toBe(503);
    const a = await TestClient.connect(i1.url); // local service still works
    clients.push(a);
    const r = await startRedis({ port });
    redises.push(r);
    await until(async () => (await readyz()) === 200, 15_000);
    const b = generateIdentity(nodeSuite);
    a.relay(1, b.publicKey);
    expect(await a.answer(1)).toEqual({ type: FrameType.ACK, frameId: 1, status: AckStatus.QUEUED });
  });
});

describe('two instances over a 3-master Redis Cluster', () => {
  it('routes across instances with sharded pub/sub, takes over, mailboxes', async () => {
    const c = await startCluster();
    redises.push(c);
    await crossInstanceSuite(() => ({ REDIS_CLUSTER_NODES: c.seeds.join(',') }));
  }, 60_000);
});
