/**
 * Long messages (over MAX_MESSAGE_BYTES) between two real clients in this process over a real
 * rendezvous server: through the relay, and over a direct WebSocket path. Each arrives once as
 * one ordinary message (same id, `message.delivered` at the sender), and its text never crosses
 * the server in the clear: a TCP proxy in front of the server scans every byte the server sends
 * to a client for a marker the message repeats (client → server WebSocket frames are masked, so
 * the server → client direction is the one that shows what the server forwards).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../src/constants.js';
import { FILE_CHUNK_BYTES, FILE_PERSIST_EVERY_CHUNKS } from '../src/files/constants.js';
import { createClient, type P2PClient } from '../src/index.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A TCP proxy to `port` that looks for `marker` in everything the server sends back. */
async function scanningProxy(
  port: () => number,
  marker: Buffer,
): Promise<{ url: string; origin: string; seen: () => number }> {
  let seen = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(port(), '127.0.0.1');
    sockets.add(client).add(upstream);
    let tail = Buffer.alloc(0);
    upstream.on('data', (d: Buffer) => {
      const window = Buffer.concat([tail, d]);
      if (window.includes(marker)) seen++;
      tail = window.subarray(Math.max(0, window.length - marker.length + 1));
      client.write(d);
    });
    client.on('data', (d: Buffer) => upstream.write(d));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const origin = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url: `ws://${origin}`, origin, seen: () => seen };
}

/** A text of `bytes` UTF-8 bytes that repeats `marker` (hex) every 4 KiB. */
function longText(bytes: number, marker: string): string {
  const filler = 'x'.repeat(4096 - marker.length - 1);
  const unit = `${marker}${filler}\n`;
  return unit.repeat(Math.ceil(bytes / unit.length)).slice(0, bytes);
}

interface Pair {
  alice: P2PClient;
  bob: P2PClient;
  aliceHome: string;
  bobHome: string;
  url: string;
  seen: () => number;
}

async function makePair(direct: boolean, marker: Buffer, bobInit: Record<string, unknown> = {}): Promise<Pair> {
  let serverPort = 0;
  const proxy = await scanningProxy(() => serverPort, marker);
  // The server answers only for the origin clients dial: the proxy's.
  const srv = await startRendezvous({ PUBLIC_ORIGINS: proxy.origin });
  cleanups.push(() => srv.close());
  serverPort = srv.port;
  const make = (listen: boolean, extra: Record<string, unknown> = {}) => {
    const h = tempHome('p2p-long-');
    cleanups.push(h.cleanup);
    const c = createClient({
      home: h.home,
      server: proxy.url,
      paths: {
        webrtc: false,
        allowLoopbackAddresses: true,
        ...(listen ? { listen: { host: '127.0.0.1', port: 0 } } : {}),
      },
      ...extra,
    });
    cleanups.push(() => c.stop());
    return { c, home: h.home };
  };
  const a = make(false);
  const b = make(direct, bobInit);
  const alice = a.c;
  const bob = b.c;
  await Promise.all([alice.start(), bob.start()]);
  await Promise.all([alice.waitForServer(), bob.waitForServer()]);
  alice.setName('Alice');
  bob.setName('Bob');
  bob.on('consent.request', (r) => bob.respondConsent(r.requestId, true));
  const trusted = new Promise<void>((resolve) =>
    alice.on('peer.status', (s) => s.key === bob.id().key && s.state === 'trusted' && resolve()),
  );
  alice.connect(bob.id().share);
  await trusted;
  await waitFor(() => bob.session.peerInfo(alice.id().key).state === 'trusted', 10_000, 'Bob trusts Alice');
  if (direct) {
    alice.upgrader.addAddress(bob.identity.publicKey, bob.upgrader.listenAddress!);
    await waitFor(() => alice.paths.best(bob.id().key)?.kind === 'direct', 20_000, 'direct path up');
    await waitFor(() => bob.paths.best(alice.id().key)?.kind === 'direct', 20_000, 'direct path up (Bob)');
  }
  return { alice, bob, aliceHome: a.home, bobHome: b.home, url: proxy.url, seen: proxy.seen };
}

/** Send `text` from Alice and wait for Bob's message and Alice's delivery notice. */
async function sendAndReceive(p: Pair, text: string) {
  const received: Array<{ id: string; text?: string; seq: number }> = [];
  p.bob.on('message.received', (m) => received.push(m));
  const started = performance.now();
  const sent = p.alice.send('Bob', { text });
  const delivered = new Promise<void>((resolve, reject) => {
    p.alice.on('message.delivered', (d) => d.id === sent.id && resolve());
    p.alice.on('message.failed', (f) => f.id === sent.id && reject(new Error(f.code)));
  });
  await waitFor(() => received.some((m) => m.id === sent.id), 120_000, 'the long message at Bob');
  await delivered;
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 300)); // a second delivery would show up here
  return { sent, received: received.filter((m) => m.id === sent.id), seconds };
}

for (const direct of [false, true]) {
  const path = direct ? 'direct' : 'relay';
  describe(`long messages over the ${path} path`, () => {
    const marker = randomBytes(24);
    const markerHex = marker.toString('hex');
    let p: Pair;
    beforeAll(async () => {
      p = await makePair(direct, Buffer.from(markerHex, 'utf8'));
    }, 60_000);

    for (const mib of [1, 10]) {
      it(`${mib} MiB of text arrives once, acked, never in the clear on the server`, async () => {
        const text = longText(mib * 1024 * 1024, markerHex);
        const r = await sendAndReceive(p, text);
        console.log(`long message ${mib} MiB over ${path} on loopback: ${r.seconds.toFixed(2)} s`);
        expect(r.sent.seq).toBe(-1);
        expect(r.received).toHaveLength(1);
        expect(r.received[0]!.text === text).toBe(true);
        expect(p.alice.paths.best(p.bob.id().key)?.kind).toBe(path);
        expect(p.seen()).toBe(0);
        // Nothing left behind: no spool at the sender, no partial file at the recipient.
        expect(p.alice.files.engine.sender.list()).toEqual([]);
        expect(p.bob.files.engine.receiver.list()).toEqual([]);
      }, 180_000);
    }

    it('a short message still goes as one packet (seq in the stream)', async () => {
      const r = await sendAndReceive(p, `short ${markerHex}`);
      expect(r.sent.seq).toBeGreaterThanOrEqual(0);
      expect(r.received).toHaveLength(1);
    }, 30_000);

    it('keeps its place among short messages: short, long, short, long, short arrive in the order sent', async () => {
      const got: string[] = [];
      const onReceived = (m: { id: string }) => got.push(m.id);
      p.bob.on('message.received', onReceived);
      const acked = new Set<string>();
      p.alice.on('message.delivered', (d) => acked.add(d.id));
      const ids = [
        p.alice.send('Bob', { text: 'before' }).id,
        p.alice.send('Bob', { text: longText(512 * 1024, markerHex) }).id,
        p.alice.send('Bob', { text: 'between' }).id,
        p.alice.send('Bob', { text: longText(256 * 1024, markerHex) }).id,
        p.alice.send('Bob', { text: 'after' }).id,
      ];
      await waitFor(() => ids.every((id) => acked.has(id)), 60_000, 'all five acked');
      await new Promise((r) => setTimeout(r, 300));
      p.bob.off('message.received', onReceived);
      // Without the ordering, the short ones overtook the long ones: [0, 2, 4, 3, 1] or so.
      expect(got).toEqual(ids);
      expect(readdirSync(join(p.aliceHome, 'p2p-comm', 'long-messages-out'))).toEqual([]);
    }, 90_000);
  });
}

describe('long-message limits', () => {
  const marker = Buffer.from(randomBytes(24).toString('hex'));
  let p: Pair;
  beforeAll(async () => {
    p = await makePair(false, marker, { maxLongMessageBytes: 2 * 1024 * 1024 });
  }, 60_000);

  it('over the sender’s maximum: CLIENT_ERR_MESSAGE_TOO_LARGE naming the limit', () => {
    const max = p.alice.config.maxLongMessageBytes;
    let code = '';
    let limit: unknown;
    try {
      p.alice.send('Bob', { data: new Uint8Array(max + 1) });
    } catch (err) {
      code = (err as { code: string }).code;
      limit = (err as { data?: { limit?: unknown } }).data?.limit;
    }
    expect(code).toBe('CLIENT_ERR_MESSAGE_TOO_LARGE');
    expect(limit).toBe(max);
  });

  it('over the recipient’s maximum: declined, message.failed CLIENT_ERR_MESSAGE_TOO_LARGE, nothing delivered', async () => {
    const got: string[] = [];
    p.bob.on('message.received', (m) => got.push(m.id));
    const sent = p.alice.send('Bob', { data: new Uint8Array(3 * 1024 * 1024) });
    const code = await new Promise<string>((resolve) =>
      p.alice.on('message.failed', (f) => f.id === sent.id && resolve(f.code)),
    );
    expect(code).toBe('CLIENT_ERR_MESSAGE_TOO_LARGE');
    expect(got).not.toContain(sent.id);
    expect(p.bob.files.engine.receiver.list()).toEqual([]);
  }, 30_000);

  it('the config is validated: a maximum below one packet or above the ceiling is refused', () => {
    const h = tempHome('p2p-long-cfg-');
    cleanups.push(h.cleanup);
    for (const bad of [MAX_MESSAGE_BYTES - 1, 64 * 1024 * 1024 + 1, 1.5, '16M'])
      expect(() => createClient({ home: h.home, maxLongMessageBytes: bad as number })).toThrow(/maxLongMessageBytes/);
  });
});

describe('a long message across a restart of the recipient', () => {
  it('resumes from the recipient’s durable chunk (not from zero) and is delivered once', async () => {
    const marker = Buffer.from(randomBytes(24).toString('hex'));
    const p = await makePair(false, marker);
    const total = 10 * 1024 * 1024;
    const text = longText(total, marker.toString());
    const sent = p.alice.send('Bob', { text });
    await waitFor(
      () => (p.bob.files.engine.receiver.list().find((t) => t.id === sent.id)?.bytes ?? 0) > total / 2,
      60_000,
      'half the message at Bob',
    );
    // A message, not a file: not in files.list (the engine carries it all the same).
    expect(p.bob.files.list().incoming.map((t) => t.id)).not.toContain(sent.id);
    expect(p.alice.files.list().outgoing.map((t) => t.id)).not.toContain(sent.id);
    await p.bob.stop();
    const bob2 = createClient({
      home: p.bobHome,
      server: p.url,
      paths: { webrtc: false, allowLoopbackAddresses: true },
    });
    cleanups.push(() => bob2.stop());
    const received: Array<{ id: string; text?: string }> = [];
    bob2.on('message.received', (m) => received.push(m));
    const delivered = new Promise<void>((resolve) =>
      p.alice.on('message.delivered', (d) => d.id === sent.id && resolve()),
    );
    await bob2.start();
    await waitFor(() => received.some((m) => m.id === sent.id), 120_000, 'the message after the restart');
    await delivered;
    await new Promise((r) => setTimeout(r, 300));
    expect(received.filter((m) => m.id === sent.id)).toHaveLength(1);
    expect(received[0]!.text === text).toBe(true);
    // Chunks taken in after the restart: the whole message less what was durable (every
    // FILE_PERSIST_EVERY_CHUNKS; over half had arrived, so at least that many): it resumed.
    const chunks = Math.ceil(total / FILE_CHUNK_BYTES);
    expect(bob2.files.engine.receiver.counters.chunks).toBeLessThanOrEqual(chunks - FILE_PERSIST_EVERY_CHUNKS);
    expect(p.seen()).toBe(0);
  }, 180_000);
});

describe("a long message through the host's message gates (runtime approval)", () => {
  it('the whole text is put to the host; allowed → delivered once; denied → consumed, never delivered', async () => {
    const marker = Buffer.from(randomBytes(24).toString('hex'));
    const p = await makePair(false, marker, { requireApproval: true });
    const asked: Array<{ approvalId: string; id: string; text?: string; bytes: number }> = [];
    p.bob.on('approval.request', (a) => asked.push(a));
    const received: string[] = [];
    p.bob.on('message.received', (m) => received.push(m.id));
    const text = longText(2 * 1024 * 1024, marker.toString());
    for (const allow of [true, false]) {
      const sent = p.alice.send('Bob', { text });
      await waitFor(() => asked.some((a) => a.id === sent.id), 60_000, 'the approval request');
      const a = asked.find((x) => x.id === sent.id)!;
      expect(a.bytes).toBe(text.length);
      expect(a.text === text).toBe(true);
      expect(received).not.toContain(sent.id); // nothing before the host decided
      const delivered = new Promise<void>((resolve) =>
        p.alice.on('message.delivered', (d) => d.id === sent.id && resolve()),
      );
      p.bob.respondApproval(a.approvalId, allow);
      await delivered;
      await new Promise((r) => setTimeout(r, 200));
      expect(received.filter((id) => id === sent.id)).toHaveLength(allow ? 1 : 0);
    }
  }, 120_000);
});

describe('a long message across a restart of the sender', () => {
  it("resumes from the spool and the recipient's position, and is delivered once", async () => {
    const marker = Buffer.from(randomBytes(24).toString('hex'));
    const p = await makePair(false, marker);
    const total = 10 * 1024 * 1024;
    const text = longText(total, marker.toString());
    const received: Array<{ id: string; text?: string }> = [];
    p.bob.on('message.received', (m) => received.push(m));
    const sent = p.alice.send('Bob', { text });
    await waitFor(
      () => (p.bob.files.engine.receiver.list().find((t) => t.id === sent.id)?.bytes ?? 0) > total / 2,
      60_000,
      'half the message at Bob',
    );
    await p.alice.stop();
    const alice2 = createClient({
      home: p.aliceHome,
      server: p.url,
      paths: { webrtc: false, allowLoopbackAddresses: true },
    });
    cleanups.push(() => alice2.stop());
    const delivered = new Promise<void>((resolve) =>
      alice2.on('message.delivered', (d) => d.id === sent.id && resolve()),
    );
    await alice2.start();
    await delivered;
    await waitFor(() => received.some((m) => m.id === sent.id), 10_000, 'the message at Bob');
    await new Promise((r) => setTimeout(r, 300));
    expect(received.filter((m) => m.id === sent.id)).toHaveLength(1);
    expect(received[0]!.text === text).toBe(true);
    // The new sender went on from Bob's position: hardly any chunk came twice (from zero,
    // half the message would have, dropped as duplicates).
    console.log(`sender restart: ${p.bob.files.engine.receiver.counters.duplicates} duplicate chunks at Bob`);
    expect(p.bob.files.engine.receiver.counters.duplicates).toBeLessThan(FILE_PERSIST_EVERY_CHUNKS / 2);
    expect(readdirSync(join(p.aliceHome, 'p2p-comm', 'long-messages-out'))).toEqual([]);
  }, 180_000);

  it('long messages waiting behind an unacked short one fail with CLIENT_ERR_REVOKED when the peer is revoked', async () => {
    const marker = Buffer.from(randomBytes(24).toString('hex'));
    const p = await makePair(false, marker);
    await p.bob.stop(); // offline: the short one is mailboxed and stays unacked
    const failed: Array<{ id: string; code: string }> = [];
    p.alice.on('message.failed', (f) => failed.push(f));
    const short = p.alice.send('Bob', { text: 'before' }).id;
    const longs = [
      p.alice.send('Bob', { text: longText(200 * 1024, marker.toString()) }).id,
      p.alice.send('Bob', { data: new Uint8Array(100 * 1024) }).id,
    ];
    await new Promise((r) => setTimeout(r, 300));
    expect(failed).toEqual([]); // waiting, not failed
    p.alice.revoke('Bob');
    await waitFor(() => failed.length === 3, 5_000, 'the short and both long messages failed');
    // The short one first (the revoke fails the outbox), then the long ones in send order.
    expect(failed).toEqual([short, ...longs].map((id) => ({ id, to: p.bob.id().key, code: 'CLIENT_ERR_REVOKED' })));
    expect(readdirSync(join(p.aliceHome, 'p2p-comm', 'long-messages-out'))).toEqual([]);
  }, 60_000);

  it('a sender restarted before its long message went keeps the order: short, long, short', async () => {
    const marker = Buffer.from(randomBytes(24).toString('hex'));
    const p = await makePair(false, marker);
    const got: string[] = [];
    p.bob.on('message.received', (m) => got.push(m.id));
    const ids = [
      p.alice.send('Bob', { text: 'before' }).id,
      p.alice.send('Bob', { text: longText(300 * 1024, marker.toString()) }).id,
      p.alice.send('Bob', { text: 'after' }).id,
    ];
    await p.alice.stop(); // at once: the long one waits for the first's ack, the last for the long one
    const alice2 = createClient({
      home: p.aliceHome,
      server: p.url,
      paths: { webrtc: false, allowLoopbackAddresses: true },
    });
    cleanups.push(() => alice2.stop());
    await alice2.start();
    await waitFor(() => ids.every((id) => got.includes(id)), 60_000, 'all three at Bob');
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual(ids);
    await waitFor(
      () => readdirSync(join(p.aliceHome, 'p2p-comm', 'long-messages-out')).length === 0,
      10_000,
      'spool and position removed',
    );
  }, 90_000);
});
