/**
 * The implementation under test, spoken to over the stdio interface v1 (docs/conformance.md):
 * JSON lines both ways; requests carry an id and get exactly one response; events arrive
 * unsolicited and are kept in order so steps can wait for them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventLog } from './event-log.js';
import { StepFailure } from './step-failure.js';

/** The interface version this runner speaks (the peer's first line must name it). */
export const INTERFACE_VERSION = 1;
/** Longest stdout line accepted from the peer, bytes (the interface's limit). */
export const MAX_LINE_BYTES = 1024 * 1024;
/** stderr kept to show on failure, bytes (the tail). */
export const STDERR_TAIL_BYTES = 16 * 1024;

export type PeerResponse = { ok: true; [k: string]: unknown } | { ok: false; code: string; message?: string };

export class PeerProcess {
  readonly #child: ChildProcess;
  readonly log = new EventLog();
  readonly #waiting = new Map<number, (r: PeerResponse) => void>();
  #quitting = false;
  #nextId = 1;
  #stdout = '';
  #stderr = '';
  exited: { code: number | null; signal: string | null } | null = null;

  constructor(command: string, env: NodeJS.ProcessEnv = process.env) {
    this.#child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.#child.stdout!.setEncoding('utf8');
    this.#child.stdout!.on('data', (chunk: string) => this.#onStdout(chunk));
    this.#child.stderr!.setEncoding('utf8');
    this.#child.stderr!.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    this.#child.stdin!.on('error', () => {
      // The peer exited: the pending request fails on 'exit' below.
    });
    this.#child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const [, resolve] of this.#waiting)
        resolve({ ok: false, code: 'CONFORMANCE_PEER_EXITED', message: `exit ${code ?? signal}` });
      this.#waiting.clear();
      if (!this.#quitting) this.log.kill(`the peer exited (${code ?? signal})`);
    });
  }

  get stderrTail(): string {
    return this.#stderr;
  }

  /** Wait for `{"event":"ready","interface":1}`. */
  async ready(timeoutMs: number): Promise<void> {
    const ev = await this.log.wait((e) => e.event === 'ready', timeoutMs, 'the peer\'s "ready" line');
    if (ev.interface !== INTERFACE_VERSION)
      throw new StepFailure(
        `the peer speaks interface ${JSON.stringify(ev.interface)}, this runner ${INTERFACE_VERSION}`,
      );
  }

  /** Send one request; resolves with its response or fails naming `step` after timeoutMs. */
  request(op: string, args: Record<string, unknown>, timeoutMs: number, step: string): Promise<PeerResponse> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new StepFailure(`${step}: no response to "${op}" (id ${id}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      if (this.exited) {
        // The exit handler already ran: no answer will come.
        this.#waiting.delete(id);
        clearTimeout(timer);
        resolve({
          ok: false,
          code: 'CONFORMANCE_PEER_EXITED',
          message: `exit ${this.exited.code ?? this.exited.signal}`,
        });
        return;
      }
      this.#child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    }).then((r) => r as PeerResponse);
  }

  /** Ask the peer to quit, then make sure it is gone (SIGKILL after graceMs). */
  async stop(graceMs: number): Promise<void> {
    this.#quitting = true;
    if (!this.exited) {
      try {
        this.#child.stdin!.write(`${JSON.stringify({ id: this.#nextId++, op: 'quit' })}\n`);
        this.#child.stdin!.end();
      } catch {
        // already gone
      }
    }
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#child.kill('SIGKILL');
      }, graceMs);
      this.#child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      if (this.exited) {
        clearTimeout(t);
        resolve();
      }
    });
  }

  #onStdout(chunk: string): void {
    this.#stdout += chunk;
    let nl = this.#stdout.indexOf('\n');
    while (nl >= 0) {
      const line = this.#stdout.slice(0, nl).trim();
      this.#stdout = this.#stdout.slice(nl + 1);
      if (line.length > 0) this.#onLine(line);
      nl = this.#stdout.indexOf('\n');
    }
    if (Buffer.byteLength(this.#stdout) > MAX_LINE_BYTES) {
      this.#broke(`a stdout line longer than ${MAX_LINE_BYTES} bytes`);
      this.#stdout = '';
    }
  }

  #broke(why: string): void {
    if (!this.#quitting) this.log.kill(`the peer broke the interface: ${why}`);
  }

  #onLine(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      this.#broke(`stdout line is not JSON: ${line.slice(0, 200)}`);
      return;
    }
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.#broke(`stdout line is not a JSON object: ${line.slice(0, 200)}`);
      return;
    }
    const o = msg as Record<string, unknown>;
    if (typeof o.event === 'string') {
      this.log.push({ ...o, event: o.event });
      return;
    }
    if (typeof o.id === 'number' && typeof o.ok === 'boolean') {
      const resolve = this.#waiting.get(o.id);
      if (!resolve) {
        this.#broke(`a response to no pending request (id ${o.id})`);
        return;
      }
      this.#waiting.delete(o.id);
      resolve(
        o.ok
          ? ({ ...o, ok: true } as PeerResponse)
          : {
              ok: false,
              code: typeof o.code === 'string' ? o.code : '(no code)',
              ...(typeof o.message === 'string' ? { message: o.message } : {}),
            },
      );
      return;
    }
    this.#broke(`stdout line is neither an event nor a response: ${line.slice(0, 200)}`);
  }
}
