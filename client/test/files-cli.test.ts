/**
 * Files from the command line, as two people would run it: Bob's `p2p-comm listen --yes` takes
 * the offer, Alice's `p2p-comm send Bob --file` (stderr not a terminal) prints plain progress
 * lines; a 32 MiB generated file crosses the relay (WebRTC off, so the path is known) and lands
 * byte-identical. `p2p-comm files` lists through the running listen.
 */
import { type ChildProcessWithoutNullStreams, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_ARGV, runCliOnPty } from './helpers/cli-run.js';
import { REPO_ROOT, spawnCli } from './helpers/extension-process.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function run(args: string[], env: Record<string, string>, stdin?: string) {
  const proc: ChildProcessWithoutNullStreams = spawnCli(args, env);
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  if (stdin !== undefined) proc.stdin.end(stdin);
  // 'close', not 'exit': output still in the pipes arrives after 'exit'.
  const done = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  cleanups.push(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  return { proc, out: () => out, err: () => err, done };
}

/** Run the CLI to completion and parse its JSON output; undefined when it failed. */
function spawnSyncJson(args: string[], env: Record<string, string>): Record<string, unknown> | undefined {
  const r = spawnSync(CLI_ARGV[0]!, [...CLI_ARGV.slice(1), ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 20_000,
  });
  try {
    return r.status === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `bytes` of random data written in 1 MiB pieces (never all in memory); returns its SHA-256. */
async function generate(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const ws = createWriteStream(path);
  for (let left = bytes; left > 0; ) {
    const piece = randomBytes(Math.min(left, 1 << 20));
    hash.update(piece);
    if (!ws.write(piece)) await new Promise<void>((r) => ws.once('drain', () => r()));
    left -= piece.length;
  }
  await new Promise<void>((resolve, reject) => ws.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return hash.digest('hex');
}

describe('p2p-comm send --file and files', () => {
  it('listen --yes lands a 32 MiB file sent over the relay; send prints plain progress lines, and a bar on a terminal; a send handed to the listen is taken with files accept', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const a = tempHome();
    const b = tempHome();
    const work = mkdtempSync(join(tmpdir(), 'p2p-files-cli-'));
    cleanups.push(a.cleanup, b.cleanup, () => rmSync(work, { recursive: true, force: true }));
    // WebRTC off on both sides: the relay is the only path, so the timing below is the relay's.
    const envA = { NEXUS_HOME: a.home, P2P_COMM_SERVER: srv.url, P2P_COMM_WEBRTC: '0' };
    const envB = { NEXUS_HOME: b.home, P2P_COMM_SERVER: srv.url, P2P_COMM_WEBRTC: '0' };
    expect(await run(['init', '--name', 'Alice'], envA, '').done).toBe(0);
    expect(await run(['init', '--name', 'Bob'], envB, '').done).toBe(0);
    const idB = run(['id', '--json'], envB, '');
    expect(await idB.done).toBe(0);
    const bob = JSON.parse(idB.out()) as { share: string };

    const listen = run(['listen', '--yes'], envB);
    await waitFor(() => listen.err().includes('Listening as Bob'), 30_000, 'listen ready');
    const connect = run(['connect', bob.share], envA, '');
    expect(await connect.done).toBe(0);

    const size = 32 * 1024 * 1024;
    const file = join(work, 'dataset.bin');
    const sha256 = await generate(file, size);
    const started = performance.now();
    const send = run(['send', 'Bob', '--file', file, '--note', 'the data set'], envA, '');
    expect(await send.done).toBe(0);
    const seconds = (performance.now() - started) / 1000;
    // Not asserted (timing belongs in bench:files): printed for the record of this run.
    console.log(
      `32 MiB over the relay via the CLI on loopback: ${seconds.toFixed(2)} s (${(size / 1e6 / seconds).toFixed(1)} MB/s, including hashing and setup)`,
    );

    expect(send.out()).toContain('Sent dataset.bin (32.0 MiB) to Bob');
    // Not a terminal: plain lines, one per 10 % step at most, never a carriage return.
    const lines = send
      .err()
      .split('\n')
      .filter((l) => l.startsWith('dataset.bin: '));
    expect(send.err()).not.toContain('\r');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(12 + Math.ceil(seconds / 5));
    for (const l of lines)
      expect(l).toMatch(/^dataset\.bin: \d{1,3}% \([\d.]+ (B|KiB|MiB) of 32\.0 MiB\), [\d.]+ (B|KiB|MiB)\/s, ETA /);
    expect(lines.at(-1)).toMatch(/^dataset\.bin: 100% \(32\.0 MiB of 32\.0 MiB\)/);

    await waitFor(() => listen.out().includes('Received dataset.bin (32.0 MiB), SHA-256 checked: '), 15_000, 'landed');
    expect(listen.out()).toMatch(
      /offers a file: dataset\.bin \(32\.0 MiB, application\/octet-stream, sha256 [0-9a-f]{64}\) — "the data set"/,
    );
    // The listen (stderr not a terminal) shows the incoming file's progress as plain lines too.
    const incoming = listen
      .err()
      .split('\n')
      .filter((l) => l.startsWith('dataset.bin: '));
    expect(listen.err()).not.toContain('\r');
    expect(incoming.length).toBeGreaterThanOrEqual(2);
    expect(incoming.at(-1)).toMatch(/^dataset\.bin: 100% \(32\.0 MiB of 32\.0 MiB\)/);
    const landed = /SHA-256 checked: (.+)\n/.exec(listen.out())![1]!;
    expect(landed.startsWith(join(b.home, 'inbox'))).toBe(true);
    expect(createHash('sha256').update(readFileSync(landed)).digest('hex')).toBe(sha256);

    // `files` on Bob's home goes through his running listen; nothing is left in progress.
    const list = run(['files', '--json'], envB, '');
    expect(await list.done).toBe(0);
    expect(JSON.parse(list.out())).toEqual({ incoming: [], outgoing: [] });
    expect(list.err()).toBe('');
    // On Alice's (no listen there), with its own client: a bad id is a typed error.
    const cancel = run(['files', 'cancel', 'ab'.repeat(16), '--json'], envA, '');
    expect(await cancel.done).toBe(1);
    expect(JSON.parse(cancel.out())).toEqual({
      error: expect.objectContaining({ code: 'CLIENT_ERR_FILE_UNKNOWN_TRANSFER' }),
    });

    // On a terminal: one line redrawn in place (carriage returns), a bar, rate and ETA.
    const small = join(work, 'bar.bin');
    await generate(small, 3 * 1024 * 1024);
    const tty = await runCliOnPty(['send', 'Bob', '--file', small], envA, 60_000);
    expect(tty.code).toBe(0);
    expect(tty.screen).toMatch(
      /\rbar\.bin \[#+-*\] +\d+% {2}[\d.]+ (B|KiB|MiB)\/3\.0 MiB {2}[\d.]+ (B|KiB|MiB)\/s {2}ETA /,
    );
    expect(tty.screen).toMatch(/\rbar\.bin \[#+\] 100% {2}3\.0 MiB\/3\.0 MiB/);
    expect(tty.screen).not.toMatch(/^bar\.bin: \d+%/m); // no plain lines on a terminal
    await waitFor(() => listen.out().includes('Received bar.bin'), 15_000, 'second file landed');

    // Bob sends while his listen holds his home: handed to it over the control socket. Alice
    // runs no listen: `files accept <id>` answers the sender's next offer and follows it.
    const back = join(work, 'reply.txt');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(back, 'thanks, got it\n');
    const sendBack = run(['send', 'Alice', '--file', back, '--json'], envB, '');
    let id = '';
    await waitFor(
      () => {
        const r = spawnSyncJson(['files', '--json'], envB);
        id = (r?.outgoing as Array<{ id: string }> | undefined)?.[0]?.id ?? '';
        return id !== '';
      },
      20_000,
      'offer listed through the listen',
    );
    const accept = run(['files', 'accept', id, '--wait', '60s'], envA, '');
    expect(await accept.done).toBe(0);
    expect(accept.out()).toContain('Received reply.txt.');
    expect(await sendBack.done).toBe(0);
    expect(sendBack.out()).toContain('"event":"file.done"');
    const inboxA = join(a.home, 'inbox');
    const [peerDir] = (await import('node:fs')).readdirSync(inboxA).filter((d) => !d.startsWith('.'));
    expect(readFileSync(join(inboxA, peerDir!, 'reply.txt'), 'utf8')).toBe('thanks, got it\n');

    listen.proc.kill('SIGINT');
    expect(await listen.done).toBe(0);
  }, 240_000);
});
