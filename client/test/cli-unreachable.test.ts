/**
 * Issue 16, "errors that say what happened and what to do": a rendezvous server that cannot
 * be reached is reported once, with the URL, the cause and what to check — not as a string
 * of `reconnecting: closed 1006` lines and a timeout. Real sockets on 127.0.0.1: a closed
 * port, a name under the reserved `.invalid` TLD (RFC 6761: resolution fails locally), wss://
 * against a plain ws rendezvous server, and an HTTP server that is not a rendezvous server.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli-run.js';
import { startRendezvous, tempHome } from './helpers/server.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

let home = '';
beforeAll(async () => {
  const h = tempHome();
  cleanups.push(h.cleanup);
  home = h.home;
  const init = await runCli(['init', '--name', 'Alice'], { NEXUS_HOME: home });
  expect(init.code, init.err).toBe(0);
}, 60_000);

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

function expectOneClearLine(r: { code: unknown; err: string; out: string }, url: string, cause: RegExp): void {
  expect(r.code, r.err).toBe(1);
  const lines = r.err.trim().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toContain(`cannot reach the rendezvous server: ${url}: `);
  expect(lines[0]).toMatch(cause);
  expect(lines[0]).toContain('is it running? check P2P_COMM_SERVER');
  expect(lines[0]).toContain('p2p-comm doctor');
  expect(lines[0]).toMatch(/\(CLIENT_ERR_SERVER_UNREACHABLE\)$/);
  expect(r.err).not.toContain('1006');
  expect(r.err).not.toContain('CLIENT_ERR_TIMEOUT');
}

describe('an unreachable rendezvous server', () => {
  it('refused: a closed port on 127.0.0.1 (send)', async () => {
    const port = await closedPort();
    const r = await runCli(['send', 'Bob', 'hi'], { NEXUS_HOME: home, P2P_COMM_SERVER: `ws://127.0.0.1:${port}` });
    expectOneClearLine(
      r,
      `ws://127.0.0.1:${port}/v1/ws`,
      new RegExp(`connection refused on 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
  }, 60_000);

  it('DNS: a host under .invalid (connect, --json carries the code and kind)', async () => {
    const r = await runCli(['connect', 'p2p-comm://AAAA', '--server', 'ws://rendezvous.invalid:8080', '--json'], {
      NEXUS_HOME: home,
    });
    expect(r.code, r.err).toBe(1);
    expect(JSON.parse(r.out)).toEqual({
      error: expect.objectContaining({
        code: 'CLIENT_ERR_SERVER_UNREACHABLE',
        kind: 'dns',
        url: 'ws://rendezvous.invalid:8080/v1/ws',
      }),
    });
    expect(r.err).toMatch(/cannot resolve the host name rendezvous\.invalid \(DNS E[A-Z_]+\)/);
  }, 60_000);

  it('TLS: wss:// against a plain ws rendezvous server', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const url = `wss://127.0.0.1:${srv.port}`;
    const r = await runCli(['send', 'Bob', 'hi'], { NEXUS_HOME: home, P2P_COMM_SERVER: url });
    expectOneClearLine(r, `${url}/v1/ws`, /TLS handshake failed: the server does not speak TLS \(use ws:\/\//);
    // The same server over ws:// is fine: the failure was the scheme, not the server.
    const ok = await runCli(['trust', 'list'], { NEXUS_HOME: home, P2P_COMM_SERVER: srv.url });
    expect(ok.code, ok.err).toBe(0);
  }, 60_000);

  it('not a rendezvous server: an HTTP server answering 404', async () => {
    const http = createHttpServer((_req, res) => {
      res.writeHead(404);
      res.end('not here');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => http.close(r)));
    const url = `ws://127.0.0.1:${(http.address() as { port: number }).port}`;
    const r = await runCli(['send', 'Bob', 'hi'], { NEXUS_HOME: home, P2P_COMM_SERVER: url });
    expectOneClearLine(r, `${url}/v1/ws`, /HTTP 404 at \/v1\/ws: .*not a p2p-comm rendezvous server/);
  }, 60_000);
});

describe('p2p-comm doctor on the same failures', () => {
  it('names the cause and what to do for a refused port, an unresolvable name and wss:// against ws', async () => {
    const port = await closedPort();
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const cases: Array<[string, RegExp, string]> = [
      [
        `ws://127.0.0.1:${port}`,
        new RegExp(`NOT reachable .*connection refused on 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
        'nothing listens there: start the server',
      ],
      [
        'ws://rendezvous.invalid:8080',
        /NOT reachable .*cannot resolve the host name rendezvous\.invalid/,
        'check its spelling',
      ],
      [
        `wss://127.0.0.1:${srv.port}`,
        /NOT reachable .*TLS handshake failed: the server does not speak TLS/,
        'use ws://',
      ],
    ];
    for (const [server, cause, hint] of cases) {
      // STUN goes to a closed UDP port: only the rendezvous line matters here.
      const r = await runCli(
        ['doctor', '--server', server, '--stun-port', String(port), '--stun-alt-port', String(port + 1)],
        {
          NEXUS_HOME: home,
        },
      );
      expect(r.code, `${server}: ${r.err}`).toBe(1);
      const first = r.out.split('\n').slice(0, 2);
      expect(first[0], r.out).toMatch(cause);
      expect(first[1], r.out).toContain(hint);
    }
  }, 120_000);
});
