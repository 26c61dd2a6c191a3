import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileTransfers } from '../../src/files/engine.js';
import { decodeTransferMessage, TransferMessageType } from '../../src/files/wire.js';
import { engineOn, MemoryNet, outcome, peerName, removeDir, tempDir } from './helpers/memory-net.js';

let dir: string;
const engines: FileTransfers[] = [];
beforeEach(() => {
  dir = tempDir('fair');
});
afterEach(() => {
  for (const e of engines.splice(0)) e.stop();
  removeDir(dir);
});

describe('many senders at one recipient', () => {
  it('share its credit fairly: all finish, none starves, none sends past its grant, the budget holds', async () => {
    const SENDERS = 6;
    const CHUNK = 1024;
    const WINDOW = 4 * CHUNK;
    const BUDGET = 8 * CHUNK; // fewer chunks than senders × window: the budget is the bottleneck
    const SIZE = 300 * CHUNK;
    const net = new MemoryNet();
    const R = peerName(0);
    const receiver = engineOn(net, R, dir, { windowBytes: WINDOW, budgetBytes: BUDGET, resendMs: 200 });
    engines.push(receiver);
    const senders = Array.from({ length: SENDERS }, (_, i) => {
      const e = engineOn(net, peerName(i + 1), dir, { chunkBytes: CHUNK, resendMs: 200 });
      engines.push(e);
      return e;
    });

    // Every CREDIT the recipient sends, and every CHUNK a sender sends, seen on the wire.
    const advertised = new Map<string, number>();
    let overGrant = 0;
    net.tap = ({ from, to, bytes }) => {
      const m = decodeTransferMessage(bytes);
      if (m.type === TransferMessageType.CREDIT && from === R)
        advertised.set(`${to}/${m.id}`, Math.max(advertised.get(`${to}/${m.id}`) ?? 0, m.limit));
      if (m.type === TransferMessageType.CHUNK && to === R && m.index >= (advertised.get(`${from}/${m.id}`) ?? 0))
        overGrant++;
    };
    let budgetViolations = 0;
    let windowViolations = 0;
    receiver.on('progress', () => {
      let total = 0;
      for (const c of receiver.receiver.credit().values()) {
        const out = (c.limit - c.next) * c.chunkSize;
        if (out > WINDOW) windowViolations++;
        total += out;
      }
      if (total > BUDGET) budgetViolations++;
    });

    const contents = senders.map(() => randomBytes(SIZE));
    const ids = await Promise.all(
      senders.map(async (s, i) => {
        const p = join(dir, `f${i}.bin`);
        writeFileSync(p, contents[i]!);
        return (await s.send(R, p, { name: `from-${i}.bin` })).id;
      }),
    );
    // When the first transfer finishes, where is everyone else?
    const progress = new Map<string, number>();
    receiver.on('progress', (p) => progress.set(p.id, p.bytes));
    const atFirstDone = new Promise<number[]>((resolve) =>
      receiver.once('done', () => resolve(ids.map((id) => progress.get(id) ?? 0))),
    );
    const results = await Promise.all(ids.map((id) => outcome(receiver, id)));
    const snapshot = await atFirstDone;

    results.forEach((r, i) => {
      expect(r.kind).toBe('done');
      expect(readFileSync(r.path!).equals(contents[i]!)).toBe(true);
    });
    expect(overGrant).toBe(0);
    expect(budgetViolations).toBe(0);
    expect(windowViolations).toBe(0);
    const leader = Math.max(...snapshot);
    console.log(
      `bytes of each sender when the first finished: ${snapshot.map((b) => (b / 1024).toFixed(0)).join(', ')} KiB`,
    );
    for (const b of snapshot) expect(b).toBeGreaterThanOrEqual(leader * 0.6);
  }, 60_000);
});
