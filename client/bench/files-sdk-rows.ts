/**
 * bench:files rows over the real paths: two real SDK clients (P2PClient), each in its own
 * process, through real Sessions (v2: every chunk sealed with the session's AEAD), with a real
 * rendezvous server process — over a direct link, WebRTC (@roamhq/wrtc on loopback), or the
 * server's relay. The clients are test/files/fixtures/sdk-peer.ts driven over JSON lines.
 *
 * Per row: MB/s from the sender's offer call (its hashing pass included) to the recipient's
 * `file.done` (hash verified, file landed); CPU ms per MB of each client (and the server)
 * counted over that span; peak RSS of each process over its whole life.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FILE_CHUNK_BYTES } from '../src/files/constants.js';
import { befriend, type PeerEvent, SdkPeer } from '../test/files/helpers/sdk-peer-process.js';
import { freePort } from '../test/helpers/server.js';
import { killProcess, spawnRendezvous } from '../test/helpers/server-process.js';

export type SdkPath = 'direct' | 'webrtc' | 'relay';

export interface SdkRow {
  path: string;
  mib: number;
  mbPerS: number;
  senderCpuMsPerMb: number;
  recipientCpuMsPerMb: number;
  serverCpuMsPerMb: number;
  senderPeakRssMiB: number;
  recipientPeakRssMiB: number;
  serverPeakRssMiB: number;
  /** Chunks the sender sent beyond the file's own (go-back-N re-sends). */
  chunksResent: number;
}

export { RAISED_RELAY_LIMITS } from '../test/helpers/raised-relay-limits.js';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** CPU ms (user + system) a process has used so far, from /proc. */
function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5), counted after the ")" that ends field 2.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
}

/** Peak resident set of a process, MiB (VmHWM). */
function procPeakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Longest a row may take, ms: generous for a loaded machine (≥ 0.5 MB/s), then it fails. */
const rowTimeoutMs = (bytes: number) => 60_000 + bytes / 500;

export async function sdkRow(
  kind: SdkPath,
  work: string,
  file: string,
  bytes: number,
  opts: { serverEnv?: Record<string, string>; label: string; profileDir?: string },
): Promise<SdkRow> {
  const port = await freePort();
  const server = await spawnRendezvous(port, { LOG_LEVEL: 'error', ...(opts.serverEnv ?? {}) });
  const url = `ws://127.0.0.1:${port}`;
  const home = (n: string) => {
    const h = join(work, `${kind}-${n}`);
    rmSync(h, { recursive: true, force: true });
    mkdirSync(h);
    return h;
  };
  // One directory per process: tsx's loader thread writes a profile of its own next to the main one.
  const prof = (name: string) =>
    opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}/${kind}-${name}`] : [];
  const webrtc = kind === 'webrtc';
  const bob = new SdkPeer(
    { home: home('bob'), server: url, name: 'bob', webrtc, ...(kind === 'direct' ? { listen: { port: 0 } } : {}) },
    prof('recipient'),
  );
  const alice = new SdkPeer({ home: home('alice'), server: url, name: 'alice', webrtc }, prof('sender'));
  try {
    const { bKey } = await befriend(alice, bob);
    if (kind === 'direct') {
      const r = await bob.wait((e) => e.ev === 'ready', 10_000, 'bob ready');
      const listen = r.listen as { host: string; port: number };
      alice.send({ op: 'addAddress', key: bKey, host: listen.host, port: listen.port });
    }
    const on = (p: SdkPeer) => p.wait((e) => e.ev === 'path' && e.kind === kind, 60_000, `${kind} path up`);
    await Promise.all([on(alice), on(bob)]);
    const marks = [alice.events.length, bob.events.length];
    alice.send({ op: 'mark' });
    bob.send({ op: 'mark' });
    const [m] = await Promise.all([
      alice.wait((e) => e.ev === 'marked', 10_000, 'mark', marks[0]),
      bob.wait((e) => e.ev === 'marked', 10_000, 'mark', marks[1]),
    ]);
    const serverCpu0 = procCpuMs(server.pid!);
    alice.send({ op: 'send', peer: bKey, path: file });
    const failed = (p: SdkPeer) =>
      p
        .wait((e) => e.ev === 'failed', rowTimeoutMs(bytes), 'failure')
        .then((e: PeerEvent) => {
          throw new Error(`${opts.label}: ${e.code} ${e.message}`);
        });
    const done = await Promise.race([
      bob.wait((e) => e.ev === 'done' && e.direction === 'in', rowTimeoutMs(bytes), `${opts.label} done`),
      failed(alice),
      failed(bob),
    ]);
    const serverCpu = procCpuMs(server.pid!) - serverCpu0;
    const serverRss = procPeakRssMiB(server.pid!);
    const sent = await alice.wait((e) => e.ev === 'done' && e.direction === 'out', 30_000, 'sender done');
    const [ra, rb] = await Promise.all([alice.report(), bob.report()]);
    const seconds = ((done.at as number) - (m.at as number)) / 1000;
    const mb = bytes / 1e6;
    const cpu = (r: PeerEvent) => ((r.cpuUserMs as number) + (r.cpuSystemMs as number)) / mb;
    const chunksSent = (sent.counters as { sender: { chunksSent: number } }).sender.chunksSent;
    rmSync(done.path as string, { force: true });
    return {
      path: opts.label,
      mib: bytes / 2 ** 20,
      mbPerS: +(mb / seconds).toFixed(1),
      senderCpuMsPerMb: +cpu(ra).toFixed(2),
      recipientCpuMsPerMb: +cpu(rb).toFixed(2),
      serverCpuMsPerMb: +(serverCpu / mb).toFixed(2),
      senderPeakRssMiB: Math.round(ra.peakRssMiB as number),
      recipientPeakRssMiB: Math.round(rb.peakRssMiB as number),
      serverPeakRssMiB: Math.round(serverRss),
      chunksResent: chunksSent - Math.ceil(bytes / FILE_CHUNK_BYTES),
    };
  } finally {
    // A clean exit writes the CPU profiles; then make sure nothing is left.
    for (const p of [alice, bob]) p.send({ op: 'exit' });
    await Promise.race([Promise.all([alice.exited, bob.exited]), new Promise((r) => setTimeout(r, 5_000))]);
    await Promise.all([alice.kill(), bob.kill(), killProcess(server)]);
  }
}
