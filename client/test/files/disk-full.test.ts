import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FileTransfers } from '../../src/files/engine.js';
import { engineOn, MemoryNet, outcome, peerName, removeDir, tempDir } from './helpers/memory-net.js';

/** A real small file system: a 2 MiB tmpfs this test mounts (needs root, as in the NAT lab). */
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = tempDir('mount-probe');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    removeDir(probe);
  }
}
const mountable = canMount();

const A = peerName(1);
const B = peerName(2);
let dir: string;
let inbox: string;
const engines: FileTransfers[] = [];

beforeEach(() => {
  dir = tempDir('diskfull');
  // Engines put the inbox at <dir>/<name>/inbox: mount the tmpfs exactly there.
  inbox = join(dir, B, 'inbox');
  mkdirSync(inbox, { recursive: true });
  if (mountable) execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', inbox]);
});
afterEach(() => {
  for (const e of engines.splice(0)) e.stop();
  if (mountable) execFileSync('umount', ['-l', inbox]);
  removeDir(dir);
});

describe.skipIf(!mountable)('disk full on the recipient (a 2 MiB tmpfs)', () => {
  it('an offer larger than the free space is declined at once: CLIENT_ERR_FILE_DISK_FULL', async () => {
    const net = new MemoryNet();
    const a = engineOn(net, A, dir, { resendMs: 50 });
    const b = engineOn(net, B, dir, { resendMs: 50 });
    engines.push(a, b);
    const src = join(dir, 'big.bin');
    writeFileSync(src, randomBytes(3 * 1024 * 1024));
    const { id } = await a.send(B, src);
    const [sent, got] = await Promise.all([outcome(a, id), outcome(b, id)]);
    expect(sent.code).toBe('CLIENT_ERR_FILE_DISK_FULL');
    expect(got.code).toBe('CLIENT_ERR_FILE_DISK_FULL');
  });

  it('the disk filling up mid-transfer (ENOSPC) fails cleanly and leaves no partial file', async () => {
    const net = new MemoryNet();
    const a = engineOn(net, A, dir, { resendMs: 50 });
    // The host's approval takes the space: by the first write the disk is full.
    const b = engineOn(net, B, dir, {
      resendMs: 50,
      approve: () => {
        writeFileSync(join(inbox, 'filler'), Buffer.alloc(1900 * 1024));
        return true;
      },
    });
    engines.push(a, b);
    const src = join(dir, 'one.bin');
    writeFileSync(src, randomBytes(1024 * 1024));
    const { id } = await a.send(B, src);
    const [sent, got] = await Promise.all([outcome(a, id), outcome(b, id)]);
    expect(got.code).toBe('CLIENT_ERR_FILE_DISK_FULL');
    expect(sent.code).toBe('CLIENT_ERR_FILE_DISK_FULL');
    expect(readdirSync(join(inbox, '.partial'))).toEqual([]);
    expect(existsSync(join(inbox, A))).toBe(false);
  });
});
