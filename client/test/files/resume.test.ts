import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTransfers } from '../../src/files/engine.js';
import { decodeTransferMessage, TransferMessageType } from '../../src/files/wire.js';
import { outcome, peerName, removeDir, tempDir } from './helpers/memory-net.js';
import { pipeFrames, writeFrame } from './helpers/tcp-link.js';

const TSX = import.meta.resolve('tsx');
const CHILD = new URL('./fixtures/sender-process.ts', import.meta.url).pathname;
const A = peerName(1);
const B = peerName(2);
const CHUNK = 4096;

let dir: string;
let server: Server;
const children: ChildProcess[] = [];
beforeEach(() => {
  dir = tempDir('resume');
});
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  server?.close();
  removeDir(dir);
});

function startSender(port: number, args: string[]): { child: ChildProcess; events: Array<Record<string, unknown>> } {
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', TSX, CHILD, String(port), join(dir, 'a'), B, ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const events: Array<Record<string, unknown>> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => events.push(JSON.parse(l)));
  return { child, events };
}

describe('resume after the sender process is killed mid-transfer', () => {
  it('the restarted sender continues from the last acknowledged chunk, and the file lands byte-identical', async () => {
    const content = randomBytes(8 * 1024 * 1024);
    const src = join(dir, 'payload.bin');
    writeFileSync(src, content);

    // The recipient lives in this process, behind a TCP server the sender (re)connects to.
    let current: Socket | null = null;
    const chunkIndices: number[] = [];
    let connections = 0;
    const receiver = new FileTransfers({
      channel: { send: (_peer, m) => (current ? writeFrame(current, m) : false) },
      stateDir: join(dir, 'b'),
      inboxDir: join(dir, 'b-inbox'),
      approve: () => true,
      windowBytes: 16 * CHUNK,
      budgetBytes: 16 * CHUNK,
      resendMs: 100,
    });
    server = createServer((socket) => {
      connections++;
      current = socket;
      socket.setNoDelay(true);
      const mark = connections;
      pipeFrames(socket, A, (peer, m) => {
        const msg = decodeTransferMessage(m);
        if (msg.type === TransferMessageType.CHUNK) chunkIndices.push(mark === 1 ? msg.index : -1 - msg.index);
        receiver.receive(peer, m);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;

    const first = startSender(port, ['send', src]);
    let bytesAtKill = 0;
    await new Promise<void>((resolve) => {
      const onProgress = (p: { bytes: number }) => {
        if (p.bytes < content.length * 0.4) return;
        receiver.off('progress', onProgress);
        first.child.kill('SIGKILL');
        resolve();
      };
      receiver.on('progress', onProgress);
    });
    await new Promise((r) => first.child.once('exit', r));
    await new Promise((r) => setTimeout(r, 200)); // let queued writes finish
    const id = first.events.find((e) => e.event === 'offered')!.id as string;
    bytesAtKill = receiver.receiver.list().find((t) => t.id === id)!.bytes;
    expect(bytesAtKill).toBeGreaterThan(0);
    expect(bytesAtKill).toBeLessThan(content.length);

    const landed = outcome(receiver, id);
    const second = startSender(port, ['restore']);
    const got = await landed;
    expect(got.kind).toBe('done');
    expect(readFileSync(got.path!).equals(content)).toBe(true);
    await new Promise((r) => second.child.once('exit', r));
    expect(second.events).toContainEqual({ event: 'restored', ids: [id] });
    expect(second.events).toContainEqual({ event: 'done', id });

    // After the restart, the first chunk sent is where the recipient was, not chunk 0.
    const afterRestart = chunkIndices.filter((i) => i < 0).map((i) => -1 - i);
    console.log(
      `killed at ${(bytesAtKill / 1024).toFixed(0)} KiB received; the restarted sender began at chunk ${afterRestart[0]} (${((afterRestart[0]! * CHUNK) / 1024).toFixed(0)} KiB); chunks resent: ${afterRestart.length - (content.length / CHUNK - bytesAtKill / CHUNK)}`,
    );
    expect(afterRestart[0]! * CHUNK).toBe(bytesAtKill);
    receiver.stop();
  }, 60_000);
});
