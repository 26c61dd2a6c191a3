/**
 * Issue 12, item 10 (server and protocol parts): smaller holes at the server's edges.
 *
 * Reproduced on a9e1cb0:
 *  - per-IP limits counted every IPv6 address separately, so one subscriber with a /64 (2^64
 *    addresses) had no per-IP limit at all: connections, and failed-hello blocking;
 *  - sockets that never authenticate could take every one of MAX_CONNECTIONS;
 *  - an invite token admitted any number of keys until it expired and could not be revoked;
 *  - `/metrics` answered anyone who reached the port;
 *  - an empty frame closed with 4001 before authentication and 1008 after, while the decoder
 *    calls it truncated (undocumented, and inconsistent).
 *
 * What must hold: IPv6 is grouped by IPV6_PREFIX_BITS (/64) and IPv4-mapped IPv6 is IPv4;
 * unauthenticated sockets have their own cap (MAX_UNAUTHENTICATED, RDV_ERR_TOO_MANY_UNAUTHENTICATED);
 * a single-use invite admits one key, cluster-wide (real Redis, two instances), and
 * INVITE_REVOKED ids are refused; METRICS_TOKEN protects /metrics; an empty frame is
 * RDV_ERR_MALFORMED_FRAME / 1007 in every state (docs/protocol.md).
 *
 * Client addresses other than 127.0.0.1 come from X-Forwarded-For with TRUST_PROXY=true (the
 * real code path a proxied deployment uses): a test cannot own a /64 of real sockets.
 */
import { encodeFrame, FrameType, generateIdentity, mintInviteToken } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startApp, TestClient } from '../../apps/rendezvous/test/helpers.js';
import { startRedis } from '../../apps/rendezvous/test/redis-helpers.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(env: Record<string, string>) {
  const s = await startApp(env);
  cleanups.push(() => s.app.close());
  return s;
}

/** Open a socket claiming `xff` as its address; resolves with its fate: the CHALLENGE, or the refusal. */
function dialAs(url: string, xff: string): Promise<{ accepted: boolean; code: string; close: number; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, xff === '' ? {} : { headers: { 'x-forwarded-for': xff } });
    cleanups.push(() => ws.terminate());
    let code = '';
    ws.on('error', () => {});
    ws.on('message', (d: Buffer) => {
      if (d[0] === FrameType.CHALLENGE) resolve({ accepted: true, code: '', close: 0, ws });
      else if (d[0] === FrameType.ERROR) code = d.subarray(6, 6 + d[5]!).toString();
    });
    ws.on('close', (close) => resolve({ accepted: false, code, close, ws }));
  });
}

async function open(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
  const c = await TestClient.open(url, undefined, { headers });
  cleanups.push(() => c.close());
  return c;
}

describe('item 10: per-IP limits group IPv6 by prefix', () => {
  it('counts one /64 as one IP for MAX_CONNS_PER_IP; another /64 is another IP', async () => {
    const s = await server({ TRUST_PROXY: 'true', MAX_CONNS_PER_IP: '2' });
    expect((await dialAs(s.url, '2001:db8:1:2::a')).accepted).toBe(true);
    expect((await dialAs(s.url, '2001:db8:1:2:ffff:1:2:3')).accepted).toBe(true);
    const third = await dialAs(s.url, '2001:db8:1:2::c');
    expect(third).toMatchObject({ accepted: false, code: 'RDV_ERR_TOO_MANY_CONNECTIONS', close: 1013 });
    expect((await dialAs(s.url, '2001:db8:1:3::1')).accepted).toBe(true);
  });

  it('IPv4-mapped IPv6 is the IPv4 address; IPv4 stays per address', async () => {
    const s = await server({ TRUST_PROXY: 'true', MAX_CONNS_PER_IP: '1' });
    expect((await dialAs(s.url, '192.0.2.7')).accepted).toBe(true);
    expect(await dialAs(s.url, '::ffff:192.0.2.7')).toMatchObject({ accepted: false, close: 1013 });
    expect((await dialAs(s.url, '192.0.2.8')).accepted).toBe(true);
  });

  it('blocks a /64 after too many failed hellos from any of its addresses', async () => {
    const s = await server({ TRUST_PROXY: 'true', AUTH_FAILURES_PER_IP_PER_MIN: '2' });
    for (let i = 1; i <= 3; i++) {
      const c = await open(s.url, { 'x-forwarded-for': `2001:db8:9:9::${i}` });
      c.sendHello({ origin: 'wrong:1' });
      await c.closed;
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(await dialAs(s.url, '2001:db8:9:9:abcd::77')).toMatchObject({
      accepted: false,
      code: 'RDV_ERR_AUTH_BLOCKED',
      close: 4008,
    });
    expect((await dialAs(s.url, '2001:db8:9:a::1')).accepted).toBe(true);
  });
});

describe('item 10: unauthenticated sockets have their own cap', () => {
  it('a flood of sockets that never say hello takes at most MAX_UNAUTHENTICATED, never MAX_CONNECTIONS', async () => {
    const s = await server({ MAX_CONNECTIONS: '8', MAX_UNAUTHENTICATED: '3', AUTH_DEADLINE_MS: '600000' });
    const peers = [];
    for (let i = 0; i < 3; i++) {
      const p = await TestClient.connect(s.url);
      cleanups.push(() => p.close());
      peers.push(p);
    }
    const fates = [];
    for (let i = 0; i < 10; i++) fates.push(await dialAs(s.url, ''));
    expect(fates.filter((f) => f.accepted)).toHaveLength(3);
    for (const f of fates.filter((x) => !x.accepted))
      expect(f).toMatchObject({ code: 'RDV_ERR_TOO_MANY_UNAUTHENTICATED', close: 1013 });
    // Room stays for peers: 3 peers + 3 silent sockets < 8.
    expect(s.app.hub.all.size).toBe(6);
    expect(s.app.hub.counts().open).toBe(3);
    // When the silent sockets go, peers connect again.
    for (const f of fates) f.ws.terminate();
    await expect.poll(() => s.app.hub.all.size, { timeout: 5_000 }).toBe(3);
    const late = await TestClient.connect(s.url);
    cleanups.push(() => late.close());
    expect(s.app.hub.counts().open).toBe(4);
  });
});

describe('item 10: one source cannot take the whole unauthenticated cap', () => {
  it('a /64 holds at most MAX_UNAUTHENTICATED_PER_IP silent sockets; a peer elsewhere still gets in', async () => {
    const s = await server({
      TRUST_PROXY: 'true',
      MAX_UNAUTHENTICATED: '5',
      MAX_UNAUTHENTICATED_PER_IP: '2',
      AUTH_DEADLINE_MS: '600000',
    });
    const fates = [];
    for (let i = 1; i <= 8; i++) fates.push(await dialAs(s.url, `2001:db8:5:5::${i}`));
    expect(fates.filter((f) => f.accepted)).toHaveLength(2);
    for (const f of fates.filter((x) => !x.accepted))
      expect(f).toMatchObject({ code: 'RDV_ERR_TOO_MANY_UNAUTHENTICATED', close: 1013 });
    const peer = await TestClient.open(s.url, undefined, { headers: { 'x-forwarded-for': '192.0.2.9' } });
    cleanups.push(() => peer.close());
    peer.sendHello();
    expect((await peer.next((f) => f.type === FrameType.WELCOME || f.type === FrameType.ERROR)).type).toBe(
      FrameType.WELCOME,
    );
    // Authenticated sockets no longer count: the same address may open new ones.
    expect((await dialAs(s.url, '192.0.2.9')).accepted).toBe(true);
    expect((await dialAs(s.url, '192.0.2.9')).accepted).toBe(true);
  });
});

describe('item 10: invite tokens can be single-use and revoked, cluster-wide', () => {
  const SECRET = 'i'.repeat(48);
  const idOf = (token: string) =>
    (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { id: string }).id;

  it('a single-use token admits its first key on every instance and no other key; a revoked id is refused', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const revokedToken = mintInviteToken(SECRET, { ttlMs: 60_000 });
    const env = {
      ADMISSION: 'token',
      INVITE_SECRET: SECRET,
      REDIS_URL: redis.url,
      INVITE_REVOKED: `someOtherId0000,${idOf(revokedToken)}`,
    };
    const one = await server({ ...env, INSTANCE_ID: 'one' });
    const two = await server({ ...env, INSTANCE_ID: 'two' });
    const auth = async (url: string, token: string, id = generateIdentity(nodeSuite)) => {
      const c = await TestClient.open(url, id);
      cleanups.push(() => c.close());
      c.sendHello({ token });
      const f = await c.next((x) => x.type === FrameType.WELCOME || x.type === FrameType.ERROR);
      return f.type === FrameType.WELCOME ? 'ok' : f.type === FrameType.ERROR ? f.code : '?';
    };
    const once = mintInviteToken(SECRET, { ttlMs: 60_000, once: true });
    const alice = generateIdentity(nodeSuite);
    expect(await auth(one.url, once, alice)).toBe('ok');
    // Someone else with the same token, on the other instance: refused.
    expect(await auth(two.url, once)).toBe('RDV_ERR_ADMISSION_DENIED');
    expect(await auth(one.url, once)).toBe('RDV_ERR_ADMISSION_DENIED');
    // Alice reconnects with it anywhere.
    expect(await auth(two.url, once, alice)).toBe('ok');
    // A reusable token still admits several keys, unless its id is revoked.
    const reusable = mintInviteToken(SECRET, { ttlMs: 60_000 });
    expect(await auth(one.url, reusable)).toBe('ok');
    expect(await auth(two.url, reusable)).toBe('ok');
    expect(await auth(one.url, revokedToken)).toBe('RDV_ERR_ADMISSION_DENIED');
    expect(await auth(two.url, revokedToken)).toBe('RDV_ERR_ADMISSION_DENIED');
  });
});

describe('item 10: /metrics can be protected without the proxy', () => {
  it('with METRICS_TOKEN, /metrics needs the bearer token', async () => {
    const token = 'm'.repeat(32);
    const s = await server({ METRICS_TOKEN: token });
    const base = `http://127.0.0.1:${s.port}/metrics`;
    expect((await fetch(base)).status).toBe(401);
    expect((await fetch(base, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await fetch(base, { headers: { authorization: token } })).status).toBe(401);
    const ok = await fetch(base, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('rdv_connections');
    expect((await fetch(`http://127.0.0.1:${s.port}/healthz`)).status).toBe(200);
  });
});

describe('item 10: edge frames get the documented codes', () => {
  it('an empty frame is RDV_ERR_MALFORMED_FRAME / 1007 before and after authentication', async () => {
    const s = await server({});
    const before = await open(s.url);
    before.send(new Uint8Array(0));
    expect(await before.errorAndClose()).toEqual({ code: 'RDV_ERR_MALFORMED_FRAME', close: 1007 });
    const after = await TestClient.connect(s.url);
    cleanups.push(() => after.close());
    after.send(new Uint8Array(0));
    expect(await after.errorAndClose()).toEqual({ code: 'RDV_ERR_MALFORMED_FRAME', close: 1007 });
  });

  it('a hello whose timestamp is above 2^53 is RDV_ERR_MALFORMED_FRAME / 1007', async () => {
    const s = await server({});
    const c = await open(s.url);
    const hello = encodeFrame({
      type: FrameType.HELLO,
      key: c.key,
      timestamp: 0,
      signature: new Uint8Array(64),
      token: '',
    });
    new DataView(hello.buffer, hello.byteOffset).setBigUint64(33, 2n ** 53n);
    c.send(hello);
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_MALFORMED_FRAME', close: 1007 });
  });
});
