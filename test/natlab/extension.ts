/**
 * Drives a real p2p-comm extension process on a lab host over its JSON-RPC 2.0 stdio interface
 * (docs/extension-rpc.md): requests with ids, notifications collected for assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lab, LabNode } from './lab.js';
import type { LabProcess } from './process.js';
import { spawnTs } from './services.js';

export const EXTENSION_BIN = 'client/bin/p2p-comm.js';
/** The subcommand that serves JSON-RPC on stdio. */
export const EXTENSION_ARGS: readonly string[] = ['extension'];
/** Longest wait for one JSON-RPC answer (ms). */
export const RPC_TIMEOUT_MS = 15_000;
/** Notifications kept per extension for assertions; a scenario sends at most a few thousand. */
export const MAX_KEPT_NOTIFICATIONS = 20_000;

export interface Notification {
  readonly method: string;
  readonly params: Record<string, unknown>;
  /** performance.now() when it arrived. */
  readonly at: number;
}

export interface ExtensionOptions {
  server: string;
  /** Extra environment (listener, mDNS, … as the extension documents them). */
  env?: Record<string, string>;
  name: string;
  /** Run this file instead of the `p2p-comm extension` command (path from the repository root). */
  entry?: { file: string; args: readonly string[] };
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class Extension {
  readonly home: string;
  readonly process: LabProcess;
  readonly node: LabNode;
  readonly name: string;
  readonly notifications: Notification[] = [];
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private waiters: Array<() => void> = [];

  constructor(lab: Lab, node: LabNode, opts: ExtensionOptions) {
    this.node = node;
    this.name = opts.name;
    this.home = mkdtempSync(join(tmpdir(), `p2pnl-home-${opts.name}-`));
    this.process = spawnTs(lab, node, opts.entry?.file ?? EXTENSION_BIN, opts.entry?.args ?? EXTENSION_ARGS, {
      label: `extension ${opts.name} on ${node.name}`,
      env: { NEXUS_HOME: this.home, P2P_COMM_SERVER: opts.server, ...opts.env },
    });
    this.process.onLine((line) => this.onLine(line));
    void this.process.exited.then(() => {
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new Error(`extension ${this.name} exited:\n${this.process.describe()}`));
      }
      this.pending.clear();
      rmSync(this.home, { recursive: true, force: true });
    });
  }

  private onLine(line: string): void {
    let msg: { id?: number; result?: unknown; error?: { message?: string }; method?: string; params?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // not ours (a stray log line); the extension logs to stderr
    }
    if (typeof msg.id === 'number' && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id)!;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new Error(`${this.name}: ${JSON.stringify(msg.error)}`));
      else p.resolve(msg.result);
      return;
    }
    if (typeof msg.method === 'string') {
      if (this.notifications.length >= MAX_KEPT_NOTIFICATIONS) this.notifications.shift();
      const params = (typeof msg.params === 'object' && msg.params !== null ? msg.params : {}) as Record<
        string,
        unknown
      >;
      this.notifications.push({ method: msg.method, params, at: performance.now() });
      for (const w of this.waiters.splice(0)) w();
    }
  }

  request<T = unknown>(method: string, params?: unknown, timeoutMs = RPC_TIMEOUT_MS): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${this.name}: ${method} got no answer in ${timeoutMs} ms\n${this.process.describe()}`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.process.write(
        `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`,
      );
    });
  }

  /** Resolve when `check` returns a value (re-checked on every notification and every 250 ms). */
  waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const attempt = async (): Promise<void> => {
        if (done) return;
        try {
          const v = await check();
          if (v !== undefined && !done) {
            done = true;
            clearInterval(poll);
            clearTimeout(timer);
            resolve(v);
            return;
          }
        } catch (err) {
          if (!done) {
            done = true;
            clearInterval(poll);
            clearTimeout(timer);
            reject(err as Error);
            return;
          }
        }
        if (!done) this.waiters.push(() => void attempt());
      };
      const poll = setInterval(() => void attempt(), 250);
      const timer = setTimeout(() => {
        done = true;
        clearInterval(poll);
        reject(new Error(`${this.name}: ${what} not seen within ${timeoutMs} ms\n${this.process.describe()}`));
      }, timeoutMs);
      void attempt();
    });
  }

  /** Texts of every `message.received` so far, in arrival order. */
  receivedTexts(): string[] {
    return this.notifications
      .filter((n) => n.method === 'message.received')
      .map((n) => n.params['text'])
      .filter((t): t is string => typeof t === 'string');
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}
