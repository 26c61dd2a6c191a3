import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TransferChannel } from '../../../src/files/channel.js';
import { FileTransfers, type FileTransfersOptions } from '../../../src/files/engine.js';

/** Peer names in tests look like keys (base64url, used as inbox directory names). */
export const peerName = (i: number) => `peer${String(i).padStart(4, '0')}AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

export interface Tap {
  from: string;
  to: string;
  bytes: Uint8Array;
}

/**
 * An in-memory duplex of the narrow channel interface: engines registered by name, each
 * message delivered on a later turn of the event loop (as a socket would), optionally dropped
 * or observed.
 */
export class MemoryNet {
  readonly engines = new Map<string, { receive(peer: string, b: Uint8Array): void }>();
  /** Return true to drop the message. */
  drop: (t: Tap) => boolean = () => false;
  /** Sees every message before it is delivered. */
  tap: (t: Tap) => void = () => {};
  down = false;
  delivered = 0;

  channel(from: string): TransferChannel {
    return {
      send: (to, bytes) => {
        if (this.down) return false;
        const t = { from, to, bytes };
        this.tap(t);
        if (this.drop(t)) return true;
        setImmediate(() => {
          this.delivered++;
          this.engines.get(to)?.receive(from, bytes);
        });
        return true;
      },
    };
  }
}

export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `p2p-files-${label}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** An engine on the net with its own state and inbox under `dir`. */
export function engineOn(
  net: MemoryNet,
  name: string,
  dir: string,
  options: Partial<FileTransfersOptions> = {},
): FileTransfers {
  const e = new FileTransfers({
    channel: net.channel(name),
    stateDir: join(dir, name, 'state'),
    inboxDir: join(dir, name, 'inbox'),
    approve: () => true,
    ...options,
  });
  net.engines.set(name, e);
  return e;
}

export function once<T>(emitter: { once(ev: string, f: (e: T) => void): unknown }, ev: string): Promise<T> {
  return new Promise((resolve) => emitter.once(ev, resolve));
}

/** Resolve with the first `done`/`failed` event for transfer `id` on `e`. */
export function outcome(
  e: FileTransfers,
  id: string,
): Promise<{ kind: 'done' | 'failed'; code?: string; path?: string }> {
  return new Promise((resolve) => {
    e.on('done', (d) => {
      if (d.id === id) resolve({ kind: 'done', ...(d.path ? { path: d.path } : {}) });
    });
    e.on('failed', (f) => {
      if (f.id === id) resolve({ kind: 'failed', code: f.code });
    });
  });
}
