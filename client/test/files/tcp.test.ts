import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTransfers } from '../../src/files/engine.js';
import { outcome, peerName, removeDir, tempDir } from './helpers/memory-net.js';
import { pipeFrames, socketChannel, socketPair } from './helpers/tcp-link.js';

const A = peerName(1);
const B = peerName(2);
const MiB = 1024 * 1024;
let dir: string;
beforeEach(() => {
  dir = tempDir('tcp');
});
afterEach(() => removeDir(dir));

/** Write `size` bytes of random data 1 MiB at a time (never the whole file in memory). */
async function generate(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let done = 0; done < size; done += MiB) {
    const block = randomBytes(Math.min(MiB, size - done));
    hash.update(block);
    if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
  return hash.digest('hex');
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe('file transfer over a real loopback TCP socket pair', () => {
  it('moves 64 MiB intact with memory bounded by the credit, not the file size', async () => {
    const size = 64 * MiB;
    const src = join(dir, 'big.bin');
    const expected = await generate(src, size);
    const { a, b, close } = await socketPair();
    const sender = new FileTransfers({
      channel: socketChannel(a),
      stateDir: join(dir, 'a'),
      inboxDir: join(dir, 'a-inbox'),
      approve: () => false,
    });
    const receiver = new FileTransfers({
      channel: socketChannel(b),
      stateDir: join(dir, 'b'),
      inboxDir: join(dir, 'b-inbox'),
      approve: () => true,
    });
    pipeFrames(a, B, (p, m) => sender.receive(p, m));
    pipeFrames(b, A, (p, m) => receiver.receive(p, m));
    global.gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakExternal = base.external + base.arrayBuffers;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers);
    }, 20);
    const started = process.hrtime.bigint();
    try {
      const { id } = await sender.send(B, src);
      const [sent, got] = await Promise.all([outcome(sender, id), outcome(receiver, id)]);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      expect(sent.kind).toBe('done');
      expect(got.kind).toBe('done');
      expect(await sha256Of(got.path!)).toBe(expected);
      const growth = (peakRss - base.rss) / MiB;
      const external = (peakExternal - base.external - base.arrayBuffers) / MiB;
      console.log(
        `64 MiB over loopback TCP: ${(size / MiB / seconds).toFixed(1)} MiB/s (hash included), RSS ${(base.rss / MiB).toFixed(0)} → peak ${(peakRss / MiB).toFixed(0)} MiB (+${growth.toFixed(1)}), Buffer memory peak +${external.toFixed(1)} MiB`,
      );
      // Not a timing: a bound on memory. Holding the file would take 64 MiB more; Buffer
      // memory also counts garbage not yet collected, so the bound is on the RSS.
      expect(growth).toBeLessThan(40);
    } finally {
      clearInterval(sampler);
      sender.stop();
      receiver.stop();
      close();
    }
  }, 120_000);
});
