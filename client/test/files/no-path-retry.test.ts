/**
 * A sender whose send found no path (the first offer to a peer: the session handshake has only
 * just started) tries again after FILE_NO_PATH_RETRY_MS, doubling, instead of a whole re-send
 * interval. The re-send interval here is a minute, so a transfer that waited for it could not
 * finish within the test's timeout.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransferChannel } from '../../src/files/channel.js';
import type { FileTransfers } from '../../src/files/engine.js';
import { engineOn, MemoryNet, outcome, peerName, removeDir, tempDir } from './helpers/memory-net.js';

const A = peerName(1);
const B = peerName(2);
const slow = { resendMs: 60_000, resendMaxMs: 120_000 };
let dir: string;
let net: MemoryNet;
const engines: FileTransfers[] = [];

/** The net's channel for `from`, counting the sends it refused (no path). */
function counting(from: string): { channel: TransferChannel; refused: () => number } {
  const inner = net.channel(from);
  let refused = 0;
  return {
    channel: {
      send: (to, bytes) => {
        const ok = inner.send(to, bytes);
        if (!ok) refused++;
        return ok;
      },
    },
    refused: () => refused,
  };
}

beforeEach(() => {
  dir = tempDir('no-path');
  net = new MemoryNet();
});
afterEach(() => {
  for (const e of engines.splice(0)) e.stop();
  removeDir(dir);
});

describe('a send that found no path', () => {
  it('is tried again soon, not after the re-send interval: the transfer starts once the path is up', async () => {
    const c = counting(A);
    const a = engineOn(net, A, dir, { ...slow, channel: c.channel, chunkBytes: 4096 });
    const b = engineOn(net, B, dir, slow);
    engines.push(a, b);
    const content = randomBytes(100_000);
    const path = join(dir, 'first.bin');
    writeFileSync(path, content);
    net.down = true; // no session yet
    const { id } = await a.send(B, path);
    expect(c.refused()).toBe(1);
    setTimeout(() => {
      net.down = false; // the handshake finished
    }, 50);
    const [sent, got] = await Promise.all([outcome(a, id), outcome(b, id)]);
    expect(sent.kind).toBe('done');
    expect(got.kind).toBe('done');
    expect(readFileSync(got.path!).equals(content)).toBe(true);
    expect(c.refused()).toBeGreaterThanOrEqual(2);
  });

  it('backs off while there is still no path (doubling up to the re-send interval, no busy loop)', async () => {
    const c = counting(A);
    const a = engineOn(net, A, dir, { resendMs: 100, resendMaxMs: 1_000, channel: c.channel });
    engines.push(a);
    const path = join(dir, 'later.bin');
    writeFileSync(path, randomBytes(10_000));
    net.down = true;
    await a.send(B, path);
    await new Promise((r) => setTimeout(r, 500));
    // 20, 40, 80, then every 100 ms: at most 1 + 3 + 4 tries in 500 ms (timers only fire late).
    expect(c.refused()).toBeGreaterThanOrEqual(2);
    expect(c.refused()).toBeLessThanOrEqual(8);
  });
});
