/**
 * Issue 12, item 4: hello relay with the default configuration.
 *
 * Attack reproduced on a9e1cb0: with PUBLIC_ORIGINS unset (a bare `npm start`) the server took
 * the origin a hello must be signed for from the request's Host header, which the connecting
 * party chooses. A malicious server M that the victim dials once opens its own connection to
 * the real server S naming M in the Host header, passes S's CHALLENGE to the victim, and
 * replays the HELLO the victim signed for M. S welcomed it: M held the victim's session (its
 * relayed and mailboxed traffic), and the victim's real connection went to `replaced` and
 * never came back.
 *
 * What must hold:
 *  - with the default configuration a hello signed for an origin S does not serve is refused
 *    (S derives its origins from what it binds, never from the Host header), whatever Host
 *    header M sends, and the victim's session and traffic stay with the victim;
 *  - a client that is replaced tells its user (`server.status` → `replaced`, with the code)
 *    and comes back after a backoff;
 *  - two holders of one key (or an attacker replaying hellos) cannot make it ping-pong
 *    without bound: after `maxReconnects` replacements in the window it stays `replaced`
 *    until the user asks (`reconnect()`, JSON-RPC `server.reconnect`).
 *
 * Everything is real: S is the real app on 127.0.0.1, M a real WebSocket server, the victim
 * the real client SDK.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { decodeFrame, type Frame, FrameType, generateIdentity, type Identity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { RendezvousApp } from '../../apps/rendezvous/src/app.js';
import { startApp, TestClient } from '../../apps/rendezvous/test/helpers.js';
import { createClient, type P2PClient, RendezvousConnection, serveExtension } from '../../client/src/index.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function realServer(): Promise<{ app: RendezvousApp; url: string; port: number }> {
  // The default configuration: no PUBLIC_ORIGINS (testConfig sets only HOST, ports, log level).
  const s = await startApp();
  cleanups.push(() => s.app.close());
  return s;
}

async function victimClient(
  serverUrl: string,
  replaced?: { delayMs: number; maxReconnects: number; windowMs: number },
): Promise<{ client: P2PClient; states: { state: string; detail: string }[] }> {
  const home = mkdtempSync(join(tmpdir(), 'adv04-'));
  const client = createClient({ home, server: serverUrl, paths: { webrtc: false }, ...(replaced ? { replaced } : {}) });
  const states: { state: string; detail: string }[] = [];
  client.on('server.status', (s) => states.push(s));
  await client.start();
  cleanups.push(async () => {
    await client.stop();
    rmSync(home, { recursive: true, force: true });
  });
  await client.waitForServer(5_000);
  return { client, states };
}

/**
 * The malicious server: for each visitor it dials the real server itself (naming `hostHeader`
 * in its Host header, or the real one), relays the real CHALLENGE, and replays the visitor's
 * HELLO. Resolves with the real server's answer to the replayed hello.
 */
async function maliciousServer(
  realUrl: string,
  forgeHost: boolean,
): Promise<{ url: string; answer: Promise<Frame>; relayedHellos: () => number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const port = (wss.address() as { port: number }).port;
  const url = `ws://127.0.0.1:${port}`;
  let hellos = 0;
  let resolveAnswer: (f: Frame) => void = () => {};
  const answer = new Promise<Frame>((r) => {
    resolveAnswer = r;
  });
  const upstreams: WebSocket[] = [];
  wss.on('connection', (visitor) => {
    visitor.on('error', () => {});
    const up = new WebSocket(`${realUrl}`, forgeHost ? { headers: { host: `127.0.0.1:${port}` } } : {});
    upstreams.push(up);
    up.on('error', () => {});
    up.on('message', (data: Buffer) => {
      const f = decodeFrame(new Uint8Array(data), 1 << 20);
      if (f.type === FrameType.CHALLENGE) visitor.send(data);
      else if (f.type === FrameType.WELCOME || f.type === FrameType.ERROR) resolveAnswer(f);
    });
    visitor.on('message', (data: Buffer) => {
      if (data[0] === FrameType.HELLO && up.readyState === WebSocket.OPEN) {
        hellos++;
        up.send(data);
      }
    });
  });
  cleanups.push(async () => {
    for (const u of upstreams) u.terminate();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
  return { url, answer, relayedHellos: () => hellos };
}

/** The victim dials the malicious server once (e.g. a server URL someone shared), with its own key. */
function dialOnce(url: string, identity: Identity): RendezvousConnection {
  const conn = new RendezvousConnection({ url, identity, suite: nodeSuite });
  conn.on('server-error', () => conn.stop()); // dial once: no retry loop towards M
  conn.start();
  cleanups.push(() => conn.stop());
  return conn;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)),
  ]);
}

describe('item 4: a hello relayed by another server is refused with the default config', () => {
  for (const forgeHost of [true, false]) {
    it(`refuses the victim's relayed hello (${forgeHost ? 'Host header naming M' : 'Host header naming S'}); the victim keeps its session and traffic`, async () => {
      const s = await realServer();
      const victim = await victimClient(s.url);
      const bob = await TestClient.connect(s.url);
      cleanups.push(() => void bob.close());

      const m = await maliciousServer(s.url, forgeHost);
      dialOnce(m.url, victim.client.identity);
      const answer = await withTimeout(m.answer, 5_000, "the real server's answer to the relayed hello");
      expect(m.relayedHellos()).toBe(1);
      expect(answer.type).toBe(FrameType.ERROR);
      if (answer.type === FrameType.ERROR)
        expect(['RDV_ERR_WRONG_ORIGIN', 'RDV_ERR_AUTH_FAILED']).toContain(answer.code);

      // The victim was never pushed off, and what is sent to it still reaches it.
      await new Promise((r) => setTimeout(r, 100));
      expect(s.app.stats.replaced).toBe(0);
      expect(victim.states.map((x) => x.state)).not.toContain('replaced');
      expect(victim.client.rendezvous?.isConnected).toBe(true);
      const got = new Promise<Uint8Array>((resolve) =>
        victim.client.rendezvous!.once('deliver', (from) => resolve(from)),
      );
      bob.relay(1, victim.client.identity.publicKey);
      expect(await bob.answer(1)).toMatchObject({ type: FrameType.ACK, status: 0 });
      expect(Buffer.from(await withTimeout(got, 5_000, 'delivery to the victim')).equals(Buffer.from(bob.key))).toBe(
        true,
      );
    });
  }
});

describe('item 4: the default origins come from the bind address, not from the Host header', () => {
  it('a wildcard bind serves its loopback names; a client dialing another name is told RDV_ERR_WRONG_ORIGIN', async () => {
    const s = await startApp({ HOST: '0.0.0.0' });
    cleanups.push(() => s.app.close());
    const ok = await TestClient.connect(`ws://127.0.0.1:${s.port}/v1/ws`);
    cleanups.push(() => void ok.close());
    // 127.0.0.2 reaches the same socket (loopback /8) but is not a name this machine serves.
    const home = mkdtempSync(join(tmpdir(), 'adv04-'));
    const client = createClient({ home, server: `ws://127.0.0.2:${s.port}`, paths: { webrtc: false } });
    await client.start();
    cleanups.push(async () => {
      await client.stop();
      rmSync(home, { recursive: true, force: true });
    });
    await expect(client.waitForServer(5_000)).rejects.toMatchObject({
      code: 'CLIENT_ERR_SERVER_REJECTED',
      message: expect.stringMatching(/RDV_ERR_WRONG_ORIGIN/),
    });
  });
});

describe('item 4: a replaced client tells its user and recovers, without ping-pong', () => {
  it('reports `replaced` with the code, then reconnects after the backoff', async () => {
    const s = await realServer();
    const victim = await victimClient(s.url, { delayMs: 200, maxReconnects: 3, windowMs: 60_000 });
    // Another holder of the victim's key connects (what a relayed hello used to do), then leaves.
    const other = await TestClient.connect(s.url, victim.client.identity);
    await expect.poll(() => victim.states.some((x) => x.state === 'replaced'), { timeout: 5_000 }).toBe(true);
    const replaced = victim.states.find((x) => x.state === 'replaced')!;
    expect(replaced.detail).toMatch(/RDV_ERR_REPLACED/);
    expect(replaced.detail).toMatch(/reconnecting in \d+ ms/);
    expect(await other.closed).toBe(4005); // the victim came back and took over again
    await expect.poll(() => victim.client.rendezvous?.isConnected, { timeout: 5_000 }).toBe(true);
    const after = victim.states.slice(victim.states.indexOf(replaced));
    expect(after.map((x) => x.state)).toContain('connected');
    expect(s.app.stats.replaced).toBe(2);
  });

  it('over JSON-RPC: the host is notified (`server.status` replaced) and `server.reconnect` takes the session back', async () => {
    const s = await realServer();
    // maxReconnects 0: no automatic return, so only the explicit call can bring it back.
    const victim = await victimClient(s.url, { delayMs: 60_000, maxReconnects: 0, windowMs: 60_000 });
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: { method?: string; id?: number; params?: { state: string; detail: string }; result?: unknown }[] = [];
    let buf = '';
    output.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, i)));
        buf = buf.slice(i + 1);
      }
    });
    const served = serveExtension(victim.client, { input, output, log: () => {} });
    cleanups.push(() => {
      input.end();
      return served;
    });
    const other = await TestClient.connect(s.url, victim.client.identity);
    const notified = () => lines.find((l) => l.method === 'server.status' && l.params?.state === 'replaced');
    await expect.poll(() => notified() !== undefined, { timeout: 5_000 }).toBe(true);
    expect(notified()!.params!.detail).toMatch(/RDV_ERR_REPLACED.*not reconnecting/);
    await new Promise((r) => setTimeout(r, 300));
    expect(victim.client.rendezvous?.isConnected).toBe(false);
    input.write(`${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'server.reconnect' })}\n`);
    await expect.poll(() => lines.some((l) => l.id === 7 && l.result !== undefined), { timeout: 5_000 }).toBe(true);
    await expect.poll(() => victim.client.rendezvous?.isConnected, { timeout: 5_000 }).toBe(true);
    expect(lines.filter((l) => l.method === 'server.status').map((l) => l.params!.state)).toContain('connected');
    expect(await other.closed).toBe(4005);
  });

  it('two holders of one key settle within the bound; the user can take over explicitly', async () => {
    const s = await realServer();
    const id = generateIdentity(nodeSuite);
    const policy = { delayMs: 100, maxReconnects: 2, windowMs: 60_000 };
    const last = new Map<RendezvousConnection, string>();
    const make = () => {
      const c = new RendezvousConnection({
        url: s.url,
        identity: id,
        suite: nodeSuite,
        random: () => 0.5,
        replaced: policy,
      });
      c.on('state', (state, detail) => last.set(c, `${state}: ${detail}`));
      cleanups.push(() => c.stop());
      return c;
    };
    const gaveUp = (c: RendezvousConnection) => /^replaced: .*not reconnecting/.test(last.get(c) ?? '');
    const a = make();
    a.start();
    await expect.poll(() => a.isConnected, { timeout: 5_000 }).toBe(true);
    const b = make();
    b.start();
    // Each side comes back at most maxReconnects times: at most 2 × 2 + 1 takeovers, then quiet.
    await expect
      .poll(() => (gaveUp(a) && b.isConnected) || (gaveUp(b) && a.isConnected), { timeout: 10_000 })
      .toBe(true);
    const settled = s.app.stats.replaced;
    expect(settled).toBeGreaterThanOrEqual(1);
    expect(settled).toBeLessThanOrEqual(2 * policy.maxReconnects + 1);
    await new Promise((r) => setTimeout(r, 1_500)); // longer than every backoff the policy allows
    expect(s.app.stats.replaced).toBe(settled);
    const [loser, winner] = a.state === 'replaced' ? [a, b] : [b, a];
    // The user asks for the connection back: it takes over at once.
    loser.reconnect();
    await expect.poll(() => loser.isConnected, { timeout: 5_000 }).toBe(true);
    await expect.poll(() => gaveUp(winner), { timeout: 5_000 }).toBe(true);
    expect(s.app.stats.replaced).toBe(settled + 1);
  });
});
