import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKey, generateIdentity, mintInviteToken } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowlist } from '../src/admission.js';
import type { RendezvousApp } from '../src/app.js';
import { startApp, TestClient } from './helpers.js';
import { type RedisProc, startRedis } from './redis-helpers.js';

let app: RendezvousApp | null = null;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await app?.close();
  app = null;
});
const dir = mkdtempSync(join(tmpdir(), 'rdv-adm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function tryAuth(
  url: string,
  id = generateIdentity(nodeSuite),
  token = '',
): Promise<{ ok: boolean; code?: string; close?: number }> {
  const c = await TestClient.open(url, id);
  clients.push(c);
  c.sendHello({ token });
  const f = await c.next((x) => x.type === 0x03 || x.type === 0x20);
  if (f.type === 0x03) return { ok: true };
  return { ok: false, code: f.type === 0x20 ? f.code : '', close: await c.closed };
}

const SECRET = 's'.repeat(40);

describe('admission', () => {
  it('allowlist file: admits listed keys, denies others with RDV_ERR_ADMISSION_DENIED (4004)', async () => {
    const yes = generateIdentity(nodeSuite);
    const file = join(dir, 'allow.txt');
    writeFileSync(file, `# team keys\n${encodeKey(yes.publicKey)}  # alice\n\n`);
    const s = await startApp({ ADMISSION: 'allowlist', ALLOWLIST_FILE: file });
    app = s.app;
    expect(await tryAuth(s.url, yes)).toEqual({ ok: true });
    expect(await tryAuth(s.url)).toEqual({ ok: false, code: 'RDV_ERR_ADMISSION_DENIED', close: 4004 });
    expect(app.stats.authFailures.admission).toBe(1);
  });

  it('reloads the allowlist file on request, keeping the old list when the new file is bad', async () => {
    const first = generateIdentity(nodeSuite);
    const second = generateIdentity(nodeSuite);
    const file = join(dir, 'reload.txt');
    writeFileSync(file, `${encodeKey(first.publicKey)}\n`);
    const s = await startApp({ ADMISSION: 'allowlist', ALLOWLIST_FILE: file });
    app = s.app;
    expect(await tryAuth(s.url, second)).toMatchObject({ code: 'RDV_ERR_ADMISSION_DENIED' });
    writeFileSync(file, `${encodeKey(second.publicKey)}\n`);
    s.app.reloadAllowlist();
    expect(await tryAuth(s.url, second)).toEqual({ ok: true });
    writeFileSync(file, 'garbage\n');
    expect(() => s.app.reloadAllowlist()).toThrow(/line 1/);
    expect(await tryAuth(s.url, second)).toEqual({ ok: true });
  });

  it('rejects a malformed allowlist file', () => {
    expect(() => parseAllowlist('not-a-key\n')).toThrow(/line 1/);
  });

  it('token: admits a valid invite, denies a wrong, expired or foreign-bound one', async () => {
    const s = await startApp({ ADMISSION: 'token', INVITE_SECRET: SECRET });
    app = s.app;
    const id = generateIdentity(nodeSuite);
    expect(await tryAuth(s.url, id, mintInviteToken(SECRET, { ttlMs: 60_000 }))).toEqual({ ok: true });
    expect(
      await tryAuth(s.url, generateIdentity(nodeSuite), mintInviteToken(SECRET, { ttlMs: 60_000, key: id.publicKey })),
    ).toMatchObject({ code: 'RDV_ERR_ADMISSION_DENIED' });
    expect(await tryAuth(s.url, undefined, mintInviteToken('x'.repeat(40), { ttlMs: 60_000 }))).toMatchObject({
      code: 'RDV_ERR_ADMISSION_DENIED',
    });
    expect(
      await tryAuth(s.url, undefined, mintInviteToken(SECRET, { ttlMs: 1, now: Date.now() - 10_000 })),
    ).toMatchObject({ code: 'RDV_ERR_ADMISSION_DENIED' });
    expect(await tryAuth(s.url, undefined, '')).toMatchObject({ code: 'RDV_ERR_ADMISSION_DENIED', close: 4004 });
  });

  describe('allowlist in a Redis set', () => {
    let redis: RedisProc;
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it('admits members, denies others, and fails closed while Redis is down', async () => {
      const yes = generateIdentity(nodeSuite);
      const r = new Redis(redis.url);
      await r.sadd('team', encodeKey(yes.publicKey));
      await r.quit();
      const s = await startApp({ ADMISSION: 'allowlist', ALLOWLIST_REDIS_KEY: 'team', REDIS_URL: redis.url });
      app = s.app;
      expect(await tryAuth(s.url, yes)).toEqual({ ok: true });
      expect(await tryAuth(s.url)).toMatchObject({ code: 'RDV_ERR_ADMISSION_DENIED', close: 4004 });
      await redis.kill();
      await expect.poll(() => s.app.broker.isReady(), { timeout: 5000 }).toBe(false);
      expect(await tryAuth(s.url)).toEqual({ ok: false, code: 'RDV_ERR_ADMISSION_UNAVAILABLE', close: 1013 });
      await redis.restart();
    });
  });
});

describe('TURN credentials', () => {
  it('gives authenticated peers short-lived coturn REST credentials', async () => {
    const s = await startApp({
      TURN_SECRET: 'turn-secret',
      TURN_URLS: 'turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349',
      TURN_TTL_S: '600',
    });
    app = s.app;
    const id = generateIdentity(nodeSuite);
    const c = await TestClient.connect(s.url, id);
    clients.push(c);
    const ice = c.welcome?.iceServers as { urls: string[]; username?: string; credential?: string }[];
    const turn = ice.find((e) => e.username !== undefined)!;
    expect(turn.urls).toEqual(['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:5349']);
    const [expiry, key] = turn.username!.split(':');
    expect(key).toBe(encodeKey(id.publicKey));
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(590);
    expect(Number(expiry) - Date.now() / 1000).toBeLessThanOrEqual(601);
    expect(turn.credential).toBe(createHmac('sha1', 'turn-secret').update(turn.username!).digest('base64'));
  });
});
