/**
 * Resume after the RECIPIENT's client restarts mid-transfer (issue 14): two real SDK clients,
 * each in its own process, over the relay of a real rendezvous server process. The recipient's
 * process is SIGKILLed while chunks flow and started again on the same home; the sender (never
 * restarted) goes on from the recipient's last durable chunk exactly, not from zero, and the
 * file lands byte-identical. (The sender-restart case is resume.test.ts.)
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FILE_CHUNK_BYTES, FILE_PERSIST_EVERY_CHUNKS } from '../../src/files/constants.js';
import { storePaths } from '../../src/store/paths.js';
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
    // Killed once 30 % is written and a durable point is on disk, well before the end.
    const journal = join(storePaths(join(dir, 'bob')).stateDir, 'files-in.log');
    const durableMark = () =>
      existsSync(journal)
        ? Math.max(
            0,
            ...readFileSync(journal, 'utf8')
              .split('\n')
              .filter((l) => l.includes('"op":"next"'))
              .map((l) => (JSON.parse(l) as { next: number }).next),
          )
        : 0;
    const progress = await bob.wait(
      (e) => e.ev === 'progress' && e.id === id && (e.bytes as number) >= SIZE * 0.3 && durableMark() > 0,
      30_000,
      'recipient at 30 % with a durable point',
    );
    await bob.kill();
    // Read after the kill: a flush still running at the kill is not recorded, by design.
    const durable = durableMark();
    const writtenAtKill = progress.bytes as number;
    expect(writtenAtKill).toBeLessThan(SIZE);
    // Every chunk the sender sends before the restart, counted while the recipient is gone
    // (its credit stopped with it: nothing more goes until the restart).
    const sentBeforeRestart = ((await alice.report()).counters as { sender: { chunksSent: number } }).sender.chunksSent;

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
    console.log(
      `recipient killed at ${(writtenAtKill / 2 ** 20).toFixed(1)} MiB written of ${SIZE / 2 ** 20}, durable at chunk ${durable}; chunks sent ${sentBeforeRestart} before the restart, ${chunksSent} in all for ${TOTAL_CHUNKS} (re-sent ${resent}; from zero would be ≥ ${Math.floor(writtenAtKill / FILE_CHUNK_BYTES)})`,
    );
    // Resumed at the durable point: everything sent past it before the restart goes again (on
    // a quiet machine exactly that; a silence under load may rewind a window more), and the
    // part before it never does.
    expect(durable).toBeGreaterThanOrEqual(FILE_PERSIST_EVERY_CHUNKS);
    expect(resent).toBeGreaterThanOrEqual(sentBeforeRestart - durable);
    expect(resent).toBeLessThan(Math.floor(writtenAtKill / FILE_CHUNK_BYTES));
    const restarted: PeerEvent[] = bob.events.filter((e) => e.ev === 'progress' && e.id === id);
    expect(restarted[0]!.bytes as number).toBeGreaterThan(durable * FILE_CHUNK_BYTES);
  });
});
