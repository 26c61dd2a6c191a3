/** SIGTERM on the real entry point (src/server.ts in a child process): RESTARTING, drain, exit 0. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FrameType } from '@p2p-comm/protocol';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { freePort, TestClient } from './helpers.js';

const serverTs = fileURLToPath(new URL('../src/server.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');

function startChild(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, serverTs], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += String(d);
  });
  child.stderr.on('data', (d) => {
    out += String(d);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

async function waitHealthy(port: number, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {}
    if (Date.now() > end) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('server.ts', () => {
  it('on SIGTERM sends RESTARTING, refuses new connections, and exits 0 within DRAIN_TIMEOUT_MS', async () => {
    const port = await freePort();
    const p = startChild({
      HOST: '127.0.0.1',
      PORT: String(port),
      STUN_PORT: '0',
      DRAIN_TIMEOUT_MS: '3000',
      LOG_LEVEL: 'warn',
    });
    try {
      await waitHealthy(port);
      const url = `ws://127.0.0.1:${port}/v1/ws`;
      const leaves = await TestClient.connect(url); // leaves on RESTARTING, as a client should
      const stays = await TestClient.connect(url); // ignores it: closed with 1012 at the deadline
      const t0 = Date.now();
      p.child.kill('SIGTERM');
      const r1 = await leaves.next((f) => f.type === FrameType.RESTARTING);
      expect(r1).toEqual({ type: FrameType.RESTARTING, retryAfterMs: 1000 });
      await leaves.close();
      await stays.next((f) => f.type === FrameType.RESTARTING);
      // New connections are refused while draining.
      const late = await new Promise<number>((resolve) => {
        const ws = new WebSocket(url);
        ws.on('error', () => resolve(-1));
        ws.on('close', (code) => resolve(code));
      });
      expect([1012, -1]).toContain(late);
      expect(await stays.errorAndClose(5000)).toEqual({ code: 'RDV_ERR_DRAINING', close: 1012 });
      expect(await p.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(3000 + 1000);
    } finally {
      p.child.kill('SIGKILL');
    }
  });

  it('exits non-zero with every config problem listed', async () => {
    const p = startChild({ PORT: 'nope', ADMISSION: 'token', INVITE_SECRET: '' });
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('RDV_ERR_CONFIG');
    expect(p.output()).toContain('PORT must be an integer');
    expect(p.output()).toContain('INVITE_SECRET');
  });
});
