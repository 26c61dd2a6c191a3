/** A throwaway redis-server on a free loopback port with a temp dir, no persistence. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadtestError } from './errors.js';
import { freePort, type Spawned, spawnPinned, waitForPort } from './spawn.js';

export interface RedisHandle {
  readonly url: string;
  readonly proc: Spawned;
  stop(): Promise<void>;
}

export const REDIS_SERVER_BIN = process.env.REDIS_SERVER_BIN ?? 'redis-server';

export async function startRedis(cpus: string | null): Promise<RedisHandle> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'p2pc-loadtest-redis-'));
  const proc = spawnPinned(
    [REDIS_SERVER_BIN, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { cpus, label: 'redis' },
  );
  try {
    await waitForPort(port, proc);
  } catch (e) {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
    throw new LoadtestError('LOAD_ERR_REDIS_START', e instanceof Error ? e.message : String(e));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    proc,
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
