/**
 * Issue 16, "Servers": a second instance on one host fails on the taken port with one line
 * naming the variable (STUN_PORT / STUN_ALT_PORT / PORT) and the fix, binds nothing and never
 * says "listening"; open admission on every interface logs one warning with what to set.
 * Real processes and real sockets on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { isRendezvousError } from '../src/errors.js';
import { freePort, quietLog, testConfig } from './helpers.js';

const serverTs = fileURLToPath(new URL('../src/server.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `npm start`'s command as a child; bounded: SIGKILL after `timeoutMs`. */
function startChild(env: Record<string, string>, timeoutMs = 30_000) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, serverTs], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    }),
  );
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    return exited;
  });
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

async function waitHealthy(port: number, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`server on ${port} not healthy`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('two instances on one host', () => {
  it('the second fails on the STUN port with one line naming STUN_PORT and the fix, and never listens', async () => {
    const [portA, portB, stun, stunAlt] = [
      await freePort(),
      await freePort(),
      await freeUdpPort(),
      await freeUdpPort(),
    ];
    const common = { HOST: '127.0.0.1', STUN_PORT: String(stun), STUN_ALT_PORT: String(stunAlt) };
    const a = startChild({ ...common, PORT: String(portA) }, 90_000);
    await waitHealthy(portA);
    const b = startChild({ ...common, PORT: String(portB) });
    expect(await b.exited, b.stderr()).toBe(1);
    const lines = b.stderr().trim().split('\n');
    expect(lines, b.stderr()).toHaveLength(1);
    expect(lines[0]).toBe(
      `rendezvous failed to start: RDV_ERR_LISTEN: STUN_PORT=${stun}: udp 127.0.0.1:${stun} is already in use (another rendezvous server on this host?) (EADDRINUSE); set STUN_PORT and STUN_ALT_PORT to free ports, or STUN_PORT=0 to run without STUN`,
    );
    expect(b.stdout()).not.toContain('listening');
    await expect(fetch(`http://127.0.0.1:${portB}/healthz`)).rejects.toThrow();
    // The first instance is untouched.
    expect((await fetch(`http://127.0.0.1:${portA}/healthz`)).ok).toBe(true);
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
  }, 120_000);

  it('in process: a taken STUN_ALT_PORT or PORT rejects with RDV_ERR_LISTEN and leaves nothing bound', async () => {
    const held = createSocket('udp4');
    await new Promise<void>((r) => held.bind(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => held.close(() => r(undefined))));
    const takenUdp = held.address().port;
    const stun = await freeUdpPort();
    const httpPort = await freePort();
    const app = buildApp(
      testConfig({ PORT: String(httpPort), STUN_PORT: String(stun), STUN_ALT_PORT: String(takenUdp) }),
      { logger: quietLog },
    );
    const err = await app.listen().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRendezvousError(err) && err.code).toBe('RDV_ERR_LISTEN');
    expect((err as Error).message).toContain(`STUN_ALT_PORT=${takenUdp}: udp 127.0.0.1:${takenUdp} is already in use`);
    // The primary STUN port it had bound is free again, and HTTP never bound.
    const again = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.bind(stun, '127.0.0.1', () => resolve());
    });
    await new Promise((r) => again.close(() => r(undefined)));
    await expect(fetch(`http://127.0.0.1:${httpPort}/healthz`)).rejects.toThrow();

    const tcp = createServer();
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => tcp.close(r)));
    const takenTcp = (tcp.address() as { port: number }).port;
    const stun2 = await freeUdpPort();
    const app2 = buildApp(testConfig({ PORT: String(takenTcp), STUN_PORT: String(stun2), STUN_ALT_PORT: '0' }), {
      logger: quietLog,
    });
    const err2 = await app2.listen().then(
      () => null,
      (e: unknown) => e,
    );
    expect(isRendezvousError(err2) && err2.code).toBe('RDV_ERR_LISTEN');
    expect((err2 as Error).message).toBe(
      `PORT=${takenTcp}: tcp 127.0.0.1:${takenTcp} is already in use (another rendezvous server on this host?) (EADDRINUSE); set PORT to a free port (0 picks one)`,
    );
    const again2 = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      again2.once('error', reject);
      again2.bind(stun2, '127.0.0.1', () => resolve());
    });
    await new Promise((r) => again2.close(() => r(undefined)));
  }, 60_000);
});

describe('open admission on every interface', () => {
  async function warningsOf(env: Record<string, string>): Promise<string[]> {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).trim().split('\n'));
        done();
      },
    });
    const app = buildApp(testConfig({ LOG_LEVEL: 'warn', ...env }), { logger: pino({ level: 'warn' }, sink) });
    await app.listen();
    await app.close();
    return lines.map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m.startsWith('ADMISSION=open'));
  }

  it('logs one warning saying what to set for production; none on loopback or with token admission', async () => {
    const open = await warningsOf({ HOST: '0.0.0.0' });
    expect(open).toEqual([
      'ADMISSION=open on every interface: any key that can reach this port may use the server; for production set ADMISSION=token (with INVITE_SECRET) or ADMISSION=allowlist (ALLOWLIST_FILE), or HOST=127.0.0.1 for a local test',
    ]);
    expect(await warningsOf({ HOST: '127.0.0.1' })).toEqual([]);
    expect(await warningsOf({ HOST: '0.0.0.0', ADMISSION: 'token', INVITE_SECRET: 'x'.repeat(64) })).toEqual([]);
  }, 60_000);
});
