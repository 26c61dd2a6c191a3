/**
 * Resume after the RECIPIENT's client restarts mid-transfer (issue 14): two real SDK clients,
 * each in its own process, over the relay of a real rendezvous server process. The recipient's
 * process is SIGKILLed while chunks flow and started again on the same home; the sender (never
 * restarted) goes on from the recipient's last durable chunk, not from zero, and the file lands
 * byte-identical. (The sender-restart case is resume.test.ts.)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FILE_CHUNK_BYTES, FILE_PERSIST_EVERY_CHUNKS, FILE_WINDOW_BYTES } from '../../src/files/constants.js';
import { freePort } from '../helpers/server.js';
import { killProcess, spawnRendezvous } from '../helpers/server-process.js';
import { removeDir, tempDir } from './helpers/memory-net.js';
import { befriend, type PeerEvent, SdkPeer } from './helpers/sdk-peer-process.js';

const SIZE = 12 * 1024 * 1024;
const TOTAL_CHUNKS = Math.ceil(SIZE / FILE_CHUNK_BYTES);

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('resume after the recipient process restarts', () => {
  it('the sender continues from the recipient’s last durable chunk; the file lands byte-identical', {
    timeout: 60_000,
  }, async () => {
    const dir = tempDir('resume-recipient');
    cleanups.push(() => removeDir(dir));
    const port = await freePort();
    const server = await spawnRendezvous(port, {});
    cleanups.push(() => killProcess(server));
    const url = `ws://127.0.0.1:${port}`;
    const content = randomBytes(SIZE);
    const src = join(dir, 'payload.bin');
    writeFileSync(src, content);
    mkdirSync(join(dir, 'alice'));
    mkdirSync(join(dir, 'bob'));
    const peer = (name: string) => {
      const p = new SdkPeer({ home: join(dir, name), server: url, name, webrtc: false });
      cleanups.push(() => p.kill());
      return p;
    };
    const alice = peer('alice');
    let bob = peer('bob');
    const { bKey } = await befriend(alice, bob);

    alice.send({ op: 'send', peer: bKey, path: src });
    const { id } = await alice.wait((e) => e.ev === 'sent', 20_000, 'offered');
    // Killed once a few durable points passed, well before the end.
    const progress = await bob.wait(
      (e) => e.ev === 'progress' && e.id === id && (e.bytes as number) >= SIZE * 0.3,
      30_000,
      'recipient at 30 %',
    );
    await bob.kill();
    const writtenAtKill = progress.bytes as number;
    expect(writtenAtKill).toBeLessThan(SIZE);

    bob = peer('bob');
    const done = await bob.wait((e) => e.ev === 'done' && e.id === id, 40_000, 'landed after restart');
    expect(readFileSync(done.path as string).equals(content)).toBe(true);
    // The restarted recipient still reports the content's hash (from its durable record).
    const sha256 = createHash('sha256').update(content).digest('hex');
    expect(done.sha256).toBe(sha256);
    const sent = await alice.wait((e) => e.ev === 'done' && e.id === id, 10_000, 'sender done');
    expect(sent.sha256).toBe(sha256);
    const chunksSent = (sent.counters as { sender: { chunksSent: number } }).sender.chunksSent;
    const resent = chunksSent - TOTAL_CHUNKS;
    // Chunks that were in flight or past the last durable point when the recipient died, at
    // most a window plus one persistence interval — not the part before the kill.
    const bound = FILE_WINDOW_BYTES / FILE_CHUNK_BYTES + FILE_PERSIST_EVERY_CHUNKS + 8;
    console.log(
      `recipient killed at ${(writtenAtKill / 2 ** 20).toFixed(1)} MiB written of ${SIZE / 2 ** 20}; chunks sent ${chunksSent} for ${TOTAL_CHUNKS} (re-sent ${resent}, bound ${bound}; from zero would be ≥ ${Math.floor(writtenAtKill / FILE_CHUNK_BYTES)})`,
    );
    expect(resent).toBeLessThanOrEqual(bound);
    expect(resent).toBeLessThan(Math.floor(writtenAtKill / FILE_CHUNK_BYTES));
    const restarted: PeerEvent[] = bob.events.filter((e) => e.ev === 'progress' && e.id === id);
    // The restarted recipient's first progress is past the durable point, not from the start.
    expect(restarted[0]!.bytes as number).toBeGreaterThan(SIZE * 0.2);
  });
});
