/**
 * Issue 16: a NEXUS_HOME that cannot be used gets one line naming the path, the reason and
 * the fix (CLIENT_ERR_HOME_UNUSABLE) — never a stack, never "identity files are corrupt", never
 * a spin. Real file systems: a path under a regular file, a path under /proc, a read-only
 * tmpfs mounted in a private mount namespace (`unshare -m`), and a directory the unprivileged
 * `nobody` user cannot write (`setpriv`). The last two need root and those tools, and are
 * skipped (visibly) where they are missing.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from './helpers/cli-run.js';
import { tempHome } from './helpers/server.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const isRoot = process.getuid?.() === 0;
const canUnshareMount =
  isRoot &&
  spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs /mnt'], { timeout: 10_000 }).status === 0;
const canSetpriv =
  isRoot &&
  spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'true'], { timeout: 10_000 }).status ===
    0;

function expectHomeUnusable(r: CliResult, path: string, reason: RegExp): void {
  expect(r.code, `${r.err} (exit ${r.code})`).toBe(1);
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(/^p2p-comm: NEXUS_HOME cannot be used: /);
  expect(lines[0]).toContain(path);
  expect(lines[0]).toMatch(reason);
  expect(lines[0]).toContain('set NEXUS_HOME to a directory you can write');
  expect(lines[0]).toMatch(/\(CLIENT_ERR_HOME_UNUSABLE\)$/);
  expect(r.err).not.toContain('corrupt');
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe('an unusable NEXUS_HOME', () => {
  it('under a regular file: init, id and trust list name the file in the way', async () => {
    const t = tempHome();
    cleanups.push(t.cleanup);
    const file = join(t.home, 'not-a-dir');
    writeFileSync(file, 'x');
    const env = { NEXUS_HOME: join(file, 'home') };
    for (const args of [['init', '--name', 'A'], ['id'], ['trust', 'list']]) {
      const r = await runCli(args, env);
      expectHomeUnusable(r, file, new RegExp(`${file} is a file, not a directory \\(ENOTDIR\\); move that file away`));
    }
  }, 90_000);

  it.skipIf(!existsSync('/proc/self'))(
    'under /proc: init fails at once instead of spinning',
    async () => {
      const home = `/proc/p2p-comm-test-${process.pid}`;
      const started = Date.now();
      const r = await runCli(['init', '--name', 'A'], { NEXUS_HOME: home }, { timeoutMs: 30_000 });
      expect(r.code, 'init must not hang').not.toBe('timeout');
      expectHomeUnusable(r, home, /directories cannot be created there \(ENOENT; a virtual file system such as \/proc/);
      expect(Date.now() - started).toBeLessThan(30_000);
    },
    60_000,
  );

  it.skipIf(!canUnshareMount)(
    'on a read-only file system (tmpfs mounted ro): init says so',
    async () => {
      const t = tempHome();
      cleanups.push(t.cleanup);
      const ro = join(t.home, 'ro');
      mkdirSync(ro);
      // The mount lives only in the child's mount namespace; `exec "$@"` runs the CLI inside it.
      const wrap = ['unshare', '-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs '${ro}' && exec "$@"`, 'sh'];
      const inside = await runCli(['init', '--name', 'A'], { NEXUS_HOME: join(ro, 'home') }, { wrap });
      expectHomeUnusable(inside, join(ro, 'home'), /read-only file system \(EROFS\)/);
      // The home itself on the read-only mount (it exists; creating identity/ fails).
      const itself = await runCli(['init', '--name', 'A'], { NEXUS_HOME: ro }, { wrap });
      expectHomeUnusable(itself, join(ro, 'identity'), /read-only file system \(EROFS\)/);
    },
    60_000,
  );

  it.skipIf(!canSetpriv)(
    'not writable by this user (nobody, a 0555 directory): init says permission denied',
    async () => {
      const t = tempHome();
      cleanups.push(t.cleanup);
      chmodSync(t.home, 0o755);
      const locked = join(t.home, 'locked');
      mkdirSync(locked, { mode: 0o555 });
      chmodSync(locked, 0o555);
      const wrap = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];
      const r = await runCli(['init', '--name', 'A'], { NEXUS_HOME: join(locked, 'home') }, { wrap });
      expectHomeUnusable(
        r,
        join(locked, 'home'),
        /permission denied \(EACCES\): this user cannot write there; fix its owner\/mode/,
      );
    },
    60_000,
  );

  it('a writable NEXUS_HOME several levels deep is created (the bounded mkdir still makes parents)', async () => {
    const t = tempHome();
    cleanups.push(t.cleanup);
    const home = join(t.home, 'a', 'b', 'c');
    const r = await runCli(['init', '--name', 'Deep'], { NEXUS_HOME: home });
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(home, 'identity', 'ed25519.secret'))).toBe(true);
  }, 60_000);
});
