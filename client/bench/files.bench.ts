/**
 * bench:files — file transfer throughput over a loopback TCP socket pair, through the
 * transfer engine (client/src/files) and, as the ceiling, the same bytes over a plain socket
 * pair (read the file → socket → write the file). Each side runs in its own process, so CPU
 * and peak RSS are per side.
 *
 *   npm run bench:files                   1 GiB (FILES_BENCH_MIB=256 for a quicker run)
 *
 * Prints a table and writes client/bench/results/files.{json,md}. The data is generated
 * (random, never stored in git) and deleted afterwards. Not a test: nothing is asserted.
 *
 * What the engine row includes: the sender's SHA-256 pass over the whole file before the
 * offer (the "hash" column), chunk framing, the recipient's credit round trips, its streaming
 * hash and the verify-then-rename. What it does not include yet: the session's AEAD (the
 * socket stands in for a session path); bench:session measures that layer on its own.
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

function report(role: string, extra: Partial<SideReport> = {}): void {
  const cpu = process.cpuUsage();
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
          ? 'engine, default window (relay-safe, 384 KiB)'
          : `engine, direct-path window (${windowKiB / 1024} MiB, budget ${(4 * windowKiB) / 1024} MiB)`,
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

async function main(): Promise<void> {
  const mib = Number(process.env.FILES_BENCH_MIB ?? 1024);
  const size = mib * MiB;
  const work = mkdtempSync(join(tmpdir(), 'p2p-bench-files-'));
  try {
    const path = join(work, 'data.bin');
    await generate(path, size);
    const rows = [];
    for (const [kind, windowKiB] of [
      ['plain', 0],
      ['engine', 0],
      ['engine', 4096],
    ] as const) {
      rmSync(join(work, 'r-inbox'), { recursive: true, force: true });
      rmSync(join(work, 'r-state'), { recursive: true, force: true });
      rmSync(join(work, 's-state'), { recursive: true, force: true });
      rmSync(join(work, 'plain-received.bin'), { force: true });
      rows.push(await run(kind, work, path, size, windowKiB));
    }
    const ratio = +(rows[1]!.mbPerS / rows[0]!.mbPerS).toFixed(2);
    const directRatio = +(rows[2]!.mbPerS / rows[0]!.mbPerS).toFixed(2);
    const meta = {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      loadavg1: +loadavg()[0]!.toFixed(2),
      bytes: size,
      engineVsPlain: ratio,
      directWindowVsPlain: directRatio,
    };
    console.table(rows);
    console.log(
      `engine / plain: ${ratio}× default window, ${directRatio}× direct-path window (load average ${meta.loadavg1} on ${meta.cores} cores)`,
    );
    const out = new URL('./results/', import.meta.url);
    mkdirSync(out, { recursive: true });
    writeFileSync(new URL('files.json', out), `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
    const md = [
      `# bench:files — ${mib} MiB over a loopback TCP socket pair`,
      '',
      `${meta.date}, Node ${meta.node}, ${meta.cpu} × ${meta.cores}, load average ${meta.loadavg1}.`,
      `MB = 10^6 bytes. "MB/s" is end to end (sender's hash pass included); "transfer MB/s" from the offer to DONE.`,
      '',
      '| path | MB/s | transfer MB/s | sender hash s | sender CPU ms/MB | recipient CPU ms/MB | sender peak RSS MiB | recipient peak RSS MiB |',
      '| --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows.map(
        (r) =>
          `| ${r.path} | ${r.mbPerS} | ${r.transferMbPerS} | ${r.hashS} | ${r.senderCpuMsPerMb} | ${r.recipientCpuMsPerMb} | ${r.senderPeakRssMiB} | ${r.recipientPeakRssMiB} |`,
      ),
      '',
      `Engine / plain (end to end): ${ratio}× with the default window, ${directRatio}× with a direct-path window.`,
      '',
    ].join('\n');
    writeFileSync(new URL('files.md', out), md);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const [role, work, a3, a4] = process.argv.slice(2);
if (role === 'engine-recipient') await engineRecipient(work!, Number(a4 ?? 0));
else if (role === 'engine-sender') await engineSender(work!, Number(a3), a4!);
else if (role === 'plain-recipient') await plainRecipient(work!, Number(a3));
else if (role === 'plain-sender') await plainSender(Number(a3), a4!);
else await main();
