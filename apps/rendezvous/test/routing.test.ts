/** Routing edge cases on two in-process instances sharing a MemoryBus; heartbeat; mailbox limits. */
import { AckStatus, encodeKey, FrameType, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../src/app.js';
import { makeClaim } from '../src/broker/broker.js';
import { MemoryBroker, MemoryBus } from '../src/broker/memory.js';
import { encodeMailHint } from '../src/route-codec.js';
import { startApp, TestClient } from './helpers.js';

const apps: RendezvousApp[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function pair(env: Record<string, string> = {}) {
  const bus = new MemoryBus(1000);
  const one = await startApp(
    { INSTANCE_ID: 'one', ...env },
    { broker: new MemoryBroker({ maxMailboxKeys: 1000, bus }) },
  );
  const two = await startApp(
    { INSTANCE_ID: 'two', ...env },
    { broker: new MemoryBroker({ maxMailboxKeys: 1000, bus }) },
  );
  apps.push(one.app, two.app);
  return { bus, one, two };
}

async function client(url: string, id = generateIdentity(nodeSuite)): Promise<TestClient> {
  const c = await TestClient.connect(url, id);
  clients.push(c);
  return c;
}

describe('cross-instance routing', () => {
  it('answers RDV_ERR_ROUTE_TIMEOUT once when the instance holding the key never answers', async () => {
    const { bus, one } = await pair({ ROUTE_TIMEOUT_MS: '300' });
    const a = await client(one.url);
    const ghostPeer = generateIdentity(nodeSuite);
    // Presence says a vanished instance holds the key.
    bus.presence.set(encodeKey(ghostPeer.publicKey), {
      claim: makeClaim('ghost', Date.now(), 1),
      expires: Date.now() + 60_000,
    });
    a.signal(5, ghostPeer.publicKey);
    const e = await a.answer(5, 3000);
    expect(e).toMatchObject({ type: FrameType.ERROR, frameId: 5, code: 'RDV_ERR_ROUTE_TIMEOUT' });
    await new Promise((r) => setTimeout(r, 400));
    expect(a.frames.filter((f) => 'frameId' in f && f.frameId === 5)).toHaveLength(0);
    expect(one.app.stats.drops.route_timeout).toBe(1);
  });

  it('follows a stale route with one extra hop', async () => {
    const bus = new MemoryBus(1000);
    const mk = async (id: string) => {
      const s = await startApp(
        { INSTANCE_ID: id, ROUTE_CACHE_TTL_MS: '60000' },
        { broker: new MemoryBroker({ maxMailboxKeys: 1000, bus }) },
      );
      apps.push(s.app);
      return s;
    };
    const one = await mk('one');
    const two = await mk('two');
    const three = await mk('three');
    const a = await client(one.url);
    const bId = generateIdentity(nodeSuite);
    const b = await client(two.url, bId);
    await new Promise((r) => setTimeout(r, 50));
    a.signal(1, bId.publicKey); // caches b → two
    expect((await a.answer(1)).type).toBe(FrameType.ACK);
    await b.next((f) => f.type === FrameType.DELIVER);
    // b moves to three; one's cache still says two.
    const b2 = await client(three.url, bId);
    expect((await b.errorAndClose()).code).toBe('RDV_ERR_REPLACED');
    await new Promise((r) => setTimeout(r, 50));
    a.signal(2, bId.publicKey);
    expect(await a.answer(2)).toEqual({ type: FrameType.ACK, frameId: 2, status: AckStatus.DELIVERED });
    await b2.next((f) => f.type === FrameType.DELIVER);
  });
});

describe('mailbox hint', () => {
  it('delivers an envelope mailboxed while its recipient was connecting, once told by a MAIL record', async () => {
    const { bus, one, two } = await pair();
    const a = await client(one.url);
    const b = await client(two.url);
    const env = a.envelope(b.key, 'raced');
    // The envelope landed in the mailbox after b's connect-time read (the race).
    const limits = {
      maxMessages: 10,
      maxBytes: 1 << 20,
      maxMessagesPerSender: 10,
      maxBytesPerSender: 1 << 20,
      totalMaxBytes: 1 << 24,
      ttlMs: 60_000,
    };
    expect(await one.app.broker.mailboxPush(encodeKey(b.key), Buffer.from(env), limits, Date.now())).toBe('queued');
    bus.channels.get('two')!(encodeMailHint(b.key));
    const d = await b.next((f) => f.type === FrameType.DELIVER);
    expect(d.type === FrameType.DELIVER && Buffer.from(d.envelope).equals(env)).toBe(true);
  });
});

describe('mailbox limits', () => {
  it('answers RDV_ERR_MAILBOX_FULL past MAILBOX_MAX_MESSAGES and keeps order', async () => {
    const s = await startApp({ MAILBOX_MAX_MESSAGES: '3' });
    apps.push(s.app);
    const a = await client(s.url);
    const bId = generateIdentity(nodeSuite);
    const envs = [0, 1, 2, 3].map((i) => a.envelope(bId.publicKey, `m${i}`));
    envs.forEach((e, i) => {
      a.relay(i + 1, bId.publicKey, e);
    });
    for (let i = 1; i <= 3; i++)
      expect(await a.answer(i)).toEqual({ type: FrameType.ACK, frameId: i, status: AckStatus.QUEUED });
    expect(await a.answer(4)).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_MAILBOX_FULL' });
    const b = await client(s.url, bId);
    for (let i = 0; i < 3; i++) {
      const d = await b.next((f) => f.type === FrameType.DELIVER);
      expect(d.type === FrameType.DELIVER && Buffer.from(d.envelope).equals(envs[i]!)).toBe(true);
    }
  });
});

describe('heartbeat', () => {
  it('terminates a peer that answers no pings, keeps one that does', async () => {
    const s = await startApp({ HEARTBEAT_INTERVAL_MS: '150' });
    apps.push(s.app);
    const alive = await client(s.url);
    // A client that never answers pings (autoPong off) and sends nothing.
    const id = generateIdentity(nodeSuite);
    const mute = await TestClient.open(s.url, id, { autoPong: false });
    mute.sendHello();
    await mute.next((f) => f.type === FrameType.WELCOME);
    // It still reads: it is told why it is cut, with the registered close code.
    expect(await mute.errorAndClose(5000)).toEqual({ code: 'RDV_ERR_HEARTBEAT_TIMEOUT', close: 4007 });
    expect(s.app.stats.drops.heartbeat).toBe(1);
    expect(alive.closeCode).toBeNull();
  });
});
