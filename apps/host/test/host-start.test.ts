/**
 * Issue 16, the host gateway's first minutes: HOST_CONFIG relative to where the command was
 * typed (npm runs the server inside apps/host), errors naming the absolute path tried, the
 * approval link with its token printed once on a terminal (and never into a log), and a page
 * a person can read when the token is missing or wrong. The entry point runs as a real
 * process; the terminal is a real pseudo-terminal (util-linux `script`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { makeHost, UI_TOKEN, waitFor } from './support/harness.js';
import { fakeKey } from './support/stub-extension.js';

const SERVER = fileURLToPath(new URL('../src/server.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const dir = mkdtempSync(join(tmpdir(), 'p2p-comm-host-start-'));
const caller = join(dir, 'caller'); // where the user typed the command
const elsewhere = join(dir, 'apps-host'); // where npm runs the server
mkdirSync(caller);
mkdirSync(elsewhere);
// A token as `openssl rand -base64` makes them: '+', '/' and '=' must survive the printed link.
const TOKEN = 'q+Zr/8fKx2Lw9+a/Vb3dTn0=';
const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

writeFileSync(
  join(caller, 'host.json'),
  JSON.stringify({
    uiToken: TOKEN,
    // An extension that stays up until the host stops it.
    extensionCommand: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'],
    plugins: [],
  }),
);

function start(env: Record<string, string>, opts: { pty?: boolean } = {}) {
  const fullEnv = { PATH: process.env.PATH ?? '', HOST_PORT: '0', HOST_AUDIT_LOG: join(dir, 'audit.jsonl'), ...env };
  const argv = [process.execPath, '--conditions=source', '--import', TSX, SERVER];
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const proc = opts.pty
    ? spawn('script', ['-qfec', ['exec', ...argv.map(q)].join(' '), '/dev/null'], {
        cwd: elsewhere,
        env: { ...fullEnv, TERM: 'dumb' },
      })
    : spawn(argv[0]!, argv.slice(1), { cwd: elsewhere, env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  procs.push(proc);
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, out: () => out, err: () => err, exited };
}

describe('host gateway start', () => {
  it('HOST_CONFIG=host.json is read from the caller’s directory, not the one npm runs in', async () => {
    const h = start({ HOST_CONFIG: 'host.json', INIT_CWD: caller });
    await waitFor(() => h.out().includes('"event":"listening"'), 30_000);
    // Not a terminal: the link is shown without its token.
    await waitFor(() => h.err().includes('Approval page:'), 5_000);
    expect(h.err()).toContain('/ui?token=<uiToken of the host config>');
    expect(h.err()).not.toContain(encodeURIComponent(TOKEN));
    expect(h.out()).not.toContain(encodeURIComponent(TOKEN));
    h.proc.kill('SIGTERM');
    expect(await h.exited).toBe(0);
  }, 40_000);

  it('a missing, unreadable or malformed config names the absolute path tried', async () => {
    const missing = start({ HOST_CONFIG: 'nope.json', INIT_CWD: caller });
    expect(await missing.exited).toBe(2);
    expect(missing.err()).toContain(
      `HOST_ERR_CONFIG_INVALID: host configuration is invalid: cannot read HOST_CONFIG ${join(caller, 'nope.json')}: no such file`,
    );
    // Without INIT_CWD (run directly, not through npm) the process's own directory counts.
    const direct = start({ HOST_CONFIG: 'host.json' });
    expect(await direct.exited).toBe(2);
    expect(direct.err()).toContain(`cannot read HOST_CONFIG ${join(elsewhere, 'host.json')}: no such file`);
    writeFileSync(join(caller, 'broken.json'), '{"uiToken": ');
    const broken = start({ HOST_CONFIG: 'broken.json', INIT_CWD: caller });
    expect(await broken.exited).toBe(2);
    expect(broken.err()).toContain(`HOST_CONFIG ${join(caller, 'broken.json')} is not valid JSON`);
    const unset = start({});
    expect(await unset.exited).toBe(2);
    expect(unset.err()).toContain('HOST_CONFIG must name the host config file');
  }, 60_000);

  it('on a terminal, prints the approval link with its token once; the link opens the page', async () => {
    const h = start({ HOST_CONFIG: join(caller, 'host.json') }, { pty: true });
    await waitFor(() => /\/ui\?token=\S+/.test(h.out()), 30_000);
    const link = /(http:\/\/127\.0\.0\.1:\d+\/ui\?token=\S+)/.exec(h.out())![1]!;
    expect(link.endsWith(`?token=${encodeURIComponent(TOKEN)}`)).toBe(true);
    expect(h.out().split('?token=').length - 1).toBe(1);
    const res = await fetch(link, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/^p2p_comm_ui=/);
    h.proc.kill('SIGTERM');
    await h.exited;
  }, 40_000);
});

describe('approval page without a valid token', () => {
  const host = makeHost({ key: fakeKey(1), agentPeers: [] });
  afterAll(() => host.app.close());

  it('answers a person with an HTML page that says where the link is; the API stays JSON', async () => {
    for (const url of ['/ui', '/ui?token=wrong-token-wrong-token', '/ui?token=']) {
      const r = await host.app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(401);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.body).toContain('This approval page needs its token');
      expect(r.body).toContain('/ui?token=');
      expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    }
    const ok = await host.app.inject({ method: 'GET', url: `/ui?token=${UI_TOKEN}` });
    expect(ok.statusCode).toBe(303);
    const api = await host.app.inject({ method: 'GET', url: '/ui/api/approvals' });
    expect(api.statusCode).toBe(401);
    expect(api.json()).toMatchObject({ error: { code: 'HOST_ERR_UI_AUTH' } });
  });
});
