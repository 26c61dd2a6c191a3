import { connect, createServer, type Socket } from 'node:net';
import type { TransferChannel } from '../../../src/files/channel.js';
import { MAX_TRANSFER_MESSAGE_BYTES } from '../../../src/files/wire.js';

/**
 * Transfer messages over a TCP byte stream: u32 big-endian length ‖ message. Frames longer
 * than MAX_TRANSFER_MESSAGE_BYTES end the connection (a bounded reader, like every parser
 * here). Used by the loopback tests and the benchmark, where a socket stands in for a session.
 */
export class FrameReader {
  /** Received bytes not yet framed; at most one frame plus one socket read. */
  readonly #pieces: Buffer[] = [];
  #length = 0;

  constructor(private readonly onFrame: (frame: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.#pieces.push(chunk);
    this.#length += chunk.length;
    while (this.#length >= 4) {
      const len = this.#peekLength();
      if (len > MAX_TRANSFER_MESSAGE_BYTES) throw new RangeError(`frame of ${len} bytes`);
      if (this.#length < 4 + len) return;
      this.#take(4);
      this.onFrame(this.#take(len));
    }
  }

  #peekLength(): number {
    const first = this.#pieces[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    return Buffer.concat(this.#pieces).readUInt32BE(0);
  }

  /** The next `n` bytes: a view when they lie in one piece (the common case), else one copy. */
  #take(n: number): Buffer {
    this.#length -= n;
    const first = this.#pieces[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.#pieces.shift();
      else this.#pieces[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const p = this.#pieces[0]!;
      const k = Math.min(p.length, n - at);
      p.copy(out, at, 0, k);
      at += k;
      if (k === p.length) this.#pieces.shift();
      else this.#pieces[0] = p.subarray(k);
    }
    return out;
  }
}

export function writeFrame(socket: Socket, message: Uint8Array): boolean {
  if (socket.destroyed) return false;
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(message.length);
  socket.cork();
  socket.write(len);
  socket.write(message);
  socket.uncork();
  return true;
}

/** A connected pair of loopback sockets. */
export async function socketPair(): Promise<{ a: Socket; b: Socket; close: () => void }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const a = connect(port, '127.0.0.1');
  await new Promise<void>((r) => a.once('connect', () => r()));
  const b = await accepted;
  server.close();
  a.setNoDelay(true);
  b.setNoDelay(true);
  return {
    a,
    b,
    close: () => {
      a.destroy();
      b.destroy();
    },
  };
}

/** The channel of one side of a socket: every message goes to the one peer at the other end. */
export function socketChannel(socket: Socket): TransferChannel {
  return { send: (_peer, message) => writeFrame(socket, message) };
}

/** Hand each frame arriving on `socket` to `receive(peer, frame)`. */
export function pipeFrames(socket: Socket, peer: string, receive: (peer: string, m: Uint8Array) => void): void {
  const reader = new FrameReader((f) => receive(peer, f));
  // A peer killed mid-transfer resets the connection: that is the scenario, not an error.
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    try {
      reader.push(chunk);
    } catch {
      socket.destroy();
    }
  });
}
