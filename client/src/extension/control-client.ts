/**
 * The other end of control-server.ts: a CLI command that finds NEXUS_HOME held by a running
 * `p2p-comm listen` connects to its control socket and asks it to do the work.
 */
import { connect, type Socket } from 'node:net';
import { CLIENT_ERRORS, ClientError, type ClientErrorCode } from '../errors.js';
import { CONTROL_CALL_TIMEOUT_MS, CONTROL_MAX_IN_FLIGHT, CONTROL_MAX_LINE_BYTES } from './control-constants.js';
import { readLines } from './line-reader.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: ClientError) => void; timer: NodeJS.Timeout };

export class ControlClient {
  readonly #socket: Socket;
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<(method: string, params: unknown) => void>();
  #nextId = 1;
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('error', () => {}); // reported through 'close' to every pending call
    socket.once('close', () => this.#fail('the listen process closed the control connection'));
    readLines(socket, CONTROL_MAX_LINE_BYTES, {
      onLine: (line) => this.#onLine(line),
      onOversize: () => this.#fail('the listen process sent an answer over the line limit'),
      onEnd: () => this.#fail('the listen process closed the control connection'),
    });
  }

  /**
   * Connects to a listener's control socket; null when none answers there (no socket file, a
   * stale one, or a process that takes no commands).
   */
  static open(path: string, timeoutMs = CONTROL_CALL_TIMEOUT_MS): Promise<ControlClient | null> {
    return new Promise((resolve) => {
      const socket = connect(path);
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(null);
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new ControlClient(socket));
      });
      socket.once('error', () => {
        clearTimeout(timer);
        resolve(null);
      });
    });
  }

  /** `method(params)` on the listener; its error answers come back as the ClientError it threw. */
  call(method: string, params: Record<string, unknown>, timeoutMs = CONTROL_CALL_TIMEOUT_MS): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ClientError('CLIENT_ERR_STOPPED', 'control connection closed'));
    if (this.#pending.size >= CONTROL_MAX_IN_FLIGHT) return Promise.reject(new ClientError('CLIENT_ERR_BUSY'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new ClientError('CLIENT_ERR_TIMEOUT', `the listen process did not answer ${method} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  /** Notifications from the listener (message.delivered, message.failed). */
  onNotification(fn: (method: string, params: unknown) => void): void {
    this.#listeners.add(fn);
  }

  close(): void {
    this.#closed = true;
    this.#socket.end();
    this.#socket.destroy();
  }

  #onLine(line: string): void {
    let msg: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      this.#fail('the listen process answered something that is not JSON');
      return;
    }
    if (typeof msg?.method === 'string') {
      for (const fn of this.#listeners) fn(msg.method, msg.params);
      return;
    }
    if (msg?.id === null && msg.error) {
      this.#failWith(toClientError(msg.error));
      return;
    }
    const pending = typeof msg?.id === 'number' ? this.#pending.get(msg.id) : undefined;
    if (!pending) return;
    this.#pending.delete(msg.id as number);
    clearTimeout(pending.timer);
    if (msg.error !== undefined) pending.reject(toClientError(msg.error));
    else pending.resolve(msg.result);
  }

  #fail(why: string): void {
    this.#failWith(new ClientError('CLIENT_ERR_STOPPED', why));
  }

  #failWith(err: ClientError): void {
    this.#closed = true;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(err);
    }
  }
}

/** A JSON-RPC error object from the listener → the ClientError it stands for. */
export function toClientError(error: unknown): ClientError {
  const e = (error ?? {}) as { message?: unknown; data?: { code?: unknown } & Record<string, unknown> };
  const message = typeof e.message === 'string' ? e.message : 'the listen process refused the command';
  const raw = e.data?.code;
  const code: ClientErrorCode =
    typeof raw === 'string' && Object.hasOwn(CLIENT_ERRORS, raw)
      ? (raw as ClientErrorCode)
      : 'CLIENT_ERR_INVALID_ARGUMENT';
  // The listener's message already starts with the registry text: keep only its detail.
  const prefix = `${CLIENT_ERRORS[code].message}: `;
  const detail = message.startsWith(prefix)
    ? message.slice(prefix.length)
    : message === CLIENT_ERRORS[code].message
      ? undefined
      : message;
  const { code: _drop, ...data } = e.data ?? {};
  return new ClientError(code, detail, Object.keys(data).length > 0 ? data : undefined);
}
