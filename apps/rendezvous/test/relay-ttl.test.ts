/**
 * RELAY_TTL: a RELAY whose mailboxed copy lives min(ttlS, MAILBOX_TTL_S), on one instance with
 * the memory broker and on two instances sharing a real redis-server. Real short TTLs (the
 * server has no injected clock): MAILBOX_TTL_S = 2, a sender TTL of 1 s, and one far above the
 * server's (clamped, not refused). ttlS = 0 and truncated frames are refused; the server stays up.
 */
import { AckStatus, bytesEqual, encodeFrame, type Frame, FrameType, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { describe, expect, it } from 'vitest';
import { closeAfterEach, presenceLanded, startApp, TestClient } from './helpers.js';
import { startRedis } from './redis-helpers.js';

const { apps, clients, redises } = closeAfterEach();

/** The server's mailbox TTL in these tests, s. */
const SERVER_TTL_S = 2;

async function memoryFleet(): Promise<[string, string]> {
  const s = await startApp({ INSTANCE_ID: 'mem', MAILBOX_TTL_S: String(SERVER_TTL_S) });
  apps.push(s.app);
  return [s.url, s.url];
}

async function redisFleet(): Promise<[string, string]> {
  const r = await startRedis();
  redises.push(r);
  const env = { REDIS_URL: r.url, MAILBOX_TTL_S: String(SERVER_TTL_S) };
  const one = await startApp({ ...env, INSTANCE_ID: 'one' });
  const two = await startApp({ ...env, INSTANCE_ID: 'two' });
  apps.push(one.app, two.app);
  return [one.url, two.url];
}

async function connect(url: string, identity = generateIdentity(nodeSuite)): Promise<TestClient> {
  const c = await TestClient.connect(url, identity);
  clients.push(c);
  return c;
}

function relayTtl(c: TestClient, frameId: number, ttlS: number, to: Uint8Array, envelope: Uint8Array): void {
  c.send(encodeFrame({ type: FrameType.RELAY_TTL, frameId, ttlS, to, envelope }));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isDeliver = (f: Frame) => f.type === FrameType.DELIVER;
const queued = (frameId: number) => ({ type: FrameType.ACK, frameId, status: AckStatus.QUEUED });

for (const [name, makeFleet] of [
  ['memory broker', memoryFleet],
  ['two instances over Redis', redisFleet],
] as const) {
  describe(`RELAY_TTL (${name})`, () => {
    it('keeps a mailboxed copy for the sender TTL, clamped to the server TTL', async () => {
      const urls = await makeFleet();
      const a = await connect(urls[0]);
      const b = generateIdentity(nodeSuite); // offline throughout the sends
      const c = generateIdentity(nodeSuite);
      const long = a.envelope(b.publicKey, 'server ttl');
      const short = a.envelope(b.publicKey, 'one second');
      const clamped = a.envelope(c.publicKey, 'asked for 136 years');
      // The short copy goes in behind a longer one: it must not shorten the mailbox's life.
      a.relay(1, b.publicKey, long);
      expect(await a.answer(1)).toEqual(queued(1));
      relayTtl(a, 2, 1, b.publicKey, short);
      expect(await a.answer(2)).toEqual(queued(2));
      relayTtl(a, 3, 0xffff_ffff, c.publicKey, clamped);
      expect(await a.answer(3)).toEqual(queued(3));
      const sent = Date.now();

      await sleep(1300);
      const b1 = await connect(urls[1], b);
      const got = await b1.next(isDeliver);
      expect(got.type === FrameType.DELIVER && bytesEqual(got.envelope, long)).toBe(true);
      await sleep(200);
      expect(b1.frames.filter(isDeliver)).toHaveLength(0); // the 1 s copy expired

      await sleep(Math.max(0, sent + SERVER_TTL_S * 1000 + 300 - Date.now()));
      const c1 = await connect(urls[1], c);
      await sleep(300);
      expect(c1.frames.filter(isDeliver)).toHaveLength(0); // clamped to the server's 2 s
    });

    it('delivers a RELAY_TTL live like a RELAY', async () => {
      const urls = await makeFleet();
      const a = await connect(urls[0]);
      const b = await connect(urls[1]);
      await presenceLanded(apps[0]!, [b.key]);
      const env = a.envelope(b.key, 'live');
      relayTtl(a, 7, 60, b.key, env);
      const d = await b.next(isDeliver);
      expect(d.type === FrameType.DELIVER && d.channel === 1 && bytesEqual(d.from, a.key)).toBe(true);
      expect(d.type === FrameType.DELIVER && bytesEqual(d.envelope, env)).toBe(true);
      expect(await a.answer(7)).toEqual({ type: FrameType.ACK, frameId: 7, status: AckStatus.DELIVERED });
    });

    it('refuses ttlS = 0 (RDV_ERR_BAD_TTL) and truncated frames (RDV_ERR_MALFORMED_FRAME, 1007)', async () => {
      const urls = await makeFleet();
      const a = await connect(urls[0]);
      const b = generateIdentity(nodeSuite);
      relayTtl(a, 9, 0, b.publicKey, a.envelope(b.publicKey));
      expect(await a.answer(9)).toMatchObject({ type: FrameType.ERROR, frameId: 9, code: 'RDV_ERR_BAD_TTL' });
      // The session stays usable after a refused TTL.
      relayTtl(a, 10, 1, b.publicKey, a.envelope(b.publicKey));
      expect(await a.answer(10)).toEqual(queued(10));
      const full = encodeFrame({
        type: FrameType.RELAY_TTL,
        frameId: 11,
        ttlS: 5,
        to: b.publicKey,
        envelope: new Uint8Array(0),
      });
      for (const len of [1, 5, 9, 40]) {
        const t = await connect(urls[0]);
        t.send(full.subarray(0, len));
        expect(await t.errorAndClose()).toEqual({ code: 'RDV_ERR_MALFORMED_FRAME', close: 1007 });
      }
      // An empty envelope behind a whole header is a bad peer packet, not a crash.
      const e = await connect(urls[0]);
      e.send(full);
      expect(await e.answer(11)).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_BAD_ENVELOPE' });
      const still = await connect(urls[1]);
      expect(still.welcome?.mailboxTtlMs).toBe(SERVER_TTL_S * 1000);
    });
  });
}
