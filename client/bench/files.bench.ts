/**
 * bench:files — file transfer throughput on loopback, every side in its own process (CPU and
 * peak RSS per process):
 *   - the ceiling: the same bytes over a plain TCP socket pair (read file → socket → write file);
 *   - the transfer engine alone (client/src/files) over a loopback TCP socket pair, no session
 *     crypto, with the default (relay-safe) window and a direct-path window;
 *   - the real paths (files-sdk-rows.ts): two SDK clients through real v2 Sessions (session AEAD
 *     on every chunk) over a direct link, WebRTC (@roamhq/wrtc) and the relay of a real
 *     rendezvous server process — with the server's rate limits raised, and (on a smaller file)
 *     at its defaults (RATE_BYTES_PER_S 4 MiB/s per key caps the relay: an operator setting).
 *
 *   npm run bench:files                          1 GiB
 *   FILES_BENCH_MIB=256,1024 npm run bench:files  both sizes (RSS flat in file size)
 *   FILES_BENCH_RELAY_DEFAULT_MIB=64              file for the relay row at server defaults
 *   FILES_BENCH_ROWS=plain,direct                 only these rows (names in ROW_KINDS)
 *   FILES_BENCH_PROFILE_DIR=/tmp/prof             V8 CPU profiles of the SDK clients
 *
 * Prints a table and writes client/bench/results/files.{json,md} (files.<rows>.{json,md} for a
 * FILES_BENCH_ROWS run, so a partial run never replaces the full record). The data is generated
 * (random, never stored in git) and deleted afterwards. Not a test: nothing is asserted.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FileTransfers } from '../src/files/engine.js';
import { pipeFrames, socketChannel } from '../test/files/helpers/tcp-link.js';
import { RAISED_RELAY_LIMITS, type SdkPath, sdkRow } from './files-sdk-rows.js';

const MiB = 1024 * 1024;
const SENDER = 'benchSenderAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const RECIPIENT = 'benchRecipientAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

interface SideReport {
  role: string;
  cpuUserMs: number;
  cpuSystemMs: number;
  peakRssMiB: number;
  /** Sender only: wall time of the whole send and of its hashing pass, ms. */
  wallMs?: number;
  hashMs?: number;
}

/** CPU counted from here (after the modules loaded), so a child's start-up is not in the row. */
let cpuMark = process.cpuUsage();

function report(role: string, extra: Partial<SideReport> = {}): void {
  const cpu = process.cpuUsage(cpuMark);
  const r: SideReport = {
    role,
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    ...extra,
  };
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

async function listenOnce(): Promise<Socket> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
  const socket = await new Promise<Socket>((r) => server.once('connection', r));
  server.close();
  socket.setNoDelay(true);
  return socket;
}

async function dial(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.setNoDelay(true);
  return socket;
}

// ── the four child roles ──────────────────────────────────────────────────────────────────

async function engineRecipient(work: string, windowKiB: number): Promise<void> {
  const socket = await listenOnce();
  const files = new FileTransfers({
    channel: socketChannel(socket),
    stateDir: join(work, 'r-state'),
    inboxDir: join(work, 'r-inbox'),
    approve: () => true,
    ...(windowKiB > 0 ? { windowBytes: windowKiB * 1024, budgetBytes: 4 * windowKiB * 1024 } : {}),
  });
  pipeFrames(socket, SENDER, (p, m) => files.receive(p, m));
  files.on('done', () => {
    report('engine recipient');
    socket.end();
    setTimeout(() => process.exit(0), 100);
  });
  files.on('failed', (e) => {
    process.stderr.write(`recipient failed: ${e.code} ${e.message}\n`);
    process.exit(1);
  });
}

async function engineSender(work: string, port: number, path: string): Promise<void> {
  const socket = await dial(port);
  const files = new FileTransfers({
    channel: socketChannel(socket),
    stateDir: join(work, 's-state'),
    inboxDir: join(work, 's-inbox'),
    approve: () => false,
  });
  pipeFrames(socket, RECIPIENT, (p, m) => files.receive(p, m));
  const started = performance.now();
  let offeredAt = 0;
  files.on('done', () => {
    report('engine sender', { wallMs: performance.now() - started, hashMs: offeredAt - started });
    setTimeout(() => process.exit(0), 100);
  });
  files.on('failed', (e) => {
    process.stderr.write(`sender failed: ${e.code} ${e.message}\n`);
    process.exit(1);
  });
  await files.send(RECIPIENT, path);
  offeredAt = performance.now();
}

async function plainRecipient(work: string, size: number): Promise<void> {
  const socket = await listenOnce();
  const out = createWriteStream(join(work, 'plain-received.bin'));
  let got = 0;
  socket.on('data', (c: Buffer) => {
    got += c.length;
    if (!out.write(c)) {
      socket.pause();
      out.once('drain', () => socket.resume());
    }
    if (got === size)
      out.end(() => {
        report('plain recipient');
        socket.end('k');
        setTimeout(() => process.exit(0), 100);
      });
  });
}

async function plainSender(port: number, path: string): Promise<void> {
  const socket = await dial(port);
  const started = performance.now();
  socket.once('data', () => {
    report('plain sender', { wallMs: performance.now() - started, hashMs: 0 });
    setTimeout(() => process.exit(0), 100);
  });
  createReadStream(path, { highWaterMark: MiB }).pipe(socket, { end: false });
}

// ── orchestration ────────────────────────────────────────────────────────────────────────

const SELF = new URL(import.meta.url).pathname;

function child(args: string[]): { lines: AsyncIterableIterator<string>; done: Promise<number> } {
  const proc = spawn(process.execPath, [...process.execArgv, SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: proc.stdout! });
  return {
    lines: rl[Symbol.asyncIterator](),
    done: new Promise((r) => proc.once('exit', (code) => r(code ?? 1))),
  };
}

async function nextJson<T>(lines: AsyncIterableIterator<string>): Promise<T> {
  const { value, done } = await lines.next();
  if (done) throw new Error('child ended without a report');
  return JSON.parse(value) as T;
}

/** `windowKiB` 0: the engine's defaults (safe on the relay); else the window a direct path may get. */
async function run(kind: 'engine' | 'plain', work: string, path: string, size: number, windowKiB = 0) {
  const recipient = child([`${kind}-recipient`, work, String(size), String(windowKiB)]);
  const { port } = await nextJson<{ port: number }>(recipient.lines);
  const sender = child([`${kind}-sender`, work, String(port), path]);
  const [s, r] = await Promise.all([nextJson<SideReport>(sender.lines), nextJson<SideReport>(recipient.lines)]);
  await Promise.all([sender.done, recipient.done]);
  const mb = size / 1e6;
  const transferMs = s.wallMs! - s.hashMs!;
  return {
    path:
      kind === 'plain'
        ? 'plain TCP socket pair (ceiling)'
        : windowKiB === 0
          ? 'engine over TCP, no session crypto, default window (384 KiB)'
          : `engine over TCP, no session crypto, ${windowKiB / 1024} MiB window`,
    mbPerS: +(mb / (s.wallMs! / 1000)).toFixed(1),
    transferMbPerS: +(mb / (transferMs / 1000)).toFixed(1),
    hashS: +(s.hashMs! / 1000).toFixed(2),
    senderCpuMsPerMb: +((s.cpuUserMs + s.cpuSystemMs) / mb).toFixed(2),
    recipientCpuMsPerMb: +((r.cpuUserMs + r.cpuSystemMs) / mb).toFixed(2),
    senderPeakRssMiB: +s.peakRssMiB.toFixed(0),
    recipientPeakRssMiB: +r.peakRssMiB.toFixed(0),
  };
}

async function generate(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  for (let done = 0; done < size; done += MiB) {
    const block = randomBytes(Math.min(MiB, size - done));
    hash.update(block);
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r) => out.end(() => r()));
}

/** One table row, whichever kind of run made it. */
interface Row {
  path: string;
  mib: number;
  mbPerS: number;
  /** MB/s of this row over the plain socket's of the same size, same run. */
  vsPlain?: number;
  transferMbPerS?: number;
  hashS?: number;
  senderCpuMsPerMb: number;
  recipientCpuMsPerMb: number;
  serverCpuMsPerMb?: number;
  senderPeakRssMiB: number;
  recipientPeakRssMiB: number;
  serverPeakRssMiB?: number;
  chunksResent?: number;
}

const ROW_KINDS = ['plain', 'engine', 'engine-direct-window', 'direct', 'webrtc', 'relay-raised', 'relay-default'];

async function main(): Promise<void> {
  // FILES_BENCH_MIB: one size or several ("256,1024": RSS flat in file size); default 1 GiB.
  const sizes = (process.env.FILES_BENCH_MIB ?? '1024').split(',').map(Number);
  // The relay at the server's default per-key rate (RATE_BYTES_PER_S, 4 MiB/s) would take
  // over 4 min for 1 GiB: that row moves a smaller file of its own.
  const relayDefaultMib = Number(process.env.FILES_BENCH_RELAY_DEFAULT_MIB ?? 64);
  const only = process.env.FILES_BENCH_ROWS?.split(',') ?? ROW_KINDS;
  const profileDir = process.env.FILES_BENCH_PROFILE_DIR;
  const work = mkdtempSync(join(tmpdir(), 'p2p-bench-files-'));
  const loads: number[] = [];
  const rows: Row[] = [];
  const started = new Date().toISOString();
  const add = (r: Row) => {
    const plain = rows.find((x) => x.mib === r.mib && x.path.startsWith('plain'));
    if (plain && r !== plain) r.vsPlain = +(r.mbPerS / plain.mbPerS).toFixed(2);
    rows.push(r);
    loads.push(loadavg()[0]!);
    console.log(JSON.stringify(r));
  };
  try {
    for (const mib of sizes) {
      const size = mib * MiB;
      const path = join(work, 'data.bin');
      await generate(path, size);
      const engineRuns = [
        ['plain', 'plain', 0],
        ['engine', 'engine', 0],
        ['engine-direct-window', 'engine', 4096],
      ] as const;
      for (const [name, kind, windowKiB] of engineRuns) {
        if (!only.includes(name)) continue;
        for (const d of ['r-inbox', 'r-state', 's-state', 'plain-received.bin'])
          rmSync(join(work, d), { recursive: true, force: true });
        add({ ...(await run(kind, work, path, size, windowKiB)), mib });
      }
      const sdkRuns: Array<[string, SdkPath, string, Record<string, string>]> = [
        ['direct', 'direct', 'SDK clients, direct link, v2 session', {}],
        ['webrtc', 'webrtc', 'SDK clients, WebRTC (wrtc, loopback), v2 session', {}],
        ['relay-raised', 'relay', 'SDK clients, relay (server rate limits raised), v2 session', RAISED_RELAY_LIMITS],
      ];
      for (const [name, kind, label, serverEnv] of sdkRuns) {
        if (!only.includes(name)) continue;
        add(await sdkRow(kind, work, path, size, { label, serverEnv, ...(profileDir ? { profileDir } : {}) }));
      }
      rmSync(path, { force: true });
    }
    if (only.includes('relay-default')) {
      const size = relayDefaultMib * MiB;
      const path = join(work, 'relay-default.bin');
      await generate(path, size);
      if (!rows.some((r) => r.mib === relayDefaultMib && r.path.startsWith('plain'))) {
        rmSync(join(work, 'plain-received.bin'), { force: true });
        add({ ...(await run('plain', work, path, size)), mib: relayDefaultMib });
      }
      add(
        await sdkRow('relay', work, path, size, {
          label: 'SDK clients, relay (server defaults: RATE_BYTES_PER_S 4 MiB/s), v2 session',
        }),
      );
    }
    const meta = {
      date: started,
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      loadavg1: { min: +Math.min(...loads).toFixed(2), max: +Math.max(...loads).toFixed(2) },
      sizesMiB: sizes,
    };
    console.table(rows);
    const out = new URL('./results/', import.meta.url);
    mkdirSync(out, { recursive: true });
    // A run of some rows (FILES_BENCH_ROWS) is written beside the full record, never over it.
    const base = process.env.FILES_BENCH_ROWS ? `files.${only.join('+')}` : 'files';
    writeFileSync(new URL(`${base}.json`, out), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
    const cell = (v: number | undefined) => (v === undefined ? '–' : String(v));
    const md = [
      `# bench:files — ${sizes.join(' and ')} MiB on loopback`,
      '',
      `${meta.date}, Node ${meta.node}, ${meta.cpu} × ${meta.cores}, load average ${meta.loadavg1.min}–${meta.loadavg1.max} (1 min, sampled after each row).`,
      'MB = 10^6 bytes. "MB/s" is end to end: from the offer call (the sender hashes the whole file first) to the',
      'recipient\'s hash-verified landing. "× plain" divides by the plain socket pair of the same size in the same run.',
      'CPU is counted over the transfer; peak RSS over each process\'s life. "re-sent" = chunks sent beyond the file\'s own.',
      '',
      '| path | MiB | MB/s | × plain | sender CPU ms/MB | recipient CPU ms/MB | server CPU ms/MB | sender peak RSS MiB | recipient peak RSS MiB | server peak RSS MiB | re-sent chunks |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| ${r.path} | ${r.mib} | ${r.mbPerS} | ${cell(r.vsPlain)} | ${r.senderCpuMsPerMb} | ${r.recipientCpuMsPerMb} | ${cell(r.serverCpuMsPerMb)} | ${r.senderPeakRssMiB} | ${r.recipientPeakRssMiB} | ${cell(r.serverPeakRssMiB)} | ${cell(r.chunksResent)} |`,
      ),
      '',
    ].join('\n');
    writeFileSync(new URL(`${base}.md`, out), md);
    console.log(md);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  // wrtc keeps native threads in the children only; this process has nothing left, but be sure.
  process.exit(0);
}

const [role, work, a3, a4] = process.argv.slice(2);
cpuMark = process.cpuUsage();
if (role === 'engine-recipient') await engineRecipient(work!, Number(a4 ?? 0));
else if (role === 'engine-sender') await engineSender(work!, Number(a3), a4!);
else if (role === 'plain-recipient') await plainRecipient(work!, Number(a3));
else if (role === 'plain-sender') await plainSender(Number(a3), a4!);
else await main();
