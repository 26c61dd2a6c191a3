/**
 * RELAY_TTL across instances on a stale route: the sender's instance still has the recipient's
 * old instance in its route cache, that instance finds the recipient gone and mailboxes the
 * copy. The copy must live the sender's TTL there too, not the server's (the ROUTE record used
 * to have no TTL field: route-codec.ts ROUTE_TTL). Two real instances over a real redis-server,
 * with and without instance links.
 */
import { AckStatus, encodeFrame, type Frame, FrameType, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { describe, expect, it } from 'vitest';
import { closeAfterEach, presenceLanded, startApp, TestClient } from './helpers.js';
import { startRedis } from './redis-helpers.js';

const { apps, clients, redises } = closeAfterEach();

/** The server's mailbox TTL in these tests, s: the sender asks for 1 s. */
const SERVER_TTL_S = 3;
const LINKS = {
  INSTANCE_LINK_LISTEN: '127.0.0.1:0',
  INSTANCE_LINK_SECRET: 'link-secret-for-tests-0123456789abcdef',
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isDeliver = (f: Frame) => f.type === FrameType.DELIVER;

for (const [name, extra] of [
  ['through Redis', {}],
  ['over instance links', LINKS],
] as const) {
  describe(`RELAY_TTL on a stale cross-instance route (${name})`, () => {
    it('the instance that mailboxes the copy keeps it for the sender TTL, not the server TTL', async () => {
      const r = await startRedis();
      redises.push(r);
      // A long route cache: instance one keeps routing to "two" after the recipient left it.
      const env = { REDIS_URL: r.url, MAILBOX_TTL_S: String(SERVER_TTL_S), ROUTE_CACHE_TTL_MS: '60000', ...extra };
      const one = await startApp({ ...env, INSTANCE_ID: 'one' });
      const two = await startApp({ ...env, INSTANCE_ID: 'two' });
      apps.push(one.app, two.app);
      const a = await TestClient.connect(one.url);
      const bId = generateIdentity(nodeSuite);
      const b = await TestClient.connect(two.url, bId);
      clients.push(a);
      await presenceLanded(one.app, [b.key]);
      a.relay(1, b.key, a.envelope(b.key, 'live'));
      expect(await a.answer(1)).toEqual({ type: FrameType.ACK, frameId: 1, status: AckStatus.DELIVERED });
      await b.close(); // "two" is now a stale route for b in one's cache
      await sleep(100);
      expect(one.app.hub.counts().routeCache).toBe(1); // so the next frame goes the stale way
      const ttl = a.envelope(b.key, 'one second');
      a.send(encodeFrame({ type: FrameType.RELAY_TTL, frameId: 2, ttlS: 1, to: b.key, envelope: ttl }));
      expect(await a.answer(2)).toEqual({ type: FrameType.ACK, frameId: 2, status: AckStatus.QUEUED });
      await sleep(1500);
      const back = await TestClient.connect(two.url, bId);
      clients.push(back);
      await sleep(500);
      expect(back.frames.filter(isDeliver)).toHaveLength(0); // the 1 s copy expired
    });
  });
}
