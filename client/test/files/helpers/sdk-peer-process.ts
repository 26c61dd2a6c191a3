/**
 * The parent's side of fixtures/sdk-peer.ts: spawn a real SDK client in its own process, send
 * it commands, wait for its events. Used by the resume tests and bench:files.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { PathsInit } from '../../../src/sdk/config.js';

const TSX = import.meta.resolve('tsx');
const PEER = fileURLToPath(new URL('../fixtures/sdk-peer.ts', import.meta.url));

export interface SdkPeerConfig {
  home: string;
  server: string;
  name: string;
  webrtc: boolean;
  listen?: { port: number; advertise?: { host: string; port: number }[] };
  timings?: PathsInit['timings'];
}

export type PeerEvent = { ev: string } & Record<string, unknown>;

/** Events seen so far are kept (bounded by what one test or bench row produces). */
export class SdkPeer {
  readonly proc: ChildProcess;
  readonly events: PeerEvent[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';
  #waiters: Array<{ pred: (e: PeerEvent) => boolean; resolve: (e: PeerEvent) => void }> = [];

  constructor(cfg: SdkPeerConfig, extraNodeArgs: string[] = []) {
    this.proc = spawn(
      process.execPath,
      [...extraNodeArgs, '--conditions=source', '--import', TSX, PEER, JSON.stringify(cfg)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.exited = new Promise((r) => this.proc.once('exit', (code) => r(code)));
    this.proc.stderr!.on('data', (d: Buffer) => {
      // Bounded: only the tail is kept, for error messages.
      this.stderr = (this.stderr + d.toString()).slice(-8_192);
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      let e: PeerEvent;
      try {
        e = JSON.parse(line) as PeerEvent;
      } catch {
        return;
      }
      this.events.push(e);
      for (const w of [...this.#waiters])
        if (w.pred(e)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(e);
        }
    });
  }

  send(cmd: Record<string, unknown>): void {
    this.proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
  }

  /** The first event (already seen or to come) matching `pred`. */
  wait(pred: (e: PeerEvent) => boolean, timeoutMs: number, what: string, fromIndex = 0): Promise<PeerEvent> {
    const seen = this.events.slice(fromIndex).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out waiting for ${what}; stderr: ${this.stderr}`));
      }, timeoutMs);
      const done = (e: PeerEvent) => {
        clearTimeout(t);
        resolve(e);
      };
      this.#waiters.push({ pred, resolve: done });
      void this.exited.then(() => {
        if (!this.#waiters.some((w) => w.resolve === done)) return;
        clearTimeout(t);
        reject(new Error(`peer exited while waiting for ${what}; stderr: ${this.stderr}`));
      });
    });
  }

  /** Ask for a report now and wait for it (events since `fromIndex`). */
  async report(): Promise<PeerEvent> {
    const at = this.events.length;
    this.send({ op: 'report' });
    return this.wait((e) => e.ev === 'report', 10_000, 'report', at);
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill(signal);
    await this.exited;
  }
}

/** Two peers trust each other: `a` connects with `b`'s share, `b` accepts. */
export async function befriend(a: SdkPeer, b: SdkPeer, timeoutMs = 30_000): Promise<{ aKey: string; bKey: string }> {
  const ra = await a.wait((e) => e.ev === 'ready', timeoutMs, 'a ready');
  const rb = await b.wait((e) => e.ev === 'ready', timeoutMs, 'b ready');
  a.send({ op: 'connect', share: rb.share });
  await Promise.all([
    a.wait((e) => e.ev === 'trusted', timeoutMs, 'a trusts b'),
    b.wait((e) => e.ev === 'trusted', timeoutMs, 'b trusts a'),
  ]);
  return { aKey: ra.key as string, bKey: rb.key as string };
}
