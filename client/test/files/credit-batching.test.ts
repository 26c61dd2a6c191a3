/**
 * CREDIT batching on a large window: the recipient tells the sender about its grant once per
 * 1/FILE_CREDIT_BATCH_WINDOW_PARTS of the window (not every FILE_CREDIT_BATCH_CHUNKS chunks),
 * and the sender still never sends a chunk beyond what it was told.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransferChannel } from '../../src/files/channel.js';
import { FILE_CREDIT_BATCH_CHUNKS, FILE_CREDIT_BATCH_WINDOW_PARTS } from '../../src/files/constants.js';
import type { FileTransfers } from '../../src/files/engine.js';
import { decodeTransferMessage, TransferMessageType } from '../../src/files/wire.js';
import { engineOn, MemoryNet, outcome, peerName, removeDir, tempDir } from './helpers/memory-net.js';

const A = peerName(1);
const B = peerName(2);
const CHUNK = 4096;
let dir: string;
let net: MemoryNet;
const engines: FileTransfers[] = [];

beforeEach(() => {
  dir = tempDir('credit-batch');
  net = new MemoryNet();
});
/**
 * A's messages to B, delivered one per timer tick (as chunks trickle in from a socket), so the
 * recipient writes and re-grants chunk by chunk and batching is what decides how often it speaks.
 */
function pacedTo(to: string, from: string): TransferChannel {
  const queue: Uint8Array[] = [];
  const next = () => {
    const m = queue.shift();
    if (!m) return;
    net.tap({ from, to, bytes: m });
    net.engines.get(to)?.receive(from, m);
    if (queue.length > 0) setTimeout(next, 1);
  };
  return {
    send: (peer, bytes) => {
      if (peer !== to) return false;
      queue.push(bytes);
      if (queue.length === 1) setTimeout(next, 1);
      return true;
    },
  };
}

afterEach(() => {
  for (const e of engines.splice(0)) e.stop();
  removeDir(dir);
});

describe('credit on a large window', () => {
  it('is sent once per 1/8 window, and no chunk goes beyond the credit the sender was told', async () => {
    const windowChunks = 128;
    const a = engineOn(net, A, dir, { chunkBytes: CHUNK, channel: pacedTo(B, A) });
    const b = engineOn(net, B, dir, { windowBytes: windowChunks * CHUNK, budgetBytes: 4 * windowChunks * CHUNK });
    engines.push(a, b);
    const chunks = 512;
    const content = randomBytes(chunks * CHUNK);
    const path = join(dir, 'big.bin');
    writeFileSync(path, content);
    let credits = 0;
    let told = 0;
    let beyond = 0;
    net.tap = ({ from, bytes }) => {
      const m = decodeTransferMessage(bytes);
      if (from === B && m.type === TransferMessageType.CREDIT) {
        credits++;
        told = Math.max(told, m.limit);
      }
      if (from === A && m.type === TransferMessageType.CHUNK && m.index >= told) beyond++;
    };
    const { id } = await a.send(B, path);
    const [sent, got] = await Promise.all([outcome(a, id), outcome(b, id)]);
    expect(sent.kind).toBe('done');
    expect(got.kind).toBe('done');
    expect(readFileSync(got.path!).equals(content)).toBe(true);
    expect(beyond).toBe(0);
    expect(b.receiver.counters.overCredit).toBe(0);
    const batch = windowChunks / FILE_CREDIT_BATCH_WINDOW_PARTS; // 16 chunks
    expect(batch).toBeGreaterThan(FILE_CREDIT_BATCH_CHUNKS);
    // One per batch, plus the first grant and the few forced ones (accept, the last chunk).
    expect(credits).toBeLessThanOrEqual(chunks / batch + 8);
  });

  it('keeps the small batch on a small window (the relay-safe default)', async () => {
    const a = engineOn(net, A, dir, { chunkBytes: CHUNK });
    const b = engineOn(net, B, dir, { windowBytes: 8 * CHUNK, budgetBytes: 32 * CHUNK });
    engines.push(a, b);
    const chunks = 256;
    const path = join(dir, 'small-window.bin');
    writeFileSync(path, randomBytes(chunks * CHUNK));
    let credits = 0;
    net.tap = ({ from, bytes }) => {
      if (from === B && decodeTransferMessage(bytes).type === TransferMessageType.CREDIT) credits++;
    };
    const { id } = await a.send(B, path);
    expect((await outcome(b, id)).kind).toBe('done');
    // 8 chunks of window: a CREDIT at least every FILE_CREDIT_BATCH_CHUNKS so the sender never stalls.
    expect(credits).toBeGreaterThanOrEqual(chunks / 8);
  });
});
