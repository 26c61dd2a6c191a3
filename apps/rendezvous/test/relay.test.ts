import { AckStatus, bytesEqual, DeliverChannel, FrameType, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../src/app.js';
import { startApp, TestClient } from './helpers.js';

let app: RendezvousApp | null = null;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await app?.close();
  app = null;
});

describe('one instance, memory broker', () => {
  it('authenticates, forwards SIGNAL and RELAY untouched, and ACKs once', async () => {
    const s = await startApp();
    app = s.app;
    const a = await TestClient.connect(s.url);
    const b = await TestClient.connect(s.url);
    clients.push(a, b);
    expect(a.welcome?.key).toBeTypeOf('string');
    expect(a.welcome?.heartbeatMs).toBe(30000);
    expect(Object.keys(a.welcome ?? {})).toEqual([
      'instanceId',
      'peerPacketVersions',
      'key',
      'heartbeatMs',
      'maxFrameBytes',
      'iceServers',
      'sendQueueMaxBytes',
      'relayAllowanceBytes',
      'rateBytesPerS',
      'mailboxTtlMs',
      'stun',
    ]);
    // Senders choose a mailbox TTL within it (docs/protocol.md, "Sender behaviour with a mailbox").
    expect(a.welcome?.mailboxTtlMs).toBe(s.app.config.mailboxTtlS * 1000);
    // Clients size their in-flight window from it (a quarter of the queue).
    expect(a.welcome?.sendQueueMaxBytes).toBe(s.app.config.sendQueueMaxBytes);
    expect(a.welcome?.instanceId).toBe(s.app.config.instanceId);
    expect(a.welcome?.maxFrameBytes).toBe(65536);
    const env = a.envelope(b.key, 'hello');
    a.signal(7, b.key, env);
    const d = await b.next((f) => f.type === FrameType.DELIVER);
    expect(d.type === FrameType.DELIVER && d.channel).toBe(DeliverChannel.SIGNAL);
    expect(d.type === FrameType.DELIVER && bytesEqual(d.envelope, env)).toBe(true);
    expect(d.type === FrameType.DELIVER && bytesEqual(d.from, a.key)).toBe(true);
    const ack = await a.answer(7);
    expect(ack).toEqual({ type: FrameType.ACK, frameId: 7, status: AckStatus.DELIVERED });

    b.relay(8, a.key);
    const d2 = await a.next((f) => f.type === FrameType.DELIVER);
    expect(d2.type === FrameType.DELIVER && d2.channel).toBe(DeliverChannel.RELAY);
    expect(await b.answer(8)).toEqual({ type: FrameType.ACK, frameId: 8, status: AckStatus.DELIVERED });
  });

  it('answers PEER_OFFLINE for a signal to an offline key, and mailboxes a relay until it connects', async () => {
    const s = await startApp();
    app = s.app;
    const a = await TestClient.connect(s.url);
    clients.push(a);
    const bId = generateIdentity(nodeSuite);
    a.signal(1, bId.publicKey);
    const off = await a.answer(1);
    expect(off.type).toBe(FrameType.PEER_OFFLINE);
    const e1 = a.envelope(bId.publicKey, 'one');
    const e2 = a.envelope(bId.publicKey, 'two');
    a.relay(2, bId.publicKey, e1);
    a.relay(3, bId.publicKey, e2);
    expect(await a.answer(2)).toEqual({ type: FrameType.ACK, frameId: 2, status: AckStatus.QUEUED });
    expect(await a.answer(3)).toEqual({ type: FrameType.ACK, frameId: 3, status: AckStatus.QUEUED });
    const b = await TestClient.connect(s.url, bId);
    clients.push(b);
    const m1 = await b.next((f) => f.type === FrameType.DELIVER);
    const m2 = await b.next((f) => f.type === FrameType.DELIVER);
    expect(m1.type === FrameType.DELIVER && bytesEqual(m1.envelope, e1)).toBe(true);
    expect(m2.type === FrameType.DELIVER && bytesEqual(m2.envelope, e2)).toBe(true);
    expect(m1.type === FrameType.DELIVER && bytesEqual(m1.from, a.key)).toBe(true);
  });

  it('answers PING with PONG carrying the same nonce', async () => {
    const s = await startApp();
    app = s.app;
    const a = await TestClient.connect(s.url);
    clients.push(a);
    const { encodeFrame } = await import('@p2p-comm/protocol');
    a.send(encodeFrame({ type: FrameType.PING, nonce: 123456789 }));
    expect(await a.next((f) => f.type === FrameType.PONG)).toEqual({ type: FrameType.PONG, nonce: 123456789 });
  });

  it('replaces an older connection for the same key', async () => {
    const s = await startApp();
    app = s.app;
    const id = generateIdentity(nodeSuite);
    const old = await TestClient.connect(s.url, id);
    const fresh = await TestClient.connect(s.url, id);
    clients.push(old, fresh);
    expect(await old.errorAndClose()).toEqual({ code: 'RDV_ERR_REPLACED', close: 4005 });
    const other = await TestClient.connect(s.url);
    clients.push(other);
    other.signal(1, id.publicKey);
    expect((await other.answer(1)).type).toBe(FrameType.ACK);
    expect((await fresh.next((f) => f.type === FrameType.DELIVER)).type).toBe(FrameType.DELIVER);
  });
});
