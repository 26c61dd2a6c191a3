/** A throwaway redis-server on a free loopback port with a temp dir, no persistence. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadtestError } from './errors.js';
import { freePort, type Spawned, spawnPinned, waitForPort } from './spawn.js';

export interface RedisHandle {
  readonly url: string;
  readonly proc: Spawned;
  /** PUBLISH commands Redis has run so far (INFO commandstats), or NaN if it did not answer. */
  publishCalls(): Promise<number>;
  stop(): Promise<void>;
}

/** Longest an INFO query may take, ms, and the most bytes of its answer read. */
const INFO_TIMEOUT_MS = 2_000;
const INFO_MAX_BYTES = 64 * 1024;

/** `INFO commandstats` over a plain socket (inline command), `cmdstat_publish:calls=N` read out. */
function publishCalls(port: number): Promise<number> {
  return new Promise((resolve) => {
    let text = '';
    const sock = createConnection({ host: '127.0.0.1', port }, () => sock.write('INFO commandstats\r\n'));
    const done = (n: number) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(n);
    };
    const timer = setTimeout(() => done(Number.NaN), INFO_TIMEOUT_MS);
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const header = /^\$(\d+)\r\n/.exec(text);
      if (header && text.length >= header[0].length + Number(header[1])) {
        const calls = /cmdstat_publish:calls=(\d+)/.exec(text)?.[1];
        done(calls === undefined ? 0 : Number(calls));
      } else if (text.length > INFO_MAX_BYTES) done(Number.NaN);
    });
    sock.on('error', () => done(Number.NaN));
  });
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
    publishCalls: () => publishCalls(port),
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
