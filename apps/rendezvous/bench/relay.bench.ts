/**
 * Rendezvous relay benchmark (bounded: a few seconds per scenario, 127.0.0.1 only).
 *
 *   node --conditions=source --import tsx apps/rendezvous/bench/relay.bench.ts
 *
 * Scenarios: bare ws forwarder vs one rendezvous instance vs two instances over Redis
 * (msgs/s delivered with a window of frames in flight per sender); authenticated connections
 * per second; RSS per idle authenticated connection; round-trip p99 at a fixed 1,000 rt/s.
 * Server processes are children so the load generator does not share their event loop.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildHello,
  decodeFrame,
  EnvelopeType,
  encodeFrame,
  FrameType,
  generateIdentity,
  type Identity,
  sealEnvelope,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import WebSocket from 'ws';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const PAIRS = Number(process.env.BENCH_PAIRS ?? 20);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 32);
const PAYLOAD = Number(process.env.BENCH_PAYLOAD ?? 256);
const tsx = import.meta.resolve('tsx');
const serverTs = process.env.BENCH_SERVER ?? fileURLToPath(new URL('../src/server.ts', import.meta.url));
const bareTs = fileURLToPath(new URL('./bare-forwarder.ts', import.meta.url));
const idleTs = fileURLToPath(new URL('./idle-server.ts', import.meta.url));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Extra node flags for server children, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');

/** Stop a server child gracefully (SIGINT → drain → exit, so profiles get written), SIGKILL after 5 s. */
async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  c.kill('SIGKILL');
}

function child(file: string, args: string[], env: Record<string, string>): Promise<ChildProcess> {
  const c = spawn(process.execPath, [...NODE_ARGS, '--conditions=source', '--import', tsx, file, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(c);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${file} did not start in 30 s`)), 30_000);
    let out = '';
    c.stdout!.on('data', (d) => {
      out += String(d);
      const m = /"port":(\d+),"stunPort".*rendezvous listening/.exec(out);
      if (m || out.includes('ready\n')) {
        clearTimeout(t);
        Object.assign(c, { boundPort: m ? Number(m[1]) : 0 });
        resolve(c);
      }
    });
    c.once('exit', (code) => reject(new Error(`${file} exited with ${code} before it was ready`)));
  });
}

const BENCH_ENV = {
  HOST: '127.0.0.1',
  STUN_PORT: '0',
  LOG_LEVEL: 'info',
  RATE_MSGS_PER_S: '10000000',
  RATE_BURST_MSGS: '10000000',
  RATE_BYTES_PER_S: '1000000000',
  RATE_BURST_BYTES: '1000000000',
  RATE_IP_MSGS_PER_S: '10000000',
  RATE_IP_BYTES_PER_S: '1000000000',
  MAX_CONNS_PER_IP: '100000',
  SEND_QUEUE_MAX_BYTES: '16777216',
};

async function rendezvous(env: Record<string, string> = {}): Promise<{ port: number; proc: ChildProcess }> {
  // PORT=0 and read the bound port from the start-up log: no race for a "free" port.
  const proc = await child(serverTs, [], { ...BENCH_ENV, PORT: '0', ...env });
  return { port: (proc as ChildProcess & { boundPort: number }).boundPort, proc };
}

interface Peer {
  ws: WebSocket;
  id: Identity;
}

async function connectRdv(port: number, id = generateIdentity(nodeSuite)): Promise<Peer> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', function onMsg(data: Buffer) {
      const f = decodeFrame(new Uint8Array(data), 1 << 20);
      if (f.type === FrameType.CHALLENGE)
        ws.send(encodeFrame(buildHello(nodeSuite, id, f.challenge, `127.0.0.1:${port}`)));
      else if (f.type === FrameType.WELCOME) {
        ws.off('message', onMsg);
        resolve();
      } else reject(new Error(`auth: ${JSON.stringify(f)}`));
    });
  });
  return { ws, id };
}

/** Throughput: PAIRS senders each keep WINDOW frames in flight; a frame is re-sent when delivered. */
async function throughput(
  kind: 'bare' | 'rdv',
  portA: number,
  portB: number,
  pids: number[],
): Promise<{ rate: number; perCpuS: number }> {
  let delivered = 0;
  const senders: { ws: WebSocket; frame: Buffer }[] = [];
  for (let i = 0; i < PAIRS; i++) {
    if (kind === 'bare') {
      const ida = Buffer.alloc(32, 0);
      ida.writeUInt32BE(i * 2, 0);
      const idb = Buffer.alloc(32, 0);
      idb.writeUInt32BE(i * 2 + 1, 0);
      const a = new WebSocket(`ws://127.0.0.1:${portA}`, { perMessageDeflate: false });
      const b = new WebSocket(`ws://127.0.0.1:${portB}`, { perMessageDeflate: false });
      await Promise.all([new Promise((r) => a.once('open', r)), new Promise((r) => b.once('open', r))]);
      a.send(ida);
      b.send(idb);
      const frame = Buffer.concat([idb, Buffer.alloc(PAYLOAD + 37 + 240)]);
      b.on('message', () => {
        delivered++;
        a.send(frame);
      });
      senders.push({ ws: a, frame });
    } else {
      const a = await connectRdv(portA);
      const b = await connectRdv(portB);
      const env = sealEnvelope(nodeSuite, {
        type: EnvelopeType.DATA,
        sender: a.id,
        recipient: b.id.publicKey,
        plaintext: new Uint8Array(PAYLOAD),
      });
      const frame = Buffer.from(encodeFrame({ type: FrameType.RELAY, frameId: 1, to: b.id.publicKey, envelope: env }));
      b.ws.on('message', () => {
        delivered++;
        a.ws.send(frame);
      });
      senders.push({ ws: a.ws, frame });
    }
  }
  await new Promise((r) => setTimeout(r, 300));
  for (const s of senders) for (let k = 0; k < WINDOW; k++) s.ws.send(s.frame);
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const d0 = delivered;
  const c0 = pids.reduce((a, p) => a + cpuS(p), 0);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const n = delivered - d0;
  const rate = (n * 1000) / (performance.now() - t0);
  const cpu = pids.reduce((a, p) => a + cpuS(p), 0) - c0;
  for (const s of senders) s.ws.terminate();
  return { rate, perCpuS: n / cpu };
}

async function connectRate(
  port: number,
  n: number,
  concurrency = 50,
  pid = 0,
): Promise<{ rate: number; perCpuS: number; sysUs: number }> {
  const ids = Array.from({ length: n }, () => generateIdentity(nodeSuite));
  const peers: Peer[] = [];
  let next = 0;
  const c0 = pid ? cpuS(pid) : 0;
  const s0 = pid ? cpuS(pid, true) : 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) peers.push(await connectRdv(port, ids[next++]));
    }),
  );
  const rate = (n * 1000) / (performance.now() - t0);
  const cpu = pid ? cpuS(pid) - c0 : Number.NaN;
  const sys = pid ? cpuS(pid, true) - s0 : Number.NaN;
  for (const p of peers) p.ws.terminate();
  return { rate, perCpuS: n / cpu, sysUs: (sys * 1e6) / n };
}

/**
 * The same storm against the bare forwarder: connect, register an id, send one frame to itself
 * and wait for it back (one frame each way, like HELLO/WELCOME): the cost of a WebSocket
 * connection on this machine, without authentication.
 */
async function connectRateBare(port: number, n: number, concurrency: number, pid: number) {
  let next = 0;
  const socks: WebSocket[] = [];
  const one = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const id = Buffer.alloc(32);
      id.writeUInt32BE(i, 0);
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
      socks.push(ws);
      ws.once('error', reject);
      ws.once('open', () => {
        ws.send(id);
        ws.send(Buffer.concat([id, Buffer.alloc(64)]));
      });
      ws.once('message', () => resolve());
    });
  const c0 = cpuS(pid);
  const s0 = cpuS(pid, true);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await one(next++);
    }),
  );
  const rate = (n * 1000) / (performance.now() - t0);
  const cpu = cpuS(pid) - c0;
  const sys = cpuS(pid, true) - s0;
  for (const s of socks) s.terminate();
  return { rate, perCpuS: n / cpu, sysUs: (sys * 1e6) / n };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux). */
function cpuS(pid: number, sysOnly = false): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((sysOnly ? 0 : Number(f[11])) + Number(f[12])) / 100;
}

async function idleRss(n: number): Promise<{ rssPerConn: number; heapPerConn: number }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--expose-gc', '--conditions=source', '--import', tsx, idleTs, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(proc);
  let buf = '';
  proc.stdout!.on('data', (d) => {
    buf += String(d);
  });
  const waitFor = async (s: string) => {
    while (!buf.includes(s)) await new Promise((r) => setTimeout(r, 20));
  };
  const mem = async (): Promise<{ rss: number; heapUsed: number; external: number; arrayBuffers: number }> => {
    buf = '';
    proc.kill('SIGUSR2');
    await waitFor('\n');
    await new Promise((r) => setTimeout(r, 50));
    return JSON.parse(buf.slice(buf.indexOf('{'), buf.indexOf('}') + 1));
  };
  await waitFor('ready');
  const warm = await connectRate(port, 300);
  void warm;
  await new Promise((r) => setTimeout(r, 500));
  const before = await mem();
  const ids = Array.from({ length: n }, () => generateIdentity(nodeSuite));
  const peers: Peer[] = [];
  for (let i = 0; i < n; i += 100)
    peers.push(...(await Promise.all(ids.slice(i, i + 100).map((id) => connectRdv(port, id)))));
  await new Promise((r) => setTimeout(r, 1000));
  const after = await mem();
  for (const p of peers) p.ws.terminate();
  proc.kill('SIGKILL');
  return {
    rssPerConn: (after.rss - before.rss) / n,
    heapPerConn: (after.heapUsed + after.external - before.heapUsed - before.external) / n,
  };
}

async function latency(port: number, rps: number, seconds: number): Promise<{ p50: number; p99: number; n: number }> {
  const a = await connectRdv(port);
  const b = await connectRdv(port);
  const env = sealEnvelope(nodeSuite, {
    type: EnvelopeType.DATA,
    sender: a.id,
    recipient: b.id.publicKey,
    plaintext: new Uint8Array(PAYLOAD),
  });
  const back = sealEnvelope(nodeSuite, {
    type: EnvelopeType.DATA,
    sender: b.id,
    recipient: a.id.publicKey,
    plaintext: new Uint8Array(PAYLOAD),
  });
  const toB = Buffer.from(encodeFrame({ type: FrameType.RELAY, frameId: 1, to: b.id.publicKey, envelope: env }));
  const toA = Buffer.from(encodeFrame({ type: FrameType.RELAY, frameId: 2, to: a.id.publicKey, envelope: back }));
  const samples: number[] = [];
  const sentAt: number[] = [];
  b.ws.on('message', (d: Buffer) => {
    if (d[0] === FrameType.DELIVER) b.ws.send(toA);
  });
  a.ws.on('message', (d: Buffer) => {
    if (d[0] === FrameType.DELIVER) {
      const t = sentAt.shift();
      if (t !== undefined) samples.push(performance.now() - t);
    }
  });
  const total = rps * seconds;
  const interval = 1000 / rps;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    sentAt.push(performance.now());
    a.ws.send(toB);
  }
  await new Promise((r) => setTimeout(r, 500));
  samples.sort((x, y) => x - y);
  a.ws.terminate();
  b.ws.terminate();
  return {
    p50: samples[Math.floor(samples.length * 0.5)] ?? Number.NaN,
    p99: samples[Math.floor(samples.length * 0.99)] ?? Number.NaN,
    n: samples.length,
  };
}

async function startRedis(): Promise<{ url: string; stop(): void }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'rdv-bench-'));
  const p = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  children.push(p);
  for (let i = 0; i < 400; i++) {
    try {
      execFileSync('redis-cli', ['-p', String(port), 'ping']);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop() {
      p.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',');
  const want = (s: string) => !only || only.includes(s);
  const results: Record<string, string> = {};
  // Ratios to the bare forwarder measured in the same run (absent: plain numbers).
  let bareRef = { rate: Number.NaN, perCpuS: Number.NaN };
  const fmt = (x: { rate: number; perCpuS: number }) =>
    `${x.rate.toFixed(0)}/s wall (${(x.rate / bareRef.rate).toFixed(2)}x bare); ${x.perCpuS.toFixed(0)} per server CPU-s (${(x.perCpuS / bareRef.perCpuS).toFixed(2)}x bare; ${(1e6 / x.perCpuS).toFixed(1)} CPU µs per message)`;
  if (want('throughput')) {
    const barePort = await freePort();
    const bare = await child(bareTs, [String(barePort)], {});
    const b = await throughput('bare', barePort, barePort, [bare.pid!]);
    bare.kill('SIGKILL');
    const one = await rendezvous();
    const o = await throughput('rdv', one.port, one.port, [one.proc.pid!]);
    await stop(one.proc);
    bareRef = b;
    results.bare_msgs = `${b.rate.toFixed(0)}/s wall; ${b.perCpuS.toFixed(0)} per server CPU-s`;
    results.one_instance_msgs = fmt(o);
  }
  if (want('throughput') || want('two')) {
    const redis = await startRedis();
    const r1 = await rendezvous({ REDIS_URL: redis.url, INSTANCE_ID: 'b1' });
    const r2 = await rendezvous({ REDIS_URL: redis.url, INSTANCE_ID: 'b2' });
    const t = await throughput('rdv', r1.port, r2.port, [r1.proc.pid!, r2.proc.pid!]);
    await Promise.all([stop(r1.proc), stop(r2.proc)]);
    redis.stop();
    results.two_instances_redis_msgs = `${fmt(t)} (CPU of both instances, Redis excluded)`;
  }
  const connects = Number(process.env.BENCH_CONNECTS ?? 2000);
  const fmtConn = (c: { rate: number; perCpuS: number; sysUs: number }) =>
    `${c.rate.toFixed(0)}/s wall; ${c.perCpuS.toFixed(0)} per server CPU-s (${(1e6 / c.perCpuS).toFixed(0)} CPU µs each, ${c.sysUs.toFixed(0)} of them kernel)`;
  if (want('connect_bare')) {
    const barePort = await freePort();
    const bare = await child(bareTs, [String(barePort)], {});
    await connectRateBare(barePort, 200, 50, bare.pid!);
    results.bare_connections = fmtConn(await connectRateBare(barePort, connects, 50, bare.pid!));
    bare.kill('SIGKILL');
  }
  if (want('connect')) {
    const one = await rendezvous();
    await connectRate(one.port, 200, 50); // warm-up (JIT), not measured
    results.auth_connections = fmtConn(await connectRate(one.port, connects, 50, one.proc.pid!));
    await stop(one.proc);
  }
  if (want('connect_redis')) {
    const redis = await startRedis();
    const one = await rendezvous({ REDIS_URL: redis.url });
    await connectRate(one.port, 200, 50);
    results.auth_connections_redis = fmtConn(await connectRate(one.port, connects, 50, one.proc.pid!));
    await stop(one.proc);
    redis.stop();
  }
  if (want('rss')) {
    const m = await idleRss(Number(process.env.BENCH_IDLE_CONNS ?? 3000));
    results.idle_conn_bytes = `RSS ${m.rssPerConn.toFixed(0)} B, JS heap + external ${m.heapPerConn.toFixed(0)} B per authenticated idle connection (after GC)`;
  }
  if (want('latency')) {
    const one = await rendezvous();
    const l = await latency(one.port, 1000, 5);
    one.proc.kill('SIGKILL');
    results.rtt_at_1000_per_s = `p50 ${l.p50.toFixed(3)} ms, p99 ${l.p99.toFixed(3)} ms (n=${l.n})`;
  }
  console.log(
    JSON.stringify({ pairs: PAIRS, window: WINDOW, payload: PAYLOAD, seconds: SECONDS, ...results }, null, 2),
  );
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
