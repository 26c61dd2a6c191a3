/**
 * `npm run bench:paths`: for each path on loopback (direct WebSocket, WebRTC, relay through a
 * real in-process rendezvous server) and each message format, measure
 *   - time to first delivered message after connect (path set-up included; sealed and opened),
 *   - msgs/s and MB/s for 1 KiB and 16 KiB messages (≤256 / ≤512 KiB in flight),
 *   - p50/p99 round-trip ms (B echoes; one message in flight).
 * Every message is sealed by A and opened by B inside the timing, as the client does:
 *   - `v1`: a stand-alone envelope per message (Ed25519 signature, fresh X25519, replay guard);
 *     the first message is an envelope too.
 *   - `v2`: a session TRANSPORT packet (ChaCha20-Poly1305 under the session key, replay window);
 *     the session's hybrid handshake ran before timing (its cost is the `handshake ms` column and
 *     bench:crypto), and the first message is a PREKEY packet sealed to B's bundle, as the client
 *     sends it while the handshake runs in parallel.
 * Both peers run in this one process, so the two sides' crypto shares one core.
 * Writes client/bench/bench-results/paths.{json,md} and prints the table. Not a test.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import {
  acceptSession,
  createPrekeyBundle,
  EnvelopeType,
  encodePrekeyPacket,
  generateIdentity,
  type Identity,
  initiateSession,
  openEnvelope,
  openPrekeyMessage,
  PREKEY_PACKET_PREFIX_BYTES,
  PrekeyReplayGuard,
  ReplayGuard,
  Session,
  sealEnvelope,
  sealToPrekey,
  toHex,
} from '@p2p-comm/protocol';
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
  /** ms from the start of connecting to B having opened the first message. */
  firstMs: number;
  codec: Codec;
  dispose(): Promise<void>;
}

type Mode = 'v1' | 'v2';

/** How A seals and B opens, per mode; `first` is the first message's form. */
interface Codec {
  sealAB(plaintext: Uint8Array): Uint8Array;
  openAB(bytes: Uint8Array): Uint8Array;
  sealBA(plaintext: Uint8Array): Uint8Array;
  openBA(bytes: Uint8Array): Uint8Array;
  sealFirst(plaintext: Uint8Array): Uint8Array;
  openFirst(bytes: Uint8Array): Uint8Array;
  handshakeMs: number;
}

function v1Codec(idA: Identity, idB: Identity): Codec {
  const guardA = new ReplayGuard();
  const guardB = new ReplayGuard();
  const seal = (from: Identity, to: Identity) => (plaintext: Uint8Array) =>
    sealEnvelope(nodeSuite, { type: EnvelopeType.DATA, sender: from, recipient: to.publicKey, plaintext });
  const openAt = (me: Identity, replayGuard: ReplayGuard) => (bytes: Uint8Array) =>
    openEnvelope(nodeSuite, bytes, { recipient: me, replayGuard }).plaintext;
  return {
    sealAB: seal(idA, idB),
    openAB: openAt(idB, guardB),
    sealBA: seal(idB, idA),
    openBA: openAt(idA, guardA),
    sealFirst: seal(idA, idB),
    openFirst: openAt(idB, guardB),
    handshakeMs: 0,
  };
}

function v2Codec(idA: Identity, idB: Identity): Codec {
  const t0 = performance.now();
  const { packet: m1, pending } = initiateSession({ identity: idA, remotePublicKey: idB.publicKey, suite: nodeSuite });
  const r = acceptSession(m1, { identity: idB, acceptInitiator: () => true, suite: nodeSuite });
  const a = new Session(pending.complete(r.packet).keys);
  const b = new Session(r.keys);
  const handshakeMs = performance.now() - t0;
  // B's bundle, as A would have it from the server or from B; its secrets stay with B.
  const { encoded, secrets } = createPrekeyBundle(nodeSuite, { identity: idB, bundleId: 1, createdAt: Date.now() });
  const prekeyGuard = new PrekeyReplayGuard();
  let sequence = 0;
  return {
    sealAB: (pt) => a.seal(pt),
    openAB: (bytes) => b.open(bytes),
    sealBA: (pt) => b.seal(pt),
    openBA: (bytes) => a.open(bytes),
    sealFirst: (plaintext) =>
      encodePrekeyPacket(
        sealToPrekey(nodeSuite, {
          sender: idA,
          recipient: idB.publicKey,
          bundle: encoded,
          now: Date.now(),
          sequence: sequence++,
          plaintext,
        }).message,
      ),
    openFirst: (bytes) =>
      openPrekeyMessage(nodeSuite, bytes.subarray(PREKEY_PACKET_PREFIX_BYTES), {
        recipient: idB,
        prekeys: (id) => (id === secrets.bundleId ? secrets : undefined),
        replayGuard: prekeyGuard,
      }).plaintext,
    handshakeMs,
  };
}

const probe = () => new Uint8Array(16).fill(0x61);

function firstArrival(link: Link, started: number, open: (bytes: Uint8Array) => unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no first message')), STEP_TIMEOUT_MS);
    let done = false;
    // Links keep their handlers: later messages belong to the throughput or RTT handler.
    link.onEnvelope((bytes) => {
      if (done) return;
      done = true;
      open(bytes);
      clearTimeout(t);
      resolve(performance.now() - started);
    });
  });
}

async function directPair(mode: Mode): Promise<Pair> {
  const idA = generateIdentity(nodeSuite);
  const idB = generateIdentity(nodeSuite);
  const codec = mode === 'v1' ? v1Codec(idA, idB) : v2Codec(idA, idB);
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
  const started = performance.now();
  const a = await dialDirect({
    suite: nodeSuite,
    identity: idA,
    address: { host: '127.0.0.1', port },
    expectedKey: idB.publicKey,
  });
  a.send(codec.sealFirst(probe()));
  const b = await bP;
  const firstMs = await firstArrival(b, started, codec.openFirst);
  return {
    a,
    b,
    idA,
    idB,
    firstMs,
    codec,
    dispose: async () => {
      a.close();
      b.close();
      await listener.stop();
    },
  };
}

async function webrtcPair(mode: Mode): Promise<Pair> {
  const idA = generateIdentity(nodeSuite);
  const idB = generateIdentity(nodeSuite);
  const codec = mode === 'v1' ? v1Codec(idA, idB) : v2Codec(idA, idB);
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
  la.send(codec.sealFirst(probe()));
  const lb = await b.link;
  const firstMs = await firstArrival(lb, started, codec.openFirst);
  return {
    a: la,
    b: lb,
    idA,
    idB,
    firstMs,
    codec,
    dispose: async () => {
      la.close();
      lb.close();
    },
  };
}

async function relayPair(url: string, mode: Mode): Promise<Pair> {
  const idA = generateIdentity(nodeSuite);
  const idB = generateIdentity(nodeSuite);
  const codec = mode === 'v1' ? v1Codec(idA, idB) : v2Codec(idA, idB);
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
  let first: Uint8Array | null = null;
  connB.once('deliver', (_from, bytes) => {
    first = bytes;
  });
  a.send(codec.sealFirst(probe()));
  await bP;
  // The relay link is created by its first DELIVER; that message opened is the first arrival.
  codec.openFirst(first!);
  const firstMs = performance.now() - started;
  const b = await bP;
  return {
    a,
    b,
    idA,
    idB,
    firstMs,
    codec,
    dispose: async () => {
      connA.stop();
      connB.stop();
    },
  };
}

async function throughput(p: Pair, size: 1024 | 16_384) {
  const n = THROUGHPUT_MESSAGES[size];
  const payload = new Uint8Array(size).fill(0x61);
  let received = 0;
  let bytes = 0;
  p.b.onEnvelope((e) => {
    bytes += p.codec.openAB(e).length;
    received++;
  });
  const t0 = performance.now();
  let sent = 0;
  const window = Math.min(IN_FLIGHT, Math.floor(IN_FLIGHT_BYTES / size));
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (received < n) {
    if (Date.now() > deadline) throw new Error(`${p.a.kind} ${size}: ${received}/${n} in time`);
    while (sent < n && sent - received < window) {
      p.a.send(p.codec.sealAB(payload));
      sent++;
    }
    await new Promise((r) => setImmediate(r));
  }
  const s = (performance.now() - t0) / 1000;
  return { messages: n, msgsPerS: Math.round(n / s), mbPerS: Number((bytes / s / 1e6).toFixed(1)) };
}

async function rtt(p: Pair) {
  const body = new Uint8Array(64).fill(0x62);
  p.b.onEnvelope((e) => p.b.send(p.codec.sealBA(p.codec.openAB(e))));
  let waiter: (() => void) | undefined;
  p.a.onEnvelope((e) => {
    p.codec.openBA(e);
    waiter?.();
  });
  const samples: number[] = [];
  for (let i = 0; i < RTT_SAMPLES; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('rtt timeout')), 5_000);
      waiter = () => {
        clearTimeout(t);
        resolve();
      };
      p.a.send(p.codec.sealAB(body));
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
  const makers: Record<PathKind, (mode: Mode) => Promise<Pair>> = {
    direct: directPair,
    webrtc: webrtcPair,
    relay: (mode) => relayPair(url, mode),
  };
  const rows: Array<Record<string, unknown>> = [];
  try {
    for (const [kind, mode] of (['direct', 'webrtc', 'relay'] as const).flatMap((k) =>
      (['v1', 'v2'] as const).map((m) => [k, m] as const),
    )) {
      const fresh = async () => makers[kind](mode);
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
        format: mode,
        'handshake ms': Number(p1.codec.handshakeMs.toFixed(1)),
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
