/**
 * The recipient's side of long messages (files/long-message.ts) against a hand-driven peer on
 * the in-memory channel: an honest one is delivered once through the sink; a hostile one that
 * announces more than the maximum, lies about its size, sends past its credit or sends other
 * bytes than it hashed gets nothing delivered, and what the recipient holds stays within the
 * credit it granted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileTransfers } from '../../src/files/engine.js';
import type { IncomingOffer } from '../../src/files/incoming-record.js';
import {
  LONG_MESSAGE_MAX_INCOMING,
  LONG_MESSAGE_MEDIA_TYPES,
  type LongMessageSink,
} from '../../src/files/long-message.js';
import {
  decodeTransferMessage,
  encodeTransferMessage,
  type TransferMessage,
  TransferMessageType,
} from '../../src/files/wire.js';
import { engineOn, MemoryNet, peerName, removeDir, tempDir } from './helpers/memory-net.js';

const EVIL = peerName(66);
const B = peerName(2);
const CHUNK = 4096;
let dir: string;
let net: MemoryNet;
let b: FileTransfers;
let heard: TransferMessage[];
let delivered: Array<{ offer: IncomingOffer; body: Buffer }>;
let trusted: boolean;
/** Most bytes the recipient ever had granted and not yet written, over the test. */
let peakCredit: number;

const sink = (maxBytes: number): LongMessageSink => ({
  maxBytes,
  accepts: () => trusted,
  deliver: async (offer, _enc, body, commit) => {
    if (commit()) delivered.push({ offer, body });
  },
});

function send(m: TransferMessage): void {
  net.channel(EVIL).send(B, encodeTransferMessage(m));
}

function offer(id: string, content: Buffer, size = content.length): TransferMessage {
  return {
    type: TransferMessageType.OFFER,
    id,
    size,
    chunkSize: CHUNK,
    sha256: createHash('sha256').update(content).digest(),
    name: 'message',
    mediaType: LONG_MESSAGE_MEDIA_TYPES.text,
    note: '',
  };
}

const settle = (ms = 60) => new Promise((r) => setTimeout(r, ms));
/** Wait until `cond` holds (at most 10 s: a loaded machine is slow, not wrong). */
async function until(cond: () => boolean): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond() && Date.now() < end) await settle(10);
}
const answers = (id: string) => heard.filter((m) => m.id === id).map((m) => m.type);
const newId = () => randomBytes(16).toString('hex');

beforeEach(() => {
  dir = tempDir('long-msg');
  net = new MemoryNet();
  heard = [];
  delivered = [];
  trusted = true;
  peakCredit = 0;
  b = engineOn(net, B, dir, {
    resendMs: 40,
    resendMaxMs: 400,
    windowBytes: 4 * CHUNK,
    budgetBytes: 8 * CHUNK,
    messages: sink(64 * 1024),
    approve: () => {
      throw new Error('a long message must not reach the file prompt');
    },
  });
  net.engines.set(EVIL, { receive: (_peer, bytes) => heard.push(decodeTransferMessage(bytes)) });
  net.tap = () => {
    for (const c of b.receiver.credit().values()) peakCredit = Math.max(peakCredit, (c.limit - c.next) * c.chunkSize);
  };
});
afterEach(() => {
  b.stop();
  removeDir(dir);
});

/** Send chunk after chunk as credit allows (an honest sender), `content` cut at CHUNK. */
async function stream(id: string, content: Buffer): Promise<void> {
  const total = Math.ceil(content.length / CHUNK);
  let next = 0;
  const end = Date.now() + 15_000;
  while (next < total && Date.now() < end) {
    const credit = heard.filter((m) => m.id === id && m.type === TransferMessageType.CREDIT).at(-1);
    const limit = credit?.type === TransferMessageType.CREDIT ? credit.limit : 0;
    while (next < Math.min(limit, total)) {
      send({
        type: TransferMessageType.CHUNK,
        id,
        index: next,
        bytes: content.subarray(next * CHUNK, (next + 1) * CHUNK),
      });
      next++;
    }
    await settle(10);
  }
}

describe('long messages at the recipient', () => {
  it('an honest one is accepted without the file prompt, delivered once, answered DONE (again on a re-offer)', async () => {
    const id = newId();
    const content = randomBytes(10 * CHUNK + 123);
    send(offer(id, content));
    await until(() => answers(id).includes(TransferMessageType.ACCEPT));
    await stream(id, content);
    await until(() => answers(id).includes(TransferMessageType.DONE));
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.body.equals(content)).toBe(true);
    expect(delivered[0]!.offer.id).toBe(id);
    expect(answers(id).at(-1)).toBe(TransferMessageType.DONE);
    send(offer(id, content)); // our DONE lost: the answer again, not a second delivery
    await until(() => answers(id).filter((t) => t === TransferMessageType.DONE).length >= 2);
    expect(answers(id).filter((t) => t === TransferMessageType.DONE).length).toBeGreaterThanOrEqual(2);
    expect(delivered).toHaveLength(1);
    expect(readdirSync(join(dir, B, 'inbox', '.partial'))).toEqual([]);
    expect(existsSync(join(dir, B, 'inbox', EVIL))).toBe(false); // nothing landed as a file
    expect(peakCredit).toBeLessThanOrEqual(4 * CHUNK);
  });

  it('announcing more than the maximum: DECLINE too-large, nothing accepted', async () => {
    const id = newId();
    send(offer(id, Buffer.alloc(0), 64 * 1024 + 1));
    await until(() => answers(id).length > 0);
    expect(heard.find((m) => m.id === id)).toMatchObject({ type: TransferMessageType.DECLINE, reason: 'too-large' });
    expect(b.receiver.list()).toEqual([]);
  });

  it('from a peer no longer trusted: DECLINE declined', async () => {
    trusted = false;
    const id = newId();
    send(offer(id, randomBytes(100)));
    await until(() => answers(id).length > 0);
    expect(heard.find((m) => m.id === id)).toMatchObject({ type: TransferMessageType.DECLINE, reason: 'declined' });
  });

  it('lying about its size or content: oversized and uncredited chunks are dropped, the hash refuses the rest, nothing delivered', async () => {
    const id = newId();
    const announced = randomBytes(3 * CHUNK);
    send(offer(id, announced));
    await until(() => answers(id).includes(TransferMessageType.CREDIT));
    // More than the announced size: a chunk longer than the chunk size, chunks far past the credit.
    send({ type: TransferMessageType.CHUNK, id, index: 0, bytes: randomBytes(CHUNK + 1000).subarray(0, CHUNK + 1) });
    for (let i = 10; i < 200; i++) send({ type: TransferMessageType.CHUNK, id, index: i, bytes: randomBytes(CHUNK) });
    await until(() => b.receiver.counters.overCredit >= 190);
    expect(b.receiver.counters.badLength).toBe(1);
    expect(b.receiver.counters.overCredit).toBeGreaterThanOrEqual(190);
    expect(peakCredit).toBeLessThanOrEqual(4 * CHUNK);
    // Then the right number of bytes, but not the ones hashed in the offer.
    await stream(id, randomBytes(3 * CHUNK));
    await until(() => answers(id).includes(TransferMessageType.FAILED));
    expect(heard.find((m) => m.id === id && m.type === TransferMessageType.FAILED)).toMatchObject({
      reason: 'hash-mismatch',
    });
    expect(delivered).toEqual([]);
    expect(readdirSync(join(dir, B, 'inbox', '.partial'))).toEqual([]);
  });

  it(`at most LONG_MESSAGE_MAX_INCOMING (${LONG_MESSAGE_MAX_INCOMING}) at once; one more is not answered (the sender re-offers)`, async () => {
    const ids = Array.from({ length: LONG_MESSAGE_MAX_INCOMING + 1 }, newId);
    for (const id of ids) send(offer(id, randomBytes(2 * CHUNK)));
    await settle(100);
    for (const id of ids.slice(0, -1)) expect(answers(id)).toContain(TransferMessageType.ACCEPT);
    expect(answers(ids.at(-1)!)).toEqual([]);
    expect(b.receiver.list()).toHaveLength(LONG_MESSAGE_MAX_INCOMING);
  });
});
