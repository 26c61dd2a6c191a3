import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const TSX_LOADER = import.meta.resolve('tsx');
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface RpcMessage {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: unknown;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** Spawn the CLI (TypeScript sources via tsx) as a real child process. */
export function spawnCli(args: string[], env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--conditions=source', '--import', TSX_LOADER, CLI_MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * One `p2p-comm extension` child process spoken to over its stdin/stdout, as a Nexus host
 * would: requests get answers by id; notifications are collected in order.
 */
export class ExtensionProcess {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly notifications: RpcMessage[] = [];
  readonly responses: RpcMessage[] = [];
  stderr = '';
  #nextId = 1;
  #buffer = '';
  #waiters = new Map<string | number, (m: RpcMessage) => void>();
  #listeners: Array<(m: RpcMessage) => void> = [];
  readonly exited: Promise<number | null>;

  constructor(home: string, server: string | null, extraArgs: string[] = [], extraEnv: Record<string, string> = {}) {
    this.proc = spawnCli(['extension', ...extraArgs], {
      NEXUS_HOME: home,
      ...(server ? { P2P_COMM_SERVER: server } : {}),
      ...extraEnv,
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl = this.#buffer.indexOf('\n');
      while (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line.trim()) this.#onMessage(JSON.parse(line) as RpcMessage);
        nl = this.#buffer.indexOf('\n');
      }
    });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => {
      this.stderr += d;
    });
  }

  #onMessage(m: RpcMessage): void {
    if (m.method) this.notifications.push(m);
    else {
      this.responses.push(m);
      if (m.id !== undefined && m.id !== null) {
        const w = this.#waiters.get(m.id);
        this.#waiters.delete(m.id);
        w?.(m);
      }
    }
    for (const l of [...this.#listeners]) l(m);
  }

  /** Write a raw line (for malformed-input tests). */
  writeLine(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  /** Call a method; resolves with the whole response (result or error). */
  request(method: string, params?: unknown, timeoutMs = 15_000): Promise<RpcMessage> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${method} timed out; stderr: ${this.stderr}`)), timeoutMs);
      this.#waiters.set(id, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      this.proc.stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`,
      );
    });
  }

  /** Call and return the result; throws with the error's data.code on an error. */
  async call<T = Record<string, unknown>>(method: string, params?: unknown): Promise<T> {
    const r = await this.request(method, params);
    if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.data?.code ?? r.error.code });
    return r.result as T;
  }

  /** Wait for the first notification (already seen or future) matching. */
  waitNotification(
    method: string,
    pred: (p: Record<string, unknown>) => boolean = () => true,
    timeoutMs = 15_000,
    fromIndex = 0,
  ) {
    const seen = this.notifications.slice(fromIndex).find((n) => n.method === method && pred(n.params ?? {}));
    if (seen) return Promise.resolve(seen.params ?? {});
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const t = setTimeout(() => {
        this.#listeners = this.#listeners.filter((l) => l !== listener);
        reject(new Error(`no ${method} notification in ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      const listener = (m: RpcMessage) => {
        if (m.method === method && pred(m.params ?? {})) {
          clearTimeout(t);
          this.#listeners = this.#listeners.filter((l) => l !== listener);
          resolve(m.params ?? {});
        }
      };
      this.#listeners.push(listener);
    });
  }

  received(): Array<Record<string, unknown>> {
    return this.notifications.filter((n) => n.method === 'message.received').map((n) => n.params ?? {});
  }

  async waitConnected(timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const s = await this.call<{ server: { state: string } | null }>('status');
      if (s.server?.state === 'connected') return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`extension not connected to the server; stderr: ${this.stderr}`);
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
    return this.exited;
  }
}

/**
 * Name both "Alice" and "Bob", wait for their server connections, and make them trust each
 * other: Alice asks with Bob's share, Bob accepts. Returns Bob's key.
 */
export async function befriendExtensions(alice: ExtensionProcess, bob: ExtensionProcess): Promise<string> {
  await alice.call('identity.setName', { name: 'Alice' });
  await bob.call('identity.setName', { name: 'Bob' });
  await Promise.all([alice.waitConnected(), bob.waitConnected()]);
  const bobId = await bob.call<{ key: string; share: string }>('identity.get');
  await alice.call('peers.connect', { share: bobId.share });
  const req = await bob.waitNotification('consent.request');
  await bob.call('consent.respond', { requestId: req.requestId, accept: true });
  await alice.waitNotification('peer.status', (p) => p.key === bobId.key && p.state === 'trusted');
  return bobId.key;
}
