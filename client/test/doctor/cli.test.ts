import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { cmdDoctor } from '../../src/doctor/index.js';
import { startResponder, xorMappedSuccess } from './stun-responder.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  process.exitCode = undefined;
});

function ctx(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { env, out: (t: string) => out.push(t), err: (t: string) => err.push(t), lines: { out, err } };
}

describe('p2p-comm doctor (command line)', () => {
  it('takes the server from P2P_COMM_SERVER and prints the report as JSON', async () => {
    const server = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const [a, b] = [
      await startResponder((req, rinfo) => [xorMappedSuccess(req, rinfo)]),
      await startResponder((req, rinfo) => [xorMappedSuccess(req, rinfo)]),
    ];
    cleanups.push(a.close, b.close);
    const port = (server.address() as { port: number }).port;
    const c = ctx({ P2P_COMM_SERVER: `ws://127.0.0.1:${port}` });
    await cmdDoctor(c, ['--json', '--stun-port', String(a.port), '--stun-alt-port', String(b.port)]);
    const report = JSON.parse(c.lines.out.join(''));
    expect(report.rendezvous.reachable).toBe(true);
    expect(report.nat).toBe('no-nat');
    expect(process.exitCode).toBe(0);
  });

  it('rejects bad flags and a missing server with usage and status 2', async () => {
    const c = ctx();
    await cmdDoctor(c, ['--bogus']);
    expect(c.lines.err.join('')).toContain('usage: p2p-comm doctor');
    expect(process.exitCode).toBe(2);
    const d = ctx();
    await cmdDoctor(d, []);
    expect(d.lines.err.join('')).toContain('P2P_COMM_SERVER');
    expect(process.exitCode).toBe(2);
  });
});
