/** Bad, oversized or hostile input: each gets its exact error code and close code, and never crashes the server. */
import { buildHello, encodeFrame, FrameType, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RendezvousApp } from '../src/app.js';
import { startApp, TestClient } from './helpers.js';

let app: RendezvousApp | null = null;
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await app?.close();
  app = null;
});

async function server(env: Record<string, string> = {}): Promise<string> {
  const s = await startApp(env);
  app = s.app;
  return s.url;
}

async function open(url: string): Promise<TestClient> {
  const c = await TestClient.open(url);
  clients.push(c);
  return c;
}

async function authed(url: string): Promise<TestClient> {
  const c = await TestClient.connect(url);
  clients.push(c);
  return c;
}

describe('before authentication', () => {
  it('refuses any frame but HELLO: RDV_ERR_NOT_AUTHENTICATED, 4001', async () => {
    const url = await server();
    const c = await open(url);
    c.signal(1, generateIdentity(nodeSuite).publicKey);
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_NOT_AUTHENTICATED', close: 4001 });
  });

  it('rejects a bad signature: RDV_ERR_AUTH_FAILED, 4002', async () => {
    const url = await server();
    const c = await open(url);
    const hello = buildHello(nodeSuite, c.identity, c.challenge!.challenge, new URL(url).host);
    hello.signature[0]! ^= 1;
    c.send(encodeFrame(hello));
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_AUTH_FAILED', close: 4002 });
  });

  it('rejects a hello signed for another origin (a different server)', async () => {
    const url = await server();
    const c = await open(url);
    c.sendHello({ origin: 'evil.example:443' });
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_AUTH_FAILED', close: 4002 });
  });

  it('rejects a replayed challenge response on a new connection', async () => {
    const url = await server();
    const first = await open(url);
    const hello = encodeFrame(buildHello(nodeSuite, first.identity, first.challenge!.challenge, new URL(url).host));
    first.send(hello);
    await first.next((f) => f.type === FrameType.WELCOME);
    const second = await open(url);
    second.send(hello);
    expect(await second.errorAndClose()).toEqual({ code: 'RDV_ERR_AUTH_FAILED', close: 4002 });
  });

  it("rejects someone else's key", async () => {
    const url = await server();
    const c = await open(url);
    const victim = generateIdentity(nodeSuite);
    const hello = buildHello(nodeSuite, c.identity, c.challenge!.challenge, new URL(url).host);
    c.send(encodeFrame({ ...hello, key: victim.publicKey }));
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_AUTH_FAILED', close: 4002 });
  });

  it('rejects a hello with a stale timestamp', async () => {
    const url = await server();
    const c = await open(url);
    c.sendHello({ now: Date.now() - 10 * 60_000 });
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_AUTH_FAILED', close: 4002 });
  });

  it('rejects a truncated hello: RDV_ERR_MALFORMED_FRAME, 1007', async () => {
    const url = await server();
    const c = await open(url);
    c.send(Uint8Array.of(FrameType.HELLO, 1, 2, 3));
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_MALFORMED_FRAME', close: 1007 });
  });

  it('closes a connection that does not authenticate in time: RDV_ERR_AUTH_TIMEOUT, 4003', async () => {
    const url = await server({ AUTH_DEADLINE_MS: '300' });
    const c = await open(url);
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_AUTH_TIMEOUT', close: 4003 });
    expect(app!.stats.authFailures.timeout).toBe(1);
  });

  it('blocks an address after too many failed hellos', async () => {
    const url = await server({ AUTH_FAILURES_PER_IP_PER_MIN: '2' });
    for (let i = 0; i < 3; i++) {
      const c = await open(url);
      c.sendHello({ origin: 'wrong:1' });
      await c.closed;
    }
    await new Promise((r) => setTimeout(r, 50));
    const ws = new WebSocket(url);
    const got = await new Promise<{ code: number; first: Buffer | null }>((resolve) => {
      let first: Buffer | null = null;
      ws.on('message', (d: Buffer) => {
        first ??= d;
      });
      ws.on('close', (code) => resolve({ code, first }));
    });
    expect(got.code).toBe(4008);
  });
});

describe('after authentication', () => {
  it('rejects an unknown frame type: RDV_ERR_UNKNOWN_FRAME, 1008', async () => {
    const c = await authed(await server());
    c.send(Uint8Array.of(0x7f, 0, 0));
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_UNKNOWN_FRAME', close: 1008 });
  });

  it('rejects a server-only frame type: RDV_ERR_UNEXPECTED_FRAME, 1008', async () => {
    const c = await authed(await server());
    c.send(encodeFrame({ type: FrameType.ACK, frameId: 1, status: 0 }));
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_UNEXPECTED_FRAME', close: 1008 });
  });

  it('rejects malformed bytes: RDV_ERR_MALFORMED_FRAME, 1007', async () => {
    const c = await authed(await server());
    c.send(Uint8Array.of(FrameType.SIGNAL, 0, 0, 0, 1, 9, 9));
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_MALFORMED_FRAME', close: 1007 });
  });

  it('rejects text frames: RDV_ERR_TEXT_FRAME, 1003', async () => {
    const c = await authed(await server());
    c.ws.send('hello');
    expect(await c.errorAndClose()).toEqual({ code: 'RDV_ERR_TEXT_FRAME', close: 1003 });
  });

  it('closes on a frame over MAX_FRAME_BYTES with 1009', async () => {
    const url = await server({ MAX_FRAME_BYTES: '4096', RATE_BURST_BYTES: '1000000', MAILBOX_MAX_BYTES: '100000' });
    const c = await authed(url);
    c.send(new Uint8Array(5000).fill(FrameType.SIGNAL));
    expect(await c.closed).toBe(1009);
    expect(app!.stats.drops.frame_too_large).toBe(1);
  });

  it('refuses envelopes that do not decode, or whose sender or recipient do not match, without closing', async () => {
    const url = await server();
    const a = await authed(url);
    const b = await authed(url);
    const c = generateIdentity(nodeSuite);
    // Version 1 (an envelope) of the wrong shape: the structure check refuses it.
    a.signal(1, b.key, new Uint8Array(300).fill(1));
    expect(await a.answer(1)).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_BAD_ENVELOPE' });
    a.signal(2, b.key, a.envelope(c.publicKey));
    expect(await a.answer(2)).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_RECIPIENT_MISMATCH' });
    const { sealEnvelope, EnvelopeType } = await import('@p2p-comm/protocol');
    const forged = sealEnvelope(nodeSuite, {
      type: EnvelopeType.DATA,
      sender: c,
      recipient: b.key,
      plaintext: new Uint8Array(1),
    });
    a.signal(3, b.key, forged);
    expect(await a.answer(3)).toMatchObject({ type: FrameType.ERROR, code: 'RDV_ERR_SENDER_MISMATCH' });
    const good = a.envelope(b.key);
    a.signal(4, b.key, good);
    expect(await a.answer(4)).toMatchObject({ type: FrameType.ACK, frameId: 4 });
    // Only the good frame reached b.
    const d = await b.next((f) => f.type === FrameType.DELIVER);
    expect(d.type === FrameType.DELIVER && Buffer.from(d.envelope).equals(good)).toBe(true);
    expect(b.frames.filter((f) => f.type === FrameType.DELIVER)).toHaveLength(0);
  });

  it('drops a flood past the rate limit with RDV_ERR_RATE_LIMITED per frame', async () => {
    const url = await server({ RATE_MSGS_PER_S: '1', RATE_BURST_MSGS: '5' });
    const a = await authed(url);
    const b = await authed(url);
    for (let i = 1; i <= 20; i++) a.signal(i, b.key);
    const answers = [];
    for (let i = 1; i <= 20; i++) answers.push(await a.answer(i));
    const acks = answers.filter((f) => f.type === FrameType.ACK).length;
    const limited = answers.filter((f) => f.type === FrameType.ERROR && f.code === 'RDV_ERR_RATE_LIMITED').length;
    expect(acks).toBeGreaterThanOrEqual(5);
    expect(acks).toBeLessThanOrEqual(6);
    expect(acks + limited).toBe(20);
    expect(app!.stats.drops.rate_limited).toBe(limited);
  });

  it('refuses too many connections from one IP: RDV_ERR_TOO_MANY_CONNECTIONS, 1013', async () => {
    const url = await server({ MAX_CONNS_PER_IP: '2' });
    await authed(url);
    await authed(url);
    const ws = new WebSocket(url);
    const code = await new Promise<number>((resolve) => ws.on('close', (c) => resolve(c)));
    expect(code).toBe(1013);
  });

  it('disconnects a reader that stops reading instead of buffering for it', async () => {
    const url = await server({
      SEND_QUEUE_MAX_BYTES: '262144',
      SLOW_READER_TIMEOUT_MS: '500',
      RATE_BYTES_PER_S: '1000000000',
      RATE_BURST_BYTES: '1000000000',
      RATE_MSGS_PER_S: '100000',
      RATE_BURST_MSGS: '100000',
      MAILBOX_MAX_MESSAGES: '2',
    });
    const a = await authed(url);
    const b = await authed(url);
    // b stops reading; the kernel buffers fill, then the server's queue for b passes its bound.
    (b.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = a.envelope(b.key, 'x'.repeat(60_000));
    const rss0 = process.memoryUsage().rss;
    for (let i = 1; i <= 1000 && app!.stats.drops.slow_reader === 0; i++) {
      a.relay(i, b.key, big);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await expect.poll(() => app!.stats.drops.slow_reader, { timeout: 10_000 }).toBe(1);
    expect(app!.hub.sessions.has(Buffer.from(b.key).toString('latin1'))).toBe(false);
    expect(process.memoryUsage().rss - rss0).toBeLessThan(200 * 1024 * 1024);
    // b reads again: behind what was already buffered it finds the close frame saying why.
    (b.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await b.closed).toBe(4006);
  });

  it('terminates a slow reader that never reads its close frame', async () => {
    const url = await server({
      SEND_QUEUE_MAX_BYTES: '262144',
      SLOW_READER_TIMEOUT_MS: '500',
      RATE_BYTES_PER_S: '1000000000',
      RATE_BURST_BYTES: '1000000000',
      RATE_MSGS_PER_S: '100000',
      RATE_BURST_MSGS: '100000',
    });
    const a = await authed(url);
    const b = await authed(url);
    (b.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = a.envelope(b.key, 'x'.repeat(60_000));
    for (let i = 1; i <= 1000 && app!.stats.drops.slow_reader === 0; i++) {
      a.relay(i, b.key, big);
      if (i % 20 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await expect.poll(() => app!.stats.drops.slow_reader, { timeout: 10_000 }).toBe(1);
    // The socket (and what is buffered for it) is let go within the linger, not ws's 30 s close timeout.
    await expect.poll(() => app!.hub.all.size, { timeout: 3_000 }).toBe(1);
    b.ws.terminate();
  });

  it('survives random frames (property): the server keeps serving', async () => {
    const url = await server({ RATE_MSGS_PER_S: '100000', RATE_BURST_MSGS: '100000' });
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 200 }), async (bytes) => {
        const c = await TestClient.connect(url);
        c.send(bytes);
        c.send(encodeFrame({ type: FrameType.PING, nonce: 1 }));
        await Promise.race([c.closed, c.next((f) => f.type === FrameType.PONG).catch(() => undefined)]);
        await c.close();
      }),
      { numRuns: 40 },
    );
    const ok = await authed(url);
    ok.send(encodeFrame({ type: FrameType.PING, nonce: 2 }));
    expect(await ok.next((f) => f.type === FrameType.PONG)).toEqual({ type: FrameType.PONG, nonce: 2 });
  });
});
