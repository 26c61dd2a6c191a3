/**
 * JSON-RPC 2.0 over a pair of byte streams, one JSON message per line (the extension's stdio).
 * Framing is separate from the process so tests can feed raw lines. A line that is not JSON-RPC
 * is dropped and reported (HOST_ERR_RPC_PROTOCOL); it never throws out of here. A line longer
 * than `maxLineBytes` is never held whole: it is skipped up to its newline, counted
 * (`linesDropped`) and reported once with its length so far and the method and id read from
 * its first bytes (onLineDropped). A notification cannot be answered, so the extension is not
 * told: the host's limit is derived from the same message maximum it gives the extension
 * (message-limits.ts), so only an extension that breaks that limit can cause a drop.
 */
import type { Readable, Writable } from 'node:stream';
import { MAX_RPC_PENDING, RPC_TIMEOUT_MS } from '../constants.js';
import { HostError } from '../errors.js';
import { DEFAULT_MESSAGE_LIMITS } from '../message-limits.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface RpcNotification {
  method: string;
  params: JsonObject;
}

/** Handles a request the extension makes to the host; resolve with the result or throw. */
export type RpcRequestHandler = (method: string, params: JsonObject) => Promise<JsonValue>;

export interface JsonRpcConnectionOptions {
  input: Readable;
  output: Writable;
  onNotification: (n: RpcNotification) => void;
  onRequest?: RpcRequestHandler;
  onProtocolError?: (detail: string) => void;
  /** A line over maxLineBytes was skipped (reported once per line, when it passes the limit). */
  onLineDropped?: (info: DroppedLine) => void;
  timeoutMs?: number;
  maxLineBytes?: number;
  maxPending?: number;
}

/** What is known of a line too long to read: its length so far and what its first bytes name. */
export interface DroppedLine {
  /** Bytes read of the line when it passed the limit (at least maxLineBytes + 1). */
  bytes: number;
  maxLineBytes: number;
  /** `method` of the line, if its first bytes name one. */
  method?: string;
  /** The first `"id":"…"` in its first bytes: for `message.received` the message id. */
  id?: string;
}

/** Characters of a too-long line kept to read its method and id from. */
const DROPPED_LINE_HEAD_CHARS = 1_024;

function describeDropped(head: string, bytes: number, maxLineBytes: number): DroppedLine {
  const info: DroppedLine = { bytes, maxLineBytes };
  const method = /"method"\s*:\s*"([A-Za-z0-9._-]{1,64})"/.exec(head)?.[1];
  if (method) info.method = method;
  const id = /"id"\s*:\s*"([A-Za-z0-9_-]{1,128})"/.exec(head)?.[1];
  if (id) info.id = id;
  return info;
}

interface Pending {
  resolve: (v: JsonValue) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** The JSON-RPC error the extension returned, with its code and (extension) data. */
export class RpcRemoteError extends Error {
  constructor(
    readonly rpcCode: number,
    message: string,
    readonly data: JsonValue | undefined,
  ) {
    super(message);
    this.name = 'RpcRemoteError';
  }
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class JsonRpcConnection {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Pieces of the line being read, and their bytes (kept as a sum: no rescans of the buffer). */
  private pieces: string[] = [];
  private pieceBytes = 0;
  /** Inside a line over maxLineBytes: everything up to its newline is skipped. */
  private skipping = false;
  private closed = false;
  /** Lines over maxLineBytes skipped since start. */
  linesDropped = 0;
  private readonly opts: Required<Omit<JsonRpcConnectionOptions, 'onRequest'>> & { onRequest?: RpcRequestHandler };

  constructor(opts: JsonRpcConnectionOptions) {
    this.opts = {
      timeoutMs: RPC_TIMEOUT_MS,
      maxLineBytes: DEFAULT_MESSAGE_LIMITS.rpcLineBytes,
      maxPending: MAX_RPC_PENDING,
      onProtocolError: () => {},
      onLineDropped: () => {},
      ...opts,
    };
    opts.input.setEncoding('utf8');
    opts.input.on('data', (chunk: string) => this.onData(chunk));
    opts.input.on('end', () => this.close('extension output ended'));
    opts.input.on('error', () => this.close('extension output failed'));
    opts.output.on('error', () => this.close('extension input failed'));
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  request(method: string, params: JsonObject = {}): Promise<JsonValue> {
    if (this.closed) return Promise.reject(new HostError('HOST_ERR_EXTENSION_UNAVAILABLE'));
    if (this.pending.size >= this.opts.maxPending) {
      return Promise.reject(new HostError('HOST_ERR_EXTENSION_UNAVAILABLE', 'too many requests in flight'));
    }
    const id = this.nextId++;
    return new Promise<JsonValue>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HostError('HOST_ERR_EXTENSION_TIMEOUT', method));
      }, this.opts.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.write({ jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string, params: JsonObject = {}): void {
    if (!this.closed) this.write({ jsonrpc: '2.0', method, params });
  }

  /** Rejects everything in flight; later calls fail with HOST_ERR_EXTENSION_UNAVAILABLE. */
  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new HostError('HOST_ERR_EXTENSION_UNAVAILABLE', reason));
      this.pending.delete(id);
    }
  }

  private write(msg: JsonObject): void {
    this.opts.output.write(`${JSON.stringify(msg)}\n`);
  }

  private onData(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      const piece = nl === -1 ? chunk.slice(start) : chunk.slice(start, nl);
      if (!this.skipping) {
        this.pieceBytes += Buffer.byteLength(piece);
        if (this.pieceBytes > this.opts.maxLineBytes) this.dropLine(piece);
        else if (piece !== '') this.pieces.push(piece);
      }
      if (nl === -1) return;
      if (this.skipping) this.skipping = false;
      else {
        const line = this.pieces.join('');
        this.pieces = [];
        this.pieceBytes = 0;
        if (line.trim() !== '') this.onLine(line);
      }
      start = nl + 1;
    }
  }

  /** The line being read passed the limit: report it once, free what was held, skip the rest. */
  private dropLine(lastPiece: string): void {
    let head = '';
    for (const p of [...this.pieces, lastPiece]) {
      head += p.slice(0, DROPPED_LINE_HEAD_CHARS - head.length);
      if (head.length >= DROPPED_LINE_HEAD_CHARS) break;
    }
    const info = describeDropped(head, this.pieceBytes, this.opts.maxLineBytes);
    this.pieces = [];
    this.pieceBytes = 0;
    this.skipping = true;
    this.linesDropped++;
    this.opts.onLineDropped(info);
    this.opts.onProtocolError(
      `line over ${info.maxLineBytes} bytes dropped${info.method ? ` (${info.method}${info.id ? ` ${info.id}` : ''})` : ''}`,
    );
  }

  private onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.opts.onProtocolError('line is not JSON');
      return;
    }
    if (!isObject(msg) || msg.jsonrpc !== '2.0') {
      this.opts.onProtocolError('not a JSON-RPC 2.0 message');
      return;
    }
    const { id, method } = msg;
    if (typeof method === 'string') {
      const params = isObject(msg.params) ? msg.params : {};
      if (id === undefined || id === null) {
        this.opts.onNotification({ method, params });
      } else if (typeof id === 'number' || typeof id === 'string') {
        void this.answer(id, method, params);
      } else {
        this.opts.onProtocolError('bad request id');
      }
      return;
    }
    if (typeof id !== 'number') {
      this.opts.onProtocolError('response with unknown id');
      return;
    }
    const p = this.pending.get(id);
    if (!p) {
      this.opts.onProtocolError('response with unknown id');
      return;
    }
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (isObject(msg.error)) {
      const code = typeof msg.error.code === 'number' ? msg.error.code : -32603;
      const message = typeof msg.error.message === 'string' ? msg.error.message : 'error';
      p.reject(new RpcRemoteError(code, message, msg.error.data));
    } else {
      p.resolve(msg.result === undefined ? null : msg.result);
    }
  }

  private async answer(id: number | string, method: string, params: JsonObject): Promise<void> {
    const handler = this.opts.onRequest;
    if (!handler) {
      this.write({ jsonrpc: '2.0', id, error: { code: -32601, message: 'method not found' } });
      return;
    }
    try {
      const result = await handler(method, params);
      if (!this.closed) this.write({ jsonrpc: '2.0', id, result });
    } catch (err) {
      const message = err instanceof Error ? err.message : 'error';
      if (!this.closed) this.write({ jsonrpc: '2.0', id, error: { code: -32000, message } });
    }
  }
}
