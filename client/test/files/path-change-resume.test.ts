/**
 * A path change restarts both sides' silence clocks at the shortest interval. While a path is
 * dead (a WebRTC cut the path manager has not noticed yet) every probe and credit is lost, so
 * the re-send interval doubles; when traffic moves to the next path the transfer must go on
 * within one FILE_RESEND_MS, not on the next doubled tick (7 s or 15 s in the NAT lab's F4
 * before this). Here the interval has doubled to 3.2 s when the path comes back: without the
 * reset the transfer waits ~3 s more; with it, ~0.1 s.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { FileTransfers } from '../../src/files/engine.js';
import { engineOn, MemoryNet, outcome, peerName, removeDir, tempDir } from './helpers/memory-net.js';

const A = peerName(1);
const B = peerName(2);
/** Short first interval, room to double: 100, 200, 400, 800, 1,600, 3,200 ms. */
const timing = { resendMs: 100, resendMaxMs: 60_000, chunkBytes: 4_096, windowBytes: 16_384 };
/** How long the path stays dead: long enough for five silent rounds (100+200+400+800+1,600). */
const DEAD_MS = 3_200;
/** The transfer must go on within this after the path change (one interval is 100 ms). */
const RESUME_BOUND_MS = 2_000;

let dir: string;
let net: MemoryNet;
const engines: FileTransfers[] = [];
beforeEach(() => {
  dir = tempDir('path-change');
  net = new MemoryNet();
});
afterEach(() => {
  for (const e of engines.splice(0)) e.stop();
  removeDir(dir);
});

it('a transfer stalled on a dead path goes on within one interval of the path change, byte-identical', async () => {
  const a = engineOn(net, A, dir, timing);
  const b = engineOn(net, B, dir, timing);
  engines.push(a, b);
  const content = randomBytes(400_000);
  const path = join(dir, 'stalled.bin');
  writeFileSync(path, content);
  let bytesAcked = 0;
  let firstProgressAfterChange = 0;
  let changedAt = 0;
  let dead = false;
  a.on('progress', (p) => {
    if (p.direction !== 'out') return;
    if (changedAt > 0 && p.bytes > bytesAcked && firstProgressAfterChange === 0) firstProgressAfterChange = Date.now();
    bytesAcked = Math.max(bytesAcked, p.bytes);
  });
  // The path dies once a quarter has arrived: every message is lost, sends still "succeed".
  b.on('progress', (p) => {
    if (p.direction === 'in' && p.bytes >= content.length / 4 && changedAt === 0 && !dead) {
      dead = true;
      net.drop = () => true;
    }
  });
  const { id } = await a.send(B, path);
  const done = Promise.all([outcome(a, id), outcome(b, id)]);
  await expect.poll(() => bytesAcked > 0, { timeout: 10_000 }).toBe(true);
  await expect.poll(() => dead, { timeout: 10_000 }).toBe(true);
  await new Promise((r) => setTimeout(r, DEAD_MS));
  const before = bytesAcked;
  // Traffic moves to the next path: it delivers, and both sides are told.
  net.drop = () => false;
  changedAt = Date.now();
  a.pathChanged(B);
  b.pathChanged(A);
  await expect.poll(() => firstProgressAfterChange, { timeout: 10_000 }).toBeGreaterThan(0);
  expect(firstProgressAfterChange - changedAt).toBeLessThan(RESUME_BOUND_MS);
  const [sent, got] = await done;
  expect(sent.kind).toBe('done');
  expect(got.kind).toBe('done');
  expect(readFileSync(got.path!).equals(content)).toBe(true);
  expect(before).toBeLessThan(content.length);
});
