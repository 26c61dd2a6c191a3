/**
 * A lean WebSocket client over a raw TCP socket: HTTP/1.1 upgrade, then pre-built masked
 * frames queued per tick and written as one buffer, so a burst of sends costs one write. The generator needs
 * this to stay well below the cost of the server it measures on a shared two-core machine.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { HANDSHAKE_TIMEOUT_MS, MAX_EARLY_MESSAGES, MAX_HANDSHAKE_RESPONSE_BYTES } from '../constants.js';
import { LoadtestError } from '../errors.js';
import { buildClientFrame, type MessageHandler, newMask, Opcode, ServerFrameParser } from './frame.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface RawWsOptions {
  host: string;
  port: number;
  path: string;
  /** Local source address in 127.0.0.0/8, to spread peers over addresses. */
  localAddress?: string;
}

/** Connections with frames queued in the current tick; flushed together on the next tick. */
const dirty = new Set<RawWs>();
let flushScheduled = false;
function flushAll(): void {
  flushScheduled = false;
  for (const ws of dirty) ws.flush();
  dirty.clear();
}

export class RawWs {
  readonly mask = newMask();
  #onMessage: MessageHandler | null = null;
  /** Messages that arrive before a handler is set (e.g. in the same read as the 101). */
  #early: Array<[number, Buffer]> = [];
  onClose: (reason: string) => void = () => {};
  #closed = false;
  /** Frames queued this tick, written as one buffer (one syscall, one stream write). */
  #pending: Buffer[] = [];

  private constructor(private readonly socket: Socket) {}

  /** Open and upgrade. Resolves once the server answered 101; frames after it are parsed. */
  static open(opts: RawWsOptions): Promise<RawWs> {
    return new Promise((resolve, reject) => {
      const key = randomBytes(16).toString('base64');
      const expectAccept = createHash('sha1')
        .update(key + WS_GUID)
        .digest('base64');
      const socket = connect({ host: opts.host, port: opts.port, localAddress: opts.localAddress, noDelay: true });
      let head = Buffer.alloc(0);
      let ws: RawWs | null = null;
      const timer = setTimeout(() => fail('timed out'), HANDSHAKE_TIMEOUT_MS);
      const fail = (why: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new LoadtestError('LOAD_ERR_HANDSHAKE', `${opts.host}:${opts.port}${opts.path}: ${why}`));
      };
      socket.once('error', (e) => fail(e.message));
      socket.once('connect', () => {
        socket.write(
          `GET ${opts.path} HTTP/1.1\r\nHost: ${opts.host}:${opts.port}\r\nUpgrade: websocket\r\n` +
            `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      const onHead = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > MAX_HANDSHAKE_RESPONSE_BYTES) fail('oversized upgrade response');
          return;
        }
        socket.off('data', onHead);
        const text = head.subarray(0, end).toString('latin1');
        const status = text.slice(0, text.indexOf('\r\n'));
        if (!/^HTTP\/1\.1 101/.test(status)) return fail(status);
        const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(text)?.[1];
        if (accept !== expectAccept) return fail('bad Sec-WebSocket-Accept');
        clearTimeout(timer);
        socket.removeAllListeners('error');
        const parser = new ServerFrameParser((op, payload) => ws!.dispatch(op, payload));
        ws = new RawWs(socket);
        socket.on('data', (c: Buffer) => {
          try {
            parser.push(c);
          } catch (e) {
            ws!.close(e instanceof Error ? e.message : String(e));
          }
        });
        socket.on('error', (e) => ws!.closed(e.message));
        socket.on('close', () => ws!.closed('socket closed'));
        resolve(ws);
        const rest = head.subarray(end + 4);
        if (rest.length > 0) parser.push(Buffer.from(rest));
      };
      socket.on('data', onHead);
    });
  }

  /** Set the message handler; messages that arrived before it are replayed to it first. */
  set onMessage(handler: MessageHandler) {
    this.#onMessage = handler;
    const early = this.#early;
    this.#early = [];
    for (const [op, payload] of early) handler(op, payload);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  private dispatch(opcode: number, payload: Buffer): void {
    if (opcode === Opcode.PING) this.send(buildClientFrame(Opcode.PONG, payload, this.mask).bytes);
    else if (opcode === Opcode.CLOSE) this.closed(`close frame ${payload.length >= 2 ? payload.readUInt16BE(0) : ''}`);
    else if (opcode !== Opcode.PONG) {
      if (this.#onMessage) this.#onMessage(opcode, payload);
      else if (this.#early.length < MAX_EARLY_MESSAGES) this.#early.push([opcode, Buffer.from(payload)]);
      else this.close('too many messages before a handler was set');
    }
  }

  private closed(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.socket.destroy();
    this.onClose(reason);
  }

  /** Queue a complete frame; frames queued in one tick go out in one write. */
  send(frame: Buffer): void {
    if (this.#closed) return;
    this.#pending.push(frame);
    if (this.#pending.length === 1) {
      dirty.add(this);
      if (!flushScheduled) {
        flushScheduled = true;
        process.nextTick(flushAll);
      }
    }
  }

  /** Write what send() queued. Called once per tick by the scheduler. */
  flush(): void {
    const p = this.#pending;
    if (p.length === 0 || this.#closed) return;
    this.#pending = [];
    this.socket.write(p.length === 1 ? p[0]! : Buffer.concat(p));
  }

  /** Bytes queued in user space (backpressure signal). */
  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  close(reason = 'closed by generator'): void {
    if (this.#closed) return;
    try {
      this.socket.write(buildClientFrame(Opcode.CLOSE, Buffer.from([0x03, 0xe8]), this.mask).bytes);
      this.socket.end();
    } catch {
      // socket already gone
    }
    this.#closed = true;
    this.onClose(reason);
    setTimeout(() => this.socket.destroy(), 200).unref();
  }
}
