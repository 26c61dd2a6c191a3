/**
 * `npm run bench:paths`: for each path on loopback (direct WebSocket, WebRTC, relay through a
 * real in-process rendezvous server), measure
 *   - time to first delivered envelope after connect (path set-up included),
 *   - msgs/s and MB/s for 1 KiB and 16 KiB messages (real sealed envelopes, ≤256 / ≤512 KiB in flight),
 *   - p50/p99 round-trip ms (B echoes; one envelope in flight).
 * Envelopes are sealed before timing: this measures the paths, not the crypto.
 * Writes client/bench/bench-results/paths.{json,md} and prints the table. Not a test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { EnvelopeType, generateIdentity, type Identity, sealEnvelope, toHex } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { loadConfig, startServer } from '@p2p-comm/rendezvous';
import { dialDirect } from '../src/transports/direct-dialer.js';
import type { DirectLink } from '../src/transports/direct-link.js';
import { DirectListener } from '../src/transports/direct-listener.js';
import type { Link, PathKind } from '../src/transports/link.js';
import { RelayTransport } from '../src/transports/relay.js';
import { RendezvousConnection } from '../src/transports/rendezvous-connection.js';
import { simplePeerFactory, type WebRtcSignal } from '../src/transports/webrtc-factory.js';
import { WebRtcAttempt } from '../src/transports/webrtc-link.js';

/** Bounds: every loop below is limited in count and in time. */
const THROUGHPUT_MESSAGES = { 1024: 5_000, 16384: 2_000 } as const;
const IN_FLIGHT = 256;
/** The rendezvous drops a reader with more than 1 MiB queued (SEND_QUEUE_MAX_BYTES): stay under. */
const IN_FLIGHT_BYTES = 512 * 1024;
const RTT_SAMPLES = 500;
const STEP_TIMEOUT_MS = 60_000;

interface Pair {
  a: Link;
  b: Link;
  idA: Identity;
  idB: Identity;
  /** ms from the start of connecting to B receiving the first envelope. */
  firstMs: number;
  dispose(): Promise<void>;
}

const seal = (from: Identity, to: Identity, size: number) =>
  sealEnvelope(nodeSuite, {
    type: EnvelopeType.DATA,
    sender: from,
    recipient: to.publicKey,
    plaintext: new Uint8Array(size).fill(0x61),
  });

function firstArrival(link: Link, started: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no first envelope')), STEP_TIMEOUT_MS);
    link.onEnvelope(() => {
      clearTimeout(t);
      resolve(performance.now() - started);
    });
  });
}

async function directPair(): Promise<Pair> {
  const idA = generateIdentity(nodeSuite);
  const idB = generateIdentity(nodeSuite);
  let resolveB!: (l: DirectLink) => void;
  const bP = new Promise<DirectLink>((r) => {
    resolveB = r;
  });
  const listener = new DirectListener({
    suite: nodeSuite,
    identity: idB,
    host: '127.0.0.1',
    port: 0,
    acceptKey: (k) => toHex(k) === toHex(idA.publicKey),
    onLink: resolveB,
  });
  const { port } = await listener.start();
  const probe = seal(idA, idB, 16);
  const started = performance.now();
  const a = await dialDirect({
    suite: nodeSuite,
    identity: idA,
    address: { host: '127.0.0.1', port },
    expectedKey: idB.publicKey,
  });
  a.send(probe);
  const b = await bP;
  const firstMs = await firstArrival(b, started);
  return {
    a,
    b,
    idA,
    idB,
    firstMs,
    dispose: async () => {
      a.close();
      b.close();
      await listener.stop();
    },
  };
}

async function webrtcPair(): Promise<Pair> {
  const idA = generateIdentity(nodeSuite);
  const idB = generateIdentity(nodeSuite);
  const factory = simplePeerFactory();
  const started = performance.now();
  let b: WebRtcAttempt | undefined;
  const early: WebRtcSignal[] = [];
  // Signals cross in-process here; in the client they ride in SIGNAL envelopes via the rendezvous.
  const a = new WebRtcAttempt({
    factory,
    initiator: true,
    remoteKey: idB.publicKey,
    iceServers: [],
    sendSignal: (s) => (b ? b.signal(s) : early.push(s)),
  });
  b = new WebRtcAttempt({
    factory,
    initiator: false,
    remoteKey: idA.publicKey,
    iceServers: [],
    sendSignal: (s) => a.signal(s),
  });
  for (const s of early.splice(0)) b.signal(s);
  const la = await a.link;
  la.send(seal(idA, idB, 16));
  const lb = await b.link;
  const firstMs = await firstArrival(lb, started);
  return {
    a: la,
    b: lb,
    idA,
    idB,
    firstMs,
    dispose: async () => {
      la.close();
      lb.close();
    },
  };
}

async function relayPair(url: string): Promise<Pair> {
  const idA = generateIdentity(nodeSuite);
  const idB = generateIdentity(nodeSuite);
  const connB = new RendezvousConnection({ url, identity: idB, suite: nodeSuite });
  let resolveB!: (l: Link) => void;
  const bP = new Promise<Link>((r) => {
    resolveB = r;
  });
  new RelayTransport(connB, (link) => resolveB(link));
  connB.start();
  await new Promise<void>((r) => connB.once('welcome', () => r()));
  const connA = new RendezvousConnection({ url, identity: idA, suite: nodeSuite });
  const relayA = new RelayTransport(connA, () => {});
  const started = performance.now();
  connA.start();
  await new Promise<void>((r) => connA.once('welcome', () => r()));
  const a = relayA.open(idB.publicKey)!;
  a.send(seal(idA, idB, 16));
  const b = await bP;
  // The relay link is created by its first DELIVER; that moment is the first arrival.
  const firstMs = performance.now() - started;
  return {
    a,
    b,
    idA,
    idB,
    firstMs,
    dispose: async () => {
      connA.stop();
      connB.stop();
    },
  };
}

async function throughput(p: Pair, size: 1024 | 16_384) {
  const n = THROUGHPUT_MESSAGES[size];
  const envelopes = Array.from({ length: 64 }, () => seal(p.idA, p.idB, size));
  let received = 0;
  let bytes = 0;
  p.b.onEnvelope((e) => {
    received++;
    bytes += e.length;
  });
  const t0 = performance.now();
  let sent = 0;
  const window = Math.min(IN_FLIGHT, Math.floor(IN_FLIGHT_BYTES / size));
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (received < n) {
    if (Date.now() > deadline) throw new Error(`${p.a.kind} ${size}: ${received}/${n} in time`);
    while (sent < n && sent - received < window) p.a.send(envelopes[sent++ % envelopes.length]!);
    await new Promise((r) => setImmediate(r));
  }
  const s = (performance.now() - t0) / 1000;
  return { messages: n, msgsPerS: Math.round(n / s), mbPerS: Number((bytes / s / 1e6).toFixed(1)) };
}

async function rtt(p: Pair) {
  const ping = seal(p.idA, p.idB, 64);
  const echo = seal(p.idB, p.idA, 64);
  p.b.onEnvelope(() => p.b.send(echo));
  let waiter: (() => void) | undefined;
  p.a.onEnvelope(() => waiter?.());
  const samples: number[] = [];
  for (let i = 0; i < RTT_SAMPLES; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('rtt timeout')), 5_000);
      waiter = () => {
        clearTimeout(t);
        resolve();
      };
      p.a.send(ping);
    });
    samples.push(performance.now() - t0);
  }
  samples.sort((x, y) => x - y);
  const q = (f: number) => Number(samples[Math.min(samples.length - 1, Math.floor(f * samples.length))]!.toFixed(3));
  return { p50: q(0.5), p99: q(0.99) };
}

async function main() {
  const server = await startServer(
    loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      STUN_PORT: '0',
      STUN_ALT_PORT: '0',
      LOG_LEVEL: 'silent',
      // The bench measures the path, not the per-key limiter (defaults: 1,000 msgs/s, 4 MiB/s).
      RATE_MSGS_PER_S: '1000000',
      RATE_BURST_MSGS: '1000000',
      RATE_BYTES_PER_S: '1000000000',
      RATE_BURST_BYTES: '1000000000',
      RATE_IP_MSGS_PER_S: '1000000',
      RATE_IP_BYTES_PER_S: '1000000000',
    }),
  );
  const url = `ws://127.0.0.1:${server.port}`;
  const makers: Record<PathKind, () => Promise<Pair>> = {
    direct: directPair,
    webrtc: webrtcPair,
    relay: () => relayPair(url),
  };
  const rows: Array<Record<string, unknown>> = [];
  try {
    for (const kind of ['direct', 'webrtc', 'relay'] as const) {
      const fresh = async () => makers[kind]();
      const p1 = await fresh();
      const small = await throughput(p1, 1024);
      await p1.dispose();
      const p2 = await fresh();
      const large = await throughput(p2, 16_384);
      await p2.dispose();
      const p3 = await fresh();
      const r = await rtt(p3);
      await p3.dispose();
      rows.push({
        path: kind,
        firstMessageMs: Number(p1.firstMs.toFixed(1)),
        '1KiB msgs/s': small.msgsPerS,
        '1KiB MB/s': small.mbPerS,
        '16KiB msgs/s': large.msgsPerS,
        '16KiB MB/s': large.mbPerS,
        'rtt p50 ms': r.p50,
        'rtt p99 ms': r.p99,
      });
    }
  } finally {
    await server.close();
  }
  const header = Object.keys(rows[0]!);
  const md = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${header.map((h) => String(r[h])).join(' | ')} |`),
  ].join('\n');
  const meta = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length };
  const out = new URL('./bench-results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL('paths.json', out), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
  writeFileSync(
    new URL('paths.md', out),
    `# bench:paths (loopback, ${meta.date}, Node ${meta.node}, ${meta.cpus} CPUs)\n\n${md}\n`,
  );
  console.log(md);
  // wrtc keeps native threads; the numbers are written, so leave now.
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
