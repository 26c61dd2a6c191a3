/**
 * Issue 16: `p2p-comm serve` next to another instance — one line naming the taken port's
 * variable and the fix (STUN_PORT=0 / --stun-port 0), exit 1, no stack, no "listening".
 */
import { createSocket } from 'node:dgram';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-run.js';
import { tempHome } from './helpers/server.js';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('p2p-comm serve with a taken STUN port', () => {
  it('says which variable to change and exits 1, without a stack or a "listening" line', async () => {
    const held = createSocket('udp4');
    await new Promise<void>((r) => held.bind(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => held.close(() => r(undefined))));
    const taken = held.address().port;
    const h = tempHome();
    cleanups.push(h.cleanup);
    const env = { NEXUS_HOME: h.home, LOG_LEVEL: 'silent', STUN_ALT_PORT: '0' };
    const r = await runCli(['serve', '--port', '0', '--host', '127.0.0.1', '--stun-port', String(taken)], env, {
      timeoutMs: 45_000,
    });
    expect(r.code, r.err).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines, r.err).toHaveLength(1);
    expect(lines[0]).toContain(`RDV_ERR_LISTEN: STUN_PORT=${taken}: udp 127.0.0.1:${taken} is already in use`);
    expect(lines[0]).toContain('STUN_PORT=0 to run without STUN');
    expect(lines[0]).toMatch(/\(CLIENT_ERR_CONFIG\)$/);
    expect(r.out).not.toContain('listening');
  }, 60_000);
});
