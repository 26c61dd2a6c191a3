/**
 * CREDIT batching on a large window: the recipient tells the sender about its grant once per
 * 1/FILE_CREDIT_BATCH_WINDOW_PARTS of the window (not every FILE_CREDIT_BATCH_CHUNKS chunks),
 * and the sender still never sends a chunk beyond what it was told.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransferChannel } from '../../src/files/channel.js';
import {
  FILE_CREDIT_BATCH_CHUNKS,
  FILE_CREDIT_BATCH_WINDOW_PARTS,
  FILE_CREDIT_MAX_INTERVAL_MS,
} from '../../src/files/constants.js';
import type { FileTransfers } from '../../src/files/engine.js';
import { newIncoming } from '../../src/files/incoming-transfer.js';
import { ReceiverCredit } from '../../src/files/receiver-credit.js';
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
    const startedAt = Date.now();
    const { id } = await a.send(B, path);
    const [sent, got] = await Promise.all([outcome(a, id), outcome(b, id)]);
    const elapsedMs = Date.now() - startedAt;
    expect(sent.kind).toBe('done');
    expect(got.kind).toBe('done');
    expect(readFileSync(got.path!).equals(content)).toBe(true);
    expect(beyond).toBe(0);
    expect(b.receiver.counters.overCredit).toBe(0);
    const batch = windowChunks / FILE_CREDIT_BATCH_WINDOW_PARTS; // 16 chunks
    expect(batch).toBeGreaterThan(FILE_CREDIT_BATCH_CHUNKS);
    // One per batch, plus the first grant and the few forced ones (accept, the last chunk), plus
    // one per FILE_CREDIT_MAX_INTERVAL_MS when a batch takes longer than that (a loaded machine).
    expect(credits).toBeLessThanOrEqual(chunks / batch + 8 + Math.ceil(elapsedMs / FILE_CREDIT_MAX_INTERVAL_MS));
  });
});

describe('when the recipient speaks (ReceiverCredit.advertise)', () => {
  /** One transfer of 1,000 chunks with `windowChunks` of window; returns what it sends. */
  function credit(windowChunks: number, now: () => number = () => 0) {
    const rec = {
      offer: {
        id: 'ab'.repeat(16),
        peer: A,
        name: 'f',
        offeredName: 'f',
        size: 1_000 * CHUNK,
        mediaType: 'a/b',
        note: '',
        sha256: '',
      },
      chunkSize: CHUNK,
      state: 'receiving' as const,
      next: 0,
    };
    const t = newIncoming('k', rec, 0, createHash('sha256'), null as never, 1_000);
    const sent: number[] = [];
    const c = new ReceiverCredit({
      transfers: () => [t],
      send: (_peer, m) => {
        if (m.type === TransferMessageType.CREDIT) sent.push(m.limit);
      },
      windowFor: () => windowChunks * CHUNK,
      budgetFor: () => 1_000 * CHUNK,
      resendMs: 1_000,
      resendMaxMs: 30_000,
      counters: { creditsSent: 0 },
      now,
    });
    return { t, c, sent };
  }

  it('waits for 1/8 of a large window before telling the sender, unless it is running out', () => {
    const { t, c, sent } = credit(128);
    t.limit = 128;
    c.advertise(t, true);
    expect(sent).toEqual([128]);
    t.queuedNext = t.next = 15;
    t.limit = 143; // moved 15 < 16, 113 still to send: quiet
    c.advertise(t, false);
    expect(sent).toEqual([128]);
    t.queuedNext = t.next = 16;
    t.limit = 144; // moved 16: tell
    c.advertise(t, false);
    expect(sent).toEqual([128, 144]);
    t.queuedNext = 140; // the sender has 4 left: tell even a small move
    t.limit = 145;
    c.advertise(t, false);
    expect(sent).toEqual([128, 144, 145]);
  });

  it('tells a small move once FILE_CREDIT_MAX_INTERVAL_MS passed: a slow healthy path never looks stalled to the sender', () => {
    let clock = 1_000_000;
    const { t, c, sent } = credit(128, () => clock);
    t.limit = 128;
    c.advertise(t, true);
    t.queuedNext = t.next = 2;
    t.limit = 130; // moved 2 of a batch of 16: quiet for now
    c.advertise(t, false);
    expect(sent).toEqual([128]);
    clock += FILE_CREDIT_MAX_INTERVAL_MS;
    c.advertise(t, false);
    expect(sent).toEqual([128, 130]);
    c.advertise(t, false); // nothing moved: nothing to tell, however long it has been
    expect(sent).toEqual([128, 130]);
  });

  it('keeps FILE_CREDIT_BATCH_CHUNKS on a small window (1/8 of it would be a CREDIT per chunk)', () => {
    const { t, c, sent } = credit(8);
    t.limit = 8;
    c.advertise(t, true);
    t.queuedNext = t.next = 1;
    t.limit = 9; // moved 1 of a batch of 4, 7 still to send: quiet
    c.advertise(t, false);
    expect(sent).toEqual([8]);
    t.queuedNext = t.next = 4;
    t.limit = 12;
    c.advertise(t, false);
    expect(sent).toEqual([8, 12]);
  });
});
