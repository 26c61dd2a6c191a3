/**
 * JSON-RPC 2.0 over a pair of byte streams, one JSON message per line (the extension's stdio).
 * Framing is separate from the process so tests can feed raw lines. A line that is too long or
 * not JSON-RPC is dropped and reported (HOST_ERR_RPC_PROTOCOL); it never throws out of here.
 */
import type { Readable, Writable } from 'node:stream';
import { MAX_RPC_LINE_BYTES, MAX_RPC_PENDING, RPC_TIMEOUT_MS } from '../constants.js';
import { HostError } from '../errors.js';

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
  timeoutMs?: number;
  maxLineBytes?: number;
  maxPending?: number;
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
  private buffer = '';
  private closed = false;
  private readonly opts: Required<Omit<JsonRpcConnectionOptions, 'onRequest'>> & { onRequest?: RpcRequestHandler };

  constructor(opts: JsonRpcConnectionOptions) {
    this.opts = {
      timeoutMs: RPC_TIMEOUT_MS,
      maxLineBytes: MAX_RPC_LINE_BYTES,
      maxPending: MAX_RPC_PENDING,
      onProtocolError: () => {},
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
    this.buffer += chunk;
    let nl = this.buffer.indexOf('\n');
    while (nl !== -1) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.trim() !== '') this.onLine(line);
      nl = this.buffer.indexOf('\n');
    }
    if (Buffer.byteLength(this.buffer) > this.opts.maxLineBytes) {
      this.buffer = '';
      this.opts.onProtocolError('line too long; dropped');
      // The rest of this oversized line is skipped up to its newline.
      this.skipping = true;
    }
  }

  private skipping = false;

  private onLine(line: string): void {
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    if (Buffer.byteLength(line) > this.opts.maxLineBytes) {
      this.opts.onProtocolError('line too long; dropped');
      return;
    }
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
