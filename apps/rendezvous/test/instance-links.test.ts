/**
 * Instance links (docs/instance-links.md) between two real instances over one real Redis:
 * delivery and acks over the link, exactly once; links cut mid-stream (through a TCP proxy this
 * test owns) fall back to Redis with nothing lost or duplicated; strangers, wrong secrets,
 * unknown versions and malformed frames are refused without harming the instance.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { AckStatus, FrameType } from '@p2p-comm/protocol';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { isRendezvousError } from '../src/errors.js';
import {
  ackFrame,
  batchHeader,
  errorFrame,
  FrameReader,
  helloFrame,
  LinkFrame,
  linkMac,
  preamble,
  splitBatchRecords,
} from '../src/link/codec.js';
import { LINK_HANDSHAKE_TIMEOUT_MS, LINK_MAX_PENDING_HANDSHAKES } from '../src/link/constants.js';
import { encodeRouteHeader, forEachRecord, RecordKind, type RouteBatchRecord } from '../src/route-codec.js';
import { freePort, presenceLanded, startApp, TestClient } from './helpers.js';
import { type RedisProc, startRedis } from './redis-helpers.js';

const SECRET = 'link-secret-for-tests-0123456789abcdef';
const apps: RendezvousApp[] = [];
const clients: TestClient[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(apps.splice(0).map((a) => a.close()));
  for (const c of closers.splice(0)) await c();
});

const FAST = {
  RATE_MSGS_PER_S: '100000',
  RATE_BURST_MSGS: '100000',
  RATE_BYTES_PER_S: '100000000',
  RATE_BURST_BYTES: '100000000',
};

async function redis(): Promise<RedisProc> {
  const r = await startRedis();
  closers.push(() => r.stop());
  return r;
}

async function instance(id: string, env: Record<string, string>): Promise<{ app: RendezvousApp; url: string }> {
  const s = await startApp({ INSTANCE_ID: id, ...FAST, ...env });
  apps.push(s.app);
  return s;
}

function linked(r: RedisProc, extra: Record<string, string> = {}): Record<string, string> {
  return { REDIS_URL: r.url, INSTANCE_LINK_LISTEN: '127.0.0.1:0', INSTANCE_LINK_SECRET: SECRET, ...extra };
}

async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Two clients on two instances, with the link between the instances open. */
async function pair(i1: { app: RendezvousApp; url: string }, i2: { app: RendezvousApp; url: string }) {
  const a = await TestClient.connect(i1.url);
  const b = await TestClient.connect(i2.url);
  clients.push(a, b);
  await presenceLanded(i1.app, [b.key]);
  // The first frame goes through Redis and starts the dial; the link carries what follows.
  a.signal(1, b.key);
  await b.next((f) => f.type === FrameType.DELIVER);
  expect((await a.answer(1)).type).toBe(FrameType.ACK);
  await until(() => i1.app.hub.links?.linkTo('two')?.open === true);
  return { a, b };
}

/**
 * `n` RELAYs a → b in bursts, calling `during` after the first third; then every envelope must
 * arrive exactly once and every frameId get exactly one ACK (DELIVERED).
 */
async function exactlyOnce(a: TestClient, b: TestClient, n: number, during: () => Promise<void>): Promise<void> {
  const sent = new Set<string>();
  const send = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const env = a.envelope(b.key, `m${i}`);
      sent.add(Buffer.from(env).toString('hex'));
      a.relay(100 + i, b.key, env);
    }
  };
  const third = Math.floor(n / 3);
  for (let i = 0; i < third; i += 50) {
    send(i, Math.min(third, i + 50));
    await sleep(2);
  }
  await during();
  for (let i = third; i < n; i += 50) {
    send(i, Math.min(n, i + 50));
    await sleep(2);
  }
  const got = new Set<string>();
  for (let i = 0; i < n; i++) {
    const d = await b.next((f) => f.type === FrameType.DELIVER, 15_000);
    if (d.type !== FrameType.DELIVER) throw new Error('unreachable');
    const hex = Buffer.from(d.envelope).toString('hex');
    expect(got.has(hex), 'duplicate delivery').toBe(false);
    got.add(hex);
  }
  expect(got).toEqual(sent);
  for (let i = 0; i < n; i++)
    expect(await a.answer(100 + i, 15_000)).toEqual({
      type: FrameType.ACK,
      frameId: 100 + i,
      status: AckStatus.DELIVERED,
    });
  await sleep(500);
  expect(b.frames.filter((f) => f.type === FrameType.DELIVER)).toHaveLength(0);
  expect(a.frames.filter((f) => f.type === FrameType.ACK || f.type === FrameType.ERROR)).toHaveLength(0);
}

/** A TCP proxy to `target` whose directions can be black-holed and whose connections can be cut. */
async function proxy(target: number) {
  const conns = new Set<Socket>();
  const drop = { up: false, down: false };
  const server: Server = createServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    conns.add(client).add(upstream);
    client.on('data', (d) => {
      if (!drop.up) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!drop.down) client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  const port = typeof a === 'object' && a !== null ? a.port : 0;
  const kill = async () => {
    for (const c of conns) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  closers.push(() => kill().catch(() => {}));
  return {
    port,
    drop,
    kill,
    get connections() {
      return conns.size;
    },
  };
}

/** A raw dialer speaking the link format by hand, collecting the frames it gets. */
async function rawDial(addr: string) {
  const i = addr.lastIndexOf(':');
  const sock = connect(Number(addr.slice(i + 1)), addr.slice(0, i));
  const frames: Buffer[] = [];
  let pre: Buffer | null = Buffer.alloc(0);
  const reader = new FrameReader(1 << 20, (f) => frames.push(Buffer.from(f)));
  sock.on('data', (d: Buffer) => {
    if (pre !== null) {
      pre = Buffer.concat([pre, d]);
      if (pre.length < 5) return;
      d = pre.subarray(5);
      pre = null;
    }
    try {
      reader.push(d);
    } catch {}
  });
  sock.on('error', () => {});
  const closed = new Promise<void>((r) => sock.on('close', () => r()));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  closers.push(async () => void sock.destroy());
  return { sock, frames, closed };
}

function errorCodeOf(f: Buffer | undefined): string {
  if (f === undefined || f[0] !== LinkFrame.ERROR) return '';
  return f.toString('latin1', 2, 2 + f[1]!);
}

/** Dial `addr` as instance `selfId` with `secret`; resolves once WELCOME came (or the link closed). */
async function handshake(addr: string, acceptorId: string, selfId: string, secret: string) {
  const d = await rawDial(addr);
  d.sock.write(preamble());
  await until(() => d.frames.length > 0, 5_000);
  const challenge = d.frames[0]!.subarray(1, 33);
  const nonce = randomBytes(32);
  const stream = randomBytes(8);
  const mac = linkMac(Buffer.from(secret), 'dial', challenge, nonce, stream, selfId, acceptorId);
  d.sock.write(helloFrame(nonce, stream, selfId, acceptorId, mac));
  await Promise.race([until(() => d.frames.length > 1, 5_000), d.closed]);
  return d;
}

/**
 * Two linked instances on one Redis whose link runs through a proxy the test controls: "two"
 * advertises the proxy's port as its link address, so "one" dials through it.
 */
async function linkedThroughProxy() {
  const r = await redis();
  const p2 = await freePort();
  const px = await proxy(p2);
  const i1 = await instance('one', linked(r));
  const i2 = await instance(
    'two',
    linked(r, { INSTANCE_LINK_LISTEN: `127.0.0.1:${p2}`, INSTANCE_LINK_ADDR: `127.0.0.1:${px.port}` }),
  );
  return { px, i1, i2 };
}

describe('instance links', () => {
  it('carries cross-instance frames over the link, each delivered and acknowledged exactly once', async () => {
    const r = await redis();
    const i1 = await instance('one', linked(r));
    const i2 = await instance('two', linked(r));
    const { a, b } = await pair(i1, i2);
    const before = i1.app.hub.links!.counters.batchesOverRedis;
    await exactlyOnce(a, b, 600, async () => {});
    const l1 = i1.app.hub.links!.counters;
    expect(l1.batchesOverLinks).toBeGreaterThan(0);
    expect(l1.batchesOverRedis).toBe(before); // nothing more through Redis once the link was up
    expect(i2.app.hub.links!.counters.batchesOverLinks).toBeGreaterThan(0); // replies came back over it
    // One link for the pair: the same connection from both ends.
    expect(i2.app.hub.links!.linkTo('one')?.open).toBe(true);
    expect(i1.app.hub.links!.openCount + i2.app.hub.links!.openCount).toBe(2);
    // Operators see it in /metrics.
    const metrics = await (await fetch(`${i1.url.replace('ws://', 'http://').replace('/v1/ws', '')}/metrics`)).text();
    expect(metrics).toMatch(/^rdv_instance_links_open 1$/m);
    const overLinks = /^rdv_instance_link_batches_total\{path="link"\} (\d+)$/m.exec(metrics);
    expect(Number(overLinks?.[1])).toBe(l1.batchesOverLinks);
  });

  it('keeps one link per pair when both instances dial each other at once (lower id wins)', async () => {
    const r = await redis();
    const i1 = await instance('one', linked(r));
    const i2 = await instance('two', linked(r));
    const a = await TestClient.connect(i1.url);
    const b = await TestClient.connect(i2.url);
    clients.push(a, b);
    await sleep(100);
    // Both directions at once: each instance starts a dial to the other.
    a.signal(1, b.key);
    b.signal(2, a.key);
    expect((await a.answer(1)).type).toBe(FrameType.ACK);
    expect((await b.answer(2)).type).toBe(FrameType.ACK);
    await a.next((f) => f.type === FrameType.DELIVER);
    await b.next((f) => f.type === FrameType.DELIVER);
    const l1 = i1.app.hub.links!;
    const l2 = i2.app.hub.links!;
    await until(() => l1.linkTo('two')?.open === true && l2.linkTo('one')?.open === true);
    await sleep(300); // let a losing dial finish closing
    const s1 = l1.linkTo('two')!.socket;
    const s2 = l2.linkTo('one')!.socket;
    expect(s1.localPort === s2.remotePort && s1.remotePort === s2.localPort).toBe(true);
    expect(l1.linkTo('two')!.dialedBy).toBe('one');
    expect(l1.openCount).toBe(1);
    expect(l2.openCount).toBe(1);
    await exactlyOnce(a, b, 60, async () => {});
    await exactlyOnce(b, a, 60, async () => {});
  });

  it('without INSTANCE_LINK_LISTEN routes through Redis exactly as before', async () => {
    const r = await redis();
    const i1 = await instance('one', { REDIS_URL: r.url });
    const i2 = await instance('two', linked(r));
    expect(i1.app.hub.links).toBeNull();
    const a = await TestClient.connect(i1.url);
    const b = await TestClient.connect(i2.url);
    clients.push(a, b);
    await sleep(100);
    await exactlyOnce(a, b, 90, async () => {});
    await exactlyOnce(b, a, 90, async () => {}); // i2 finds no link address for "one": Redis
    expect(i2.app.hub.links!.counters.batchesOverLinks).toBe(0);
  });

  for (const direction of ['up', 'down'] as const)
    it(`a link cut mid-stream (${direction === 'up' ? 'batches' : 'acks and replies'} lost first) falls back to Redis: nothing lost, nothing twice`, async () => {
      const { px, i1, i2 } = await linkedThroughProxy();
      const { a, b } = await pair(i1, i2);
      expect(px.connections).toBe(2); // the link runs through the proxy
      await exactlyOnce(a, b, 900, async () => {
        px.drop[direction] = true; // black-hole one direction: batches pile up unacknowledged
        await sleep(150);
        await px.kill();
      });
      const replayed = i1.app.hub.links!.counters.batchesReplayed + i2.app.hub.links!.counters.batchesReplayed;
      expect(replayed).toBeGreaterThan(0);
      if (direction === 'down') expect(i2.app.hub.links!.counters.batchesReplayed).toBeGreaterThan(0);
      else expect(i1.app.hub.links!.counters.batchesReplayed).toBeGreaterThan(0);
    });

  it('closes a link that goes silent (both directions black-holed, sockets open) and replays its batches through Redis', async () => {
    const { px, i1, i2 } = await linkedThroughProxy();
    const { a, b } = await pair(i1, i2);
    const closedBefore = i1.app.hub.links!.counters.linksClosed;
    await exactlyOnce(a, b, 300, async () => {
      px.drop.up = true;
      px.drop.down = true; // nothing gets through, nothing is closed: only the keepalive can tell
    });
    expect(i1.app.hub.links!.counters.linksClosed).toBeGreaterThan(closedBefore);
    expect(i1.app.hub.links!.counters.batchesReplayed).toBeGreaterThan(0);
  });

  it('refuses a dialer without the secret, a wrong secret, another version and a stranger, and keeps routing', async () => {
    const r = await redis();
    const i1 = await instance('one', linked(r));
    const addr = i1.app.hub.links!.address()!;
    // Not a link at all.
    const junk = await rawDial(addr);
    junk.sock.write('GET / HTTP/1.1\r\n\r\n');
    await junk.closed;
    expect(errorCodeOf(junk.frames.at(-1))).toBe('RDV_ERR_LINK_MALFORMED');
    // A newer format version.
    const v9 = await rawDial(addr);
    v9.sock.write(preamble(9));
    await v9.closed;
    expect(errorCodeOf(v9.frames.at(-1))).toBe('RDV_ERR_LINK_VERSION');
    // The previous version (1): it would stop at a DELIVERED record, so it talks through Redis.
    const v1 = await rawDial(addr);
    v1.sock.write(preamble(1));
    await v1.closed;
    expect(errorCodeOf(v1.frames.at(-1))).toBe('RDV_ERR_LINK_VERSION');
    // The wrong secret.
    const wrong = await handshake(addr, 'one', 'mallory', 'not-the-cluster-secret-0123456789abcdef');
    await wrong.closed;
    expect(errorCodeOf(wrong.frames.at(-1))).toBe('RDV_ERR_LINK_AUTH_FAILED');
    // The right secret, but for another instance than the one listening.
    const misdirected = await handshake(addr, 'someone-else', 'mallory', SECRET);
    await misdirected.closed;
    expect(errorCodeOf(misdirected.frames.at(-1))).toBe('RDV_ERR_LINK_AUTH_FAILED');
    // The right secret: WELCOME, then the link is open.
    const good = await handshake(addr, 'one', 'friend', SECRET);
    expect(good.frames[1]![0]).toBe(LinkFrame.WELCOME);
    expect(i1.app.hub.links!.linkTo('friend')?.open).toBe(true);
    expect(i1.app.hub.links!.counters.handshakesRefused).toBe(5); // junk, v9, v1, wrong secret, misdirected
    // An instance with another secret never links, and still reaches peers through Redis.
    const i3 = await instance('three', linked(r, { INSTANCE_LINK_SECRET: 'another-secret-entirely-0123456789abcdef' }));
    const a = await TestClient.connect(i1.url);
    const c = await TestClient.connect(i3.url);
    clients.push(a, c);
    await sleep(100);
    await exactlyOnce(c, a, 60, async () => {});
    await exactlyOnce(a, c, 60, async () => {});
    expect(i3.app.hub.links!.linkTo('one')).toBeNull();
    expect(i1.app.hub.links!.linkTo('three')).toBeNull();
  });

  it('answers the frames of a batch with one DELIVERED record (one run of consecutive pendingIds), not a REPLY per frame', async () => {
    const r = await redis();
    const i1 = await instance('one', linked(r));
    const a = await TestClient.connect(i1.url);
    const b = await TestClient.connect(i1.url);
    clients.push(a, b);
    const link = await handshake(i1.app.hub.links!.address()!, 'one', 'friend', SECRET);
    expect(link.frames[1]![0]).toBe(LinkFrame.WELCOME);
    // Ten ROUTE records for b, as instance "friend" would send them: pendingIds 500 … 509.
    const records: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      const env = Buffer.from(a.envelope(b.key, `batched ${i}`));
      const head = encodeRouteHeader(500 + i, 1, Buffer.from('friend'), b.key, 1, a.key, env.length);
      records.push(head, env);
    }
    const body = Buffer.concat(records);
    link.sock.write(Buffer.concat([batchHeader(1, 0, body.length), body]));
    for (let i = 0; i < 10; i++) await b.next((f) => f.type === FrameType.DELIVER);
    await until(() => link.frames.some((f) => f[0] === LinkFrame.BATCH));
    const back = link.frames.filter((f) => f[0] === LinkFrame.BATCH);
    const answers: RouteBatchRecord[] = [];
    for (const f of back) expect(forEachRecord(f.subarray(9), (rec) => answers.push(rec), false)).toBe(true);
    expect(answers).toHaveLength(1);
    const d = answers[0]!;
    expect(d.kind).toBe(RecordKind.DELIVERED);
    if (d.kind === RecordKind.DELIVERED) expect([d.runs.readUInt32BE(0), d.runs.readUInt16BE(4)]).toEqual([500, 10]);
  });

  it('bounds dials that never authenticate: LINK_MAX_PENDING_HANDSHAKES at once, each cut after LINK_HANDSHAKE_TIMEOUT_MS', async () => {
    const r = await redis();
    const i1 = await instance('one', linked(r));
    const addr = i1.app.hub.links!.address()!;
    const t0 = Date.now();
    const silent = await Promise.all(Array.from({ length: LINK_MAX_PENDING_HANDSHAKES }, () => rawDial(addr)));
    await until(() => silent.every((d) => d.frames.length > 0)); // each got its CHALLENGE
    const extra = await rawDial(addr);
    await extra.closed; // refused at once, not even challenged
    expect(extra.frames).toHaveLength(0);
    expect(Date.now() - t0).toBeLessThan(LINK_HANDSHAKE_TIMEOUT_MS);
    await Promise.all(silent.map((d) => d.closed));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(LINK_HANDSHAKE_TIMEOUT_MS - 100);
    expect(silent.every((d) => errorCodeOf(d.frames.at(-1)) === 'RDV_ERR_LINK_AUTH_FAILED')).toBe(true);
    // The slots are free again.
    const good = await handshake(addr, 'one', 'friend', SECRET);
    expect(good.frames[1]![0]).toBe(LinkFrame.WELCOME);
  });

  it('closes a link that sends malformed frames, and never crashes (property)', async () => {
    const r = await redis();
    const i1 = await instance('one', linked(r));
    const addr = i1.app.hub.links!.address()!;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)), // any bytes
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.concat([batchHeader(1, 0, b.length), b])), // junk records
          fc.integer({ min: 2, max: 1 << 30 }).map((seq) => batchHeader(seq, 0, 0)), // out-of-order sequence
          fc.integer({ min: 1, max: 1 << 30 }).map((seq) => ackFrame(seq)), // ACK of nothing sent
          fc.constantFrom(LinkFrame.CHALLENGE, LinkFrame.HELLO, LinkFrame.WELCOME, 0, 7, 255).map((t) => {
            const b = Buffer.alloc(6);
            b.writeUInt32BE(2, 0);
            b[4] = t;
            return b;
          }),
        ),
        async (bytes) => {
          const d = await handshake(addr, 'one', `fuzz-${n++}`, SECRET);
          expect(d.frames[1]![0]).toBe(LinkFrame.WELCOME);
          d.sock.write(bytes);
          // A bad frame closes the link; a partial one waits for more, so end the socket then.
          await Promise.race([d.closed, sleep(300).then(() => d.sock.end())]);
          await d.closed;
        },
      ),
      { numRuns: 40 },
    );
    // Still serving: a client connects and reaches itself through the instance.
    const a = await TestClient.connect(i1.url);
    clients.push(a);
    a.signal(7, a.key);
    expect((await a.answer(7)).type).toBe(FrameType.ACK);
  });

  it('reads a BATCH split across reads as its records, however the stream is cut, copying only records that span two reads (property)', () => {
    const rec = (b: Uint8Array) => {
      const h = Buffer.alloc(4);
      h.writeUInt32BE(b.length, 0);
      return Buffer.concat([h, b]);
    };
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 8 }), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 50 }),
        (batches, cuts) => {
          const wire = Buffer.concat(
            batches.map((records, i) => {
              const body = Buffer.concat(records.map(rec));
              return Buffer.concat([batchHeader(i + 1, 7, body.length), body]);
            }),
          );
          const got: { seq: number; ack: number; records: string[] }[] = [];
          const collect = (seq: number, ack: number, regions: Buffer[]) => {
            const records: string[] = [];
            for (const r of regions)
              for (let o = 0; o < r.length; ) {
                const n = r.readUInt32BE(o);
                records.push(r.toString('hex', o + 4, o + 4 + n));
                o += 4 + n;
              }
            got.push({ seq, ack, records });
          };
          const reader = new FrameReader(
            1 << 20,
            (f) => collect(f.readUInt32BE(1), f.readUInt32BE(5), [f.subarray(9)]),
            (parts, length) => {
              const { seq, ack, regions } = splitBatchRecords(parts, length);
              collect(seq, ack, regions);
            },
          );
          let o = 0;
          for (let i = 0; o < wire.length; i++) {
            const n = cuts[i % cuts.length]!;
            reader.push(wire.subarray(o, o + n));
            o += n;
          }
          expect(got).toEqual(
            batches.map((records, i) => ({
              seq: i + 1,
              ack: 7,
              records: records.map((r) => Buffer.from(r).toString('hex')),
            })),
          );
        },
      ),
    );
    // Records inside one read stay views of it; only the one across the cut is copied.
    const three = Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(100, 2), Buffer.alloc(100, 3)].map(rec));
    const wire = Buffer.concat([batchHeader(1, 0, three.length), three]);
    const cut = 13 + 104 + 50;
    const own = (b: Buffer) => {
      const c = Buffer.alloc(b.length); // its own memory (not the shared pool), like a socket read
      b.copy(c);
      return c;
    };
    const reads = [own(wire.subarray(0, cut)), own(wire.subarray(cut))];
    let seen: Buffer[] = [];
    const viewer = new FrameReader(
      1 << 20,
      () => {},
      (parts, length) => {
        seen = splitBatchRecords(parts, length).regions;
      },
    );
    for (const r of reads) viewer.push(r);
    expect(seen.map((r) => r.length)).toEqual([104, 104, 104]);
    expect(seen[0]!.buffer).toBe(reads[0]!.buffer);
    expect(seen[1]!.buffer === reads[0]!.buffer || seen[1]!.buffer === reads[1]!.buffer).toBe(false);
    expect(seen[2]!.buffer).toBe(reads[1]!.buffer);
    // A record length that runs past its BATCH is refused, not read past.
    const bad = Buffer.concat([batchHeader(1, 0, 8), Buffer.from([0, 0, 0, 9, 1, 2, 3, 4])]);
    const reader = new FrameReader(
      1 << 20,
      () => {},
      (parts, length) => void splitBatchRecords(parts, length),
    );
    expect(() => {
      reader.push(bad.subarray(0, 10));
      reader.push(bad.subarray(10));
    }).toThrow(/past the BATCH/);
  });

  it('reassembles frames however the stream is cut (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { minLength: 1, maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 50 }),
        (bodies, cuts) => {
          const wire = Buffer.concat(
            bodies.map((b) => {
              const h = Buffer.alloc(4);
              h.writeUInt32BE(b.length, 0);
              return Buffer.concat([h, b]);
            }),
          );
          const out: Buffer[] = [];
          const reader = new FrameReader(1000, (f) => out.push(Buffer.from(f)));
          let o = 0;
          for (let i = 0; o < wire.length; i++) {
            const n = cuts[i % cuts.length]!;
            reader.push(wire.subarray(o, o + n));
            o += n;
          }
          expect(out.map((b) => b.toString('hex'))).toEqual(bodies.map((b) => Buffer.from(b).toString('hex')));
        },
      ),
    );
    const reader = new FrameReader(10, () => {});
    expect(() => reader.push(Buffer.from([0, 0, 0, 11]))).toThrow(/over 10/);
    expect(() => new FrameReader(10, () => {}).push(Buffer.from([0, 0, 0, 0]))).toThrow(/empty/);
  });

  it('validates the link settings once, all problems together', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ PORT: '0', STUN_PORT: '0', ...env });
        return '';
      } catch (err) {
        expect(isRendezvousError(err) && err.code === 'RDV_ERR_CONFIG').toBe(true);
        return (err as Error).message;
      }
    };
    expect(problems({ INSTANCE_LINK_LISTEN: '127.0.0.1:0' })).toMatch(
      /needs INSTANCE_LINK_SECRET[\s\S]*needs REDIS_URL/,
    );
    expect(
      problems({ INSTANCE_LINK_LISTEN: '0.0.0.0:7000', INSTANCE_LINK_SECRET: SECRET, REDIS_URL: 'redis://x:1' }),
    ).toMatch(/set INSTANCE_LINK_ADDR/);
    expect(problems({ INSTANCE_LINK_LISTEN: 'nope', INSTANCE_LINK_SECRET: 'short', REDIS_URL: 'redis://x:1' })).toMatch(
      /must be host:port[\s\S]*at least 32 bytes/,
    );
    expect(problems({ INSTANCE_LINK_SECRET: SECRET })).toMatch(/need INSTANCE_LINK_LISTEN/);
    const ok = loadConfig({
      PORT: '0',
      STUN_PORT: '0',
      REDIS_URL: 'redis://127.0.0.1:1',
      INSTANCE_LINK_LISTEN: '[::]:7000',
      INSTANCE_LINK_ADDR: 'rdv-1.internal:7000',
      INSTANCE_LINK_SECRET: SECRET,
    });
    expect(Object.isFrozen(ok) && ok.instanceLinkAddr === 'rdv-1.internal:7000').toBe(true);
  });
});

// The ERROR frame is the one frame every version shares: it must stay decodable as code-only.
it('keeps the ERROR frame format', () => {
  expect(errorFrame('RDV_ERR_LINK_VERSION').toString('hex')).toBe(
    `00000016${'06'}14${Buffer.from('RDV_ERR_LINK_VERSION').toString('hex')}`,
  );
  void createHmac;
});
