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

  it('a budget per sender: a pass uses the smallest of the active senders, so a relayed one keeps the relay bound', async () => {
    const CHUNK = 1024;
    const SMALL = 4 * CHUNK; // the relay-safe budget
    const BIG = 16 * CHUNK; // the budget for a sender on a direct or WebRTC path
    const net = new MemoryNet();
    const R = peerName(0);
    const FAST = peerName(1);
    const RELAYED = peerName(2);
    const receiver = engineOn(net, R, dir, {
      windowBytes: BIG,
      budgetBytes: (peer) => (peer === FAST ? BIG : SMALL),
      resendMs: 200,
    });
    engines.push(receiver);
    const fast = engineOn(net, FAST, dir, { chunkBytes: CHUNK, resendMs: 200 });
    const relayed = engineOn(net, RELAYED, dir, { chunkBytes: CHUNK, resendMs: 200 });
    engines.push(fast, relayed);
    let outAlone = 0; // the most credit out while the direct sender was alone
    let outRelayed = 0; // the most credit out to the relayed sender
    let outTotal = 0;
    receiver.on('progress', () => {
      let total = 0;
      let relayedOut: number | null = null;
      for (const [key, c] of receiver.receiver.credit()) {
        const out = (c.limit - c.next) * c.chunkSize;
        total += out;
        if (key.startsWith(`${RELAYED}/`)) relayedOut = out;
      }
      outTotal = Math.max(outTotal, total);
      if (relayedOut === null) outAlone = Math.max(outAlone, total);
      else outRelayed = Math.max(outRelayed, relayedOut);
    });
    const send = async (e: FileTransfers, name: string) => {
      const p = join(dir, name);
      writeFileSync(p, randomBytes(200 * CHUNK));
      return outcome(receiver, (await e.send(R, p, { name })).id);
    };
    expect((await send(fast, 'alone.bin')).kind).toBe('done');
    const both = await Promise.all([send(fast, 'fast.bin'), send(relayed, 'relayed.bin')]);
    expect(both.map((r) => r.kind)).toEqual(['done', 'done']);
    expect(outAlone).toBeGreaterThan(SMALL); // alone, the direct sender had its bigger budget
    // Credit already out is not taken back, but new grants fit the smallest budget: the relayed
    // sender never has more than the relay bound, and nobody more than the biggest budget.
    expect(outRelayed).toBeGreaterThan(0);
    expect(outRelayed).toBeLessThanOrEqual(SMALL);
    expect(outTotal).toBeLessThanOrEqual(BIG);
  }, 60_000);

  it('credit beyond a sender’s window is taken back when its path changes (direct-sized grant, then the relay)', async () => {
    const CHUNK = 1024;
    const BIG = 64 * CHUNK;
    const SMALL = 4 * CHUNK;
    let onDirect = true;
    const net = new MemoryNet();
    const R = peerName(0);
    const S = peerName(1);
    const receiver = engineOn(net, R, dir, {
      windowBytes: () => (onDirect ? BIG : SMALL),
      budgetBytes: BIG,
      resendMs: 200,
    });
    const sender = engineOn(net, S, dir, { chunkBytes: CHUNK, resendMs: 200 });
    engines.push(receiver, sender);
    let maxOutAfter = 0; // limit − next in CREDIT messages once the path is the relay's
    let lowered = false;
    let lastLimit = 0;
    net.tap = ({ from, bytes }) => {
      const m = decodeTransferMessage(bytes);
      if (m.type !== TransferMessageType.CREDIT || from !== R) return;
      if (!onDirect && m.limit < lastLimit) lowered = true;
      if (!onDirect) maxOutAfter = Math.max(maxOutAfter, m.limit - m.next);
      lastLimit = m.limit;
    };
    receiver.on('progress', (p) => {
      if (onDirect && p.bytes >= 100 * CHUNK) onDirect = false;
    });
    const p = join(dir, 'switch.bin');
    const content = randomBytes(400 * CHUNK);
    writeFileSync(p, content);
    const r = await outcome(receiver, (await sender.send(R, p, { name: 'switch.bin' })).id);
    expect(r.kind).toBe('done');
    expect(readFileSync(r.path!).equals(content)).toBe(true);
    expect(lowered).toBe(true); // the direct-sized grant was taken back
    // CREDIT's `next` is what is written; chunks received and waiting for the disk sit between it
    // and the limit too, so this is not the window itself — but never a direct-sized grant again.
    expect(maxOutAfter).toBeLessThan(BIG / CHUNK);
  }, 60_000);
});
