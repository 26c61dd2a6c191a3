import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FILE_PERSIST_EVERY_CHUNKS } from '../../src/files/constants.js';
import type { FileTransfers } from '../../src/files/engine.js';
import { decodeTransferMessage, encodeTransferMessage, TransferMessageType } from '../../src/files/wire.js';
import { engineOn, MemoryNet, outcome, peerName, removeDir, tempDir } from './helpers/memory-net.js';

const A = peerName(1);
const B = peerName(2);
let dir: string;
let net: MemoryNet;
const engines: FileTransfers[] = [];
const fast = { resendMs: 40, resendMaxMs: 400 };

function file(name: string, bytes: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}
const inboxOf = (name: string, from: string) => join(dir, name, 'inbox', from);
const partialsOf = (name: string) => {
  const p = join(dir, name, 'inbox', '.partial');
  return existsSync(p) ? readdirSync(p) : [];
};
function pair(aOpts = {}, bOpts = {}) {
  const a = engineOn(net, A, dir, { ...fast, ...aOpts });
  const b = engineOn(net, B, dir, { ...fast, ...bOpts });
  engines.push(a, b);
  return { a, b };
}

beforeEach(() => {
  dir = tempDir('engine');
  net = new MemoryNet();
});
afterEach(() => {
  for (const e of engines.splice(0)) e.stop();
  removeDir(dir);
});

describe('file transfers between two engines over an in-memory channel', () => {
  it('offers, is approved with the offer details, streams and lands a byte-identical file', async () => {
    const seen: unknown[] = [];
    const { a, b } = pair(
      { chunkBytes: 4096 },
      {
        approve: (o: unknown) => {
          seen.push(o);
          return true;
        },
      },
    );
    const content = randomBytes(300_000);
    const { id } = await a.send(B, file('report.bin', content), { mediaType: 'application/pdf', note: 'Q3' });
    const [sent, got] = await Promise.all([outcome(a, id), outcome(b, id)]);
    expect(sent.kind).toBe('done');
    expect(got.kind).toBe('done');
    expect(got.path).toBe(join(inboxOf(B, A), 'report.bin'));
    expect(readFileSync(got.path!).equals(content)).toBe(true);
    expect(seen).toEqual([
      expect.objectContaining({
        id,
        peer: A,
        name: 'report.bin',
        size: content.length,
        mediaType: 'application/pdf',
        note: 'Q3',
        sha256: createHash('sha256').update(content).digest('hex'),
      }),
    ]);
    expect(partialsOf(B)).toEqual([]);
  });

  it('an empty file lands too', async () => {
    const { a, b } = pair();
    const { id } = await a.send(B, file('empty.txt', Buffer.alloc(0)));
    const got = await outcome(b, id);
    expect(readFileSync(got.path!).length).toBe(0);
  });

  it('never overwrites: a second file of the same name gets " (1)"', async () => {
    const { a, b } = pair();
    const p = file('same.txt', Buffer.from('one'));
    const first = await outcome(b, (await a.send(B, p)).id);
    writeFileSync(p, 'two');
    const second = await outcome(b, (await a.send(B, p)).id);
    expect(first.path).toBe(join(inboxOf(B, A), 'same.txt'));
    expect(second.path).toBe(join(inboxOf(B, A), 'same (1).txt'));
    expect(readFileSync(first.path!, 'utf8')).toBe('one');
    expect(readFileSync(second.path!, 'utf8')).toBe('two');
  });

  it('decline is clean: the sender fails with CLIENT_ERR_FILE_DECLINED and nothing lands', async () => {
    const { a } = pair({}, { approve: () => false });
    const { id } = await a.send(B, file('no.txt', Buffer.from('x')));
    expect(await outcome(a, id)).toEqual({ kind: 'failed', code: 'CLIENT_ERR_FILE_DECLINED' });
    expect(existsSync(inboxOf(B, A))).toBe(false);
  });

  it('a lost DECLINE: the re-sent offer is declined again from memory, the host is asked once', async () => {
    let asked = 0;
    const { a } = pair(
      {},
      {
        approve: () => {
          asked++;
          return false;
        },
      },
    );
    let dropped = 0;
    net.drop = ({ bytes }) => bytes[1] === TransferMessageType.DECLINE && dropped++ < 2;
    const { id } = await a.send(B, file('twice.txt', Buffer.from('x')));
    expect(await outcome(a, id)).toEqual({ kind: 'failed', code: 'CLIENT_ERR_FILE_DECLINED' });
    expect(dropped).toBe(3);
    expect(asked).toBe(1);
  });

  it('a host that never answers: the recipient declines on its approval timeout', async () => {
    const { a, b } = pair({}, { approve: () => new Promise<boolean>(() => {}), approvalTimeoutMs: 100 });
    const { id } = await a.send(B, file('slow.txt', Buffer.from('x')));
    const [sent, got] = await Promise.all([outcome(a, id), outcome(b, id)]);
    expect(sent.code).toBe('CLIENT_ERR_FILE_OFFER_TIMEOUT');
    expect(got.code).toBe('CLIENT_ERR_FILE_OFFER_TIMEOUT');
  });

  it('a recipient that never answers: the sender gives up after its offer timeout', async () => {
    const a = engineOn(net, A, dir, { ...fast, offerTimeoutMs: 200 });
    engines.push(a);
    const { id } = await a.send(B, file('void.txt', Buffer.from('x')));
    expect(await outcome(a, id)).toEqual({ kind: 'failed', code: 'CLIENT_ERR_FILE_OFFER_TIMEOUT' });
    expect(a.sender.list()).toEqual([]);
  });

  it('cancel by the sender mid-transfer: the recipient deletes its partial file', async () => {
    const { a, b } = pair({ chunkBytes: 1024 }, { windowBytes: 4096, budgetBytes: 4096 });
    const { id } = await a.send(B, file('big.bin', randomBytes(2_000_000)));
    await new Promise<void>((resolve) => b.on('progress', (p) => p.bytes > 100_000 && resolve()));
    await a.cancel(B, id, 'out');
    const got = await outcome(b, id);
    expect(got.code).toBe('CLIENT_ERR_FILE_CANCELLED');
    expect(partialsOf(B)).toEqual([]);
    expect(existsSync(inboxOf(B, A))).toBe(false);
  });

  it('cancel by the recipient mid-transfer: the sender stops with CLIENT_ERR_FILE_CANCELLED', async () => {
    const { a, b } = pair({ chunkBytes: 1024 }, { windowBytes: 4096, budgetBytes: 4096 });
    const { id } = await a.send(B, file('big.bin', randomBytes(2_000_000)));
    await new Promise<void>((resolve) => b.on('progress', (p) => p.bytes > 100_000 && resolve()));
    const sent = outcome(a, id);
    await b.cancel(A, id, 'in');
    expect(await sent).toEqual({ kind: 'failed', code: 'CLIENT_ERR_FILE_CANCELLED' });
    expect(partialsOf(B)).toEqual([]);
  });

  it('cancelPeer (trust revoked) ends every transfer with that peer, both directions', async () => {
    const { a, b } = pair({ chunkBytes: 1024 }, { windowBytes: 4096, budgetBytes: 4096 });
    const { id } = await a.send(B, file('r.bin', randomBytes(2_000_000)));
    await new Promise<void>((resolve) => b.on('progress', () => resolve()));
    expect(b.list().incoming.map((t) => t.id)).toEqual([id]);
    const got = outcome(b, id);
    const sent = outcome(a, id);
    await b.cancelPeer(A);
    expect((await got).code).toBe('CLIENT_ERR_FILE_CANCELLED');
    expect((await sent).code).toBe('CLIENT_ERR_FILE_CANCELLED');
    expect(b.list()).toEqual({ incoming: [], outgoing: [] });
    expect(a.list()).toEqual({ incoming: [], outgoing: [] });
  });

  it('a truncated stream is refused: the file shrinks under the sender, both sides end with SOURCE_CHANGED, nothing lands', async () => {
    const { a, b } = pair({ chunkBytes: 1024 }, { windowBytes: 4096, budgetBytes: 4096 });
    const p = file('shrinks.bin', randomBytes(1_000_000));
    const { id } = await a.send(B, p);
    await new Promise<void>((resolve) => b.on('progress', (e) => e.bytes > 50_000 && resolve()));
    truncateSync(p, 100_000);
    const [sent, got] = await Promise.all([outcome(a, id), outcome(b, id)]);
    expect(sent.code).toBe('CLIENT_ERR_FILE_SOURCE_CHANGED');
    expect(got.code).toBe('CLIENT_ERR_FILE_SOURCE_CHANGED');
    expect(partialsOf(B)).toEqual([]);
    expect(existsSync(inboxOf(B, A))).toBe(false);
  });

  it('the inbox quota is a clean CLIENT_ERR_FILE_QUOTA on both sides', async () => {
    const { a, b } = pair({}, { quotaBytes: 10_000 });
    const { id } = await a.send(B, file('q.bin', randomBytes(20_000)));
    const [sent, got] = await Promise.all([outcome(a, id), outcome(b, id)]);
    expect(sent.code).toBe('CLIENT_ERR_FILE_QUOTA');
    expect(got.code).toBe('CLIENT_ERR_FILE_QUOTA');
  });

  it('over the recipient maximum size: CLIENT_ERR_FILE_TOO_LARGE', async () => {
    const { a } = pair({}, { maxFileBytes: 1000 });
    const { id } = await a.send(B, file('l.bin', randomBytes(2000)));
    expect((await outcome(a, id)).code).toBe('CLIENT_ERR_FILE_TOO_LARGE');
  });

  it('survives a lossy, duplicating channel (go-back-N from the last acknowledged chunk)', async () => {
    const { a, b } = pair({ chunkBytes: 2048 }, { windowBytes: 16_384, budgetBytes: 16_384 });
    let n = 0;
    net.drop = ({ bytes }) => bytes[1] === TransferMessageType.CHUNK && ++n % 13 === 0;
    const content = randomBytes(400_000);
    const { id } = await a.send(B, file('lossy.bin', content));
    const got = await outcome(b, id);
    expect(readFileSync(got.path!).equals(content)).toBe(true);
    expect(a.sender.counters.rewinds).toBeGreaterThan(0);
  });

  // ~1,000 one-KiB chunks through an 8 KiB window: many credit round trips, slow on a loaded machine.
  it('the recipient restarting mid-transfer resumes from its durable chunk, not from zero', {
    timeout: 90_000,
  }, async () => {
    const { a, b } = pair({ chunkBytes: 1024 }, { windowBytes: 8192, budgetBytes: 8192 });
    const content = randomBytes(1_000_000);
    const { id } = await a.send(B, file('resume.bin', content));
    // Stop once 300 KB are written and a resume point is on disk; read that point in the same
    // tick as the stop (a flush still running at the stop is not recorded, by design).
    const journal = join(dir, B, 'state', 'files-in.log');
    let durableAtStop = 0;
    let receivedAtStop = 0;
    await new Promise<void>((resolve) =>
      b.on('progress', (p) => {
        if (p.bytes <= 300_000 || !existsSync(journal)) return;
        const marks = readFileSync(journal, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"op":"next"'))
          .map((l) => (JSON.parse(l) as { next: number }).next);
        if (marks.length === 0) return;
        durableAtStop = Math.max(...marks);
        receivedAtStop = p.bytes;
        b.stop();
        resolve();
      }),
    );
    net.engines.delete(B);
    await new Promise((r) => setTimeout(r, 100));
    const b2 = engineOn(net, B, dir, { ...fast, windowBytes: 8192, budgetBytes: 8192 });
    engines.push(b2);
    let firstIndex = -1;
    net.tap = ({ to, bytes }) => {
      if (to === B && firstIndex < 0 && bytes[1] === TransferMessageType.CHUNK) {
        const m = decodeTransferMessage(bytes);
        if (m.type === TransferMessageType.CHUNK) firstIndex = m.index;
      }
    };
    const done = outcome(b2, id);
    await b2.start();
    const got = await done;
    expect(readFileSync(got.path!).equals(content)).toBe(true);
    // Resumed exactly at the last durable mark (made every FILE_PERSIST_EVERY_CHUNKS, in the
    // background beside the writes, so on a loaded machine it can trail what was written), never
    // from zero and never past what was written.
    expect(durableAtStop).toBeGreaterThanOrEqual(FILE_PERSIST_EVERY_CHUNKS);
    expect(firstIndex).toBe(durableAtStop);
    expect(firstIndex * 1024).toBeLessThanOrEqual(receivedAtStop);
  });
});

describe('the recipient facing a hostile or broken sender', () => {
  /** Offer and stream `content` from a raw sender that claims `claimed` as the hash. */
  async function rawSend(
    b: FileTransfers,
    name: string,
    content: Buffer,
    claimed = createHash('sha256').update(content).digest(),
  ) {
    const id = randomBytes(16).toString('hex');
    const chunkSize = 1024;
    const result = outcome(b, id);
    const send = (m: Parameters<typeof encodeTransferMessage>[0]) => b.receive(A, encodeTransferMessage(m));
    let sent = 0;
    net.engines.set(A, {
      receive: (_peer, bytes) => {
        const m = decodeTransferMessage(bytes);
        if (m.type !== TransferMessageType.CREDIT) return;
        for (; sent < m.limit; sent++)
          send({
            type: TransferMessageType.CHUNK,
            id,
            index: sent,
            bytes: content.subarray(sent * chunkSize, (sent + 1) * chunkSize),
          });
      },
    });
    send({
      type: TransferMessageType.OFFER,
      id,
      size: content.length,
      chunkSize,
      sha256: claimed,
      name,
      mediaType: 'text/plain',
      note: '',
    });
    return result;
  }

  it('hash mismatch: refused, the temp file deleted, no file visible, the sender told', async () => {
    const b = engineOn(net, B, dir, fast);
    engines.push(b);
    const told: string[] = [];
    net.tap = ({ bytes }) => {
      const m = decodeTransferMessage(bytes);
      if (m.type === TransferMessageType.FAILED) told.push(m.reason);
    };
    const got = await rawSend(b, 'evil.txt', randomBytes(10_000), randomBytes(32));
    expect(got.code).toBe('CLIENT_ERR_FILE_HASH_MISMATCH');
    expect(existsSync(inboxOf(B, A)) ? readdirSync(inboxOf(B, A)) : []).toEqual([]);
    expect(partialsOf(B)).toEqual([]);
    expect(told).toEqual(['hash-mismatch']);
  });

  it.each([
    ['../../../etc/passwd', 'passwd'],
    ['/absolute/path/x.sh', 'x.sh'],
    ['C:\\Windows\\system32\\cmd.exe', 'cmd.exe'],
    ['..\\..\\boot.ini', 'boot.ini'],
    ['CON', '_CON'],
    ['nul.txt', '_nul.txt'],
    ['.bashrc', 'bashrc'],
    ['a\u0000b\u001fc.txt', 'abc.txt'],
    ['gpj\u202e.exe', 'gpj.exe'],
    ['x'.repeat(250), 'x'.repeat(248)],
  ])('traversal and odd name %j lands inside the peer directory as %j', async (offered, landed) => {
    const b = engineOn(net, B, dir, fast);
    engines.push(b);
    const got = await rawSend(b, offered, Buffer.from('hi'));
    expect(got.kind).toBe('done');
    expect(got.path).toBe(join(inboxOf(B, A), landed));
    expect(readdirSync(inboxOf(B, A))).toEqual([landed]);
  });

  it.each(['..', '.', '...', '/', '\u0000', ' . '])('a name with nothing usable (%j) is declined', async (offered) => {
    const b = engineOn(net, B, dir, fast);
    engines.push(b);
    const got = await rawSend(b, offered, Buffer.from('hi'));
    expect(got.code).toBe('CLIENT_ERR_FILE_BAD_NAME');
  });

  it('a malformed message is dropped with CLIENT_ERR_FILE_BAD_MESSAGE, never thrown', () => {
    const b = engineOn(net, B, dir, fast);
    engines.push(b);
    const rejected: string[] = [];
    b.on('rejected', (r) => rejected.push(r.code));
    b.receive(A, Buffer.from([1, 99, ...randomBytes(16)]));
    b.receive(A, Buffer.from([2]));
    expect(rejected).toEqual(['CLIENT_ERR_FILE_BAD_MESSAGE', 'CLIENT_ERR_FILE_BAD_MESSAGE']);
  });
});
