/**
 * The CLI driven as two people would drive it on two terminals: init, id, listen (answering
 * its prompt through a pipe), connect, send; plus serve and admin invite.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { decodeKey, verifyInviteToken } from '@p2p-comm/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/extension-process.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Run {
  proc: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  done: Promise<number | null>;
}

function run(args: string[], env: Record<string, string>, stdin?: string): Run {
  const proc = spawnCli(args, env);
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  if (stdin !== undefined) proc.stdin.end(stdin);
  // 'close', not 'exit': output still in the pipes arrives after 'exit'.
  const done = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  cleanups.push(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  return { proc, out: () => out, err: () => err, done };
}

describe('p2p-comm CLI, two people', () => {
  it('init, id, listen + connect (accept at the prompt), send, trust list', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const a = tempHome();
    const b = tempHome();
    cleanups.push(a.cleanup, b.cleanup);
    const envA = { NEXUS_HOME: a.home, P2P_COMM_SERVER: srv.url };
    const envB = { NEXUS_HOME: b.home, P2P_COMM_SERVER: srv.url };

    const initA = run(['init', '--name', 'Alice'], envA, '');
    const initB = run(['init', '--name', 'Bob'], envB, '');
    expect(await initA.done, `stderr: ${initA.err()}\nstdout: ${initA.out()}`).toBe(0);
    expect(await initB.done, `stderr: ${initB.err()}\nstdout: ${initB.out()}`).toBe(0);
    expect(initA.out()).toContain('Identity created');
    expect(initA.out()).toMatch(/Fingerprint: ([0-9a-f]{2}:){15}[0-9a-f]{2}/);

    const idB = run(['id', '--json'], envB, '');
    expect({ code: await idB.done, stderr: idB.err() }).toEqual({ code: 0, stderr: '' });
    const bob = JSON.parse(idB.out()) as { key: string; fingerprint: string; name: string; share: string };
    expect(Object.keys(bob).sort()).toEqual(['fingerprint', 'key', 'name', 'share']);
    expect(bob.name).toBe('Bob');
    expect(bob.share).toBe(`p2p-comm://${bob.key}@127.0.0.1:${srv.port}?name=Bob`);
    expect(decodeKey(bob.key)).toHaveLength(32);

    // Bob listens; his answers come from a pipe, line by line, like keystrokes.
    const listen = run(['listen'], envB);
    await waitFor(() => listen.err().includes('Listening as Bob'), 30_000, 'listen ready');

    const connect = run(['connect', bob.share], envA, '');
    await waitFor(() => listen.out().includes('Accept? [y/N]'), 30_000, 'consent prompt');
    expect(listen.out()).toContain('Alice wants to connect. Fingerprint: ');
    listen.proc.stdin.write('y\n');
    expect(await connect.done, `stderr: ${connect.err()}\nstdout: ${connect.out()}`).toBe(0);
    expect(connect.out()).toContain('Connected: Bob accepted.');

    const send = run(['send', 'Bob', 'hello', 'from', 'Alice'], envA, '');
    expect(await send.done, `stderr: ${send.err()}\nstdout: ${send.out()}`).toBe(0);
    expect(send.out()).toContain('Delivered to Bob.');
    await waitFor(() => listen.out().includes('Alice: hello from Alice'), 10_000, 'message printed');

    // Bob answers from his listen window; Alice reads it with her own listen.
    listen.proc.stdin.write('Alice: hi back\n');
    const listenA = run(['listen'], envA);
    await waitFor(() => listenA.out().includes('Bob: hi back'), 15_000, 'reply printed');
    await waitFor(() => listen.out().includes('(delivered to Alice)'), 15_000, 'reply acked');
    listenA.proc.kill('SIGINT');
    expect(await listenA.done, `stderr: ${listenA.err()}\nstdout: ${listenA.out()}`).toBe(0);

    const list = run(['trust', 'list', '--json'], envA, '');
    expect(await list.done, `stderr: ${list.err()}\nstdout: ${list.out()}`).toBe(0);
    const peers = (JSON.parse(list.out()) as { peers: Array<{ name: string; state: string; key: string }> }).peers;
    expect(peers).toEqual([expect.objectContaining({ name: 'Bob', state: 'trusted', key: bob.key })]);

    // A file, then a revoke the other side hears about.
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const file = join(a.home, 'notes.bin');
    writeFileSync(file, Buffer.alloc(1234, 7));
    // A file is a transfer: offered, asked about in Bob's listen, then landed in his inbox.
    const sendFile = run(['send', 'Bob', '--file', file], envA, '');
    await waitFor(() => listen.out().includes('Accept the file? [y/N]'), 20_000, 'file offer prompt');
    expect(listen.out()).toContain('Alice (');
    expect(listen.out()).toContain('offers a file: notes.bin (1.2 KiB, application/octet-stream, sha256 ');
    listen.proc.stdin.write('y\n');
    expect(await sendFile.done, `stderr: ${sendFile.err()}\nstdout: ${sendFile.out()}`).toBe(0);
    expect(sendFile.out()).toContain('Sent notes.bin (1.2 KiB) to Bob');
    await waitFor(
      () => listen.out().includes('Received notes.bin (1.2 KiB), SHA-256 checked: '),
      10_000,
      'file landed',
    );
    const landed = /SHA-256 checked: (.+)\n/.exec(listen.out())![1]!;
    expect(landed.startsWith(join(b.home, 'inbox'))).toBe(true);
    expect(readFileSync(landed)).toEqual(Buffer.alloc(1234, 7));
    const revoke = run(['trust', 'revoke', 'Bob'], envA, '');
    expect(await revoke.done, revoke.err()).toBe(0);
    expect(revoke.out()).toContain('Revoked Bob');
    await waitFor(() => listen.out().includes('Alice revoked the connection.'), 10_000, 'revoke heard');

    listen.proc.kill('SIGINT');
    expect(await listen.done, `stderr: ${listen.err()}\nstdout: ${listen.out()}`).toBe(0);
  }, 120_000);

  it('a denied request is reported and nothing can be sent', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const a = tempHome();
    const b = tempHome();
    cleanups.push(a.cleanup, b.cleanup);
    const envA = { NEXUS_HOME: a.home, P2P_COMM_SERVER: srv.url };
    const envB = { NEXUS_HOME: b.home, P2P_COMM_SERVER: srv.url };
    await run(['init', '--name', 'Alice'], envA, '').done;
    const idB = run(['id', '--json'], envB, '');
    await idB.done;
    const bob = JSON.parse(idB.out()) as { share: string; key: string };
    const listen = run(['listen'], envB);
    await waitFor(() => listen.err().includes('Listening as'), 30_000, 'listen ready');
    const connect = run(['connect', bob.share], envA, '');
    await waitFor(() => listen.out().includes('Accept? [y/N]'), 30_000, 'consent prompt');
    listen.proc.stdin.write('n\n');
    expect(await connect.done).toBe(3);
    expect(connect.out()).toContain('declined your request.');
    const send = run(['send', bob.key, 'hi'], envA, '');
    expect(await send.done).toBe(1);
    expect(send.err()).toMatch(/CLIENT_ERR_(NOT_TRUSTED|UNKNOWN_PEER)/);
    listen.proc.kill('SIGTERM');
    await listen.done;
  }, 90_000);
});

describe('p2p-comm send --file with a bad file', () => {
  it('a missing file, a directory or a file over FILE_MAX_BYTES is a typed error before any network, never a stack trace', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { truncateSync } = await import('node:fs');
    const { FILE_MAX_BYTES } = await import('../src/files/constants.js');
    const a = tempHome();
    cleanups.push(a.cleanup);
    const env = { NEXUS_HOME: a.home };
    // Over the largest file a transfer takes (1 TiB): sparse, so it costs no disk.
    const big = join(a.home, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, FILE_MAX_BYTES + 1);
    const dir = join(a.home, 'adir');
    mkdirSync(dir);
    const cases: Array<[string, string]> = [
      [join(a.home, 'missing.bin'), 'CLIENT_ERR_INVALID_ARGUMENT'],
      [dir, 'CLIENT_ERR_INVALID_ARGUMENT'],
      [big, 'CLIENT_ERR_FILE_TOO_LARGE'],
    ];
    for (const [file, code] of cases) {
      const r = run(['send', 'Bob', '--file', file, '--json'], env, '');
      expect(await r.done).toBe(1);
      expect(JSON.parse(r.out())).toEqual({ error: expect.objectContaining({ code }) });
      expect(r.err()).not.toMatch(/\n\s+at /); // no stack trace
    }
  }, 60_000);
});

describe('p2p-comm serve and admin invite', () => {
  it('serve starts a rendezvous server a client can use', async () => {
    const h = tempHome();
    cleanups.push(h.cleanup);
    const serve = run(['serve', '--port', '0', '--host', '127.0.0.1', '--stun-port', '0', '--json'], {
      NEXUS_HOME: h.home,
      STUN_ALT_PORT: '0',
      LOG_LEVEL: 'silent',
    });
    await waitFor(() => serve.out().includes('"url"'), 45_000, `serve output (${serve.err()})`);
    const { url } = JSON.parse(serve.out().trim().split('\n')[0]!) as { url: string };
    const c = tempHome();
    cleanups.push(c.cleanup);
    const id = run(['trust', 'list'], { NEXUS_HOME: c.home, P2P_COMM_SERVER: url }, '');
    expect(await id.done, `stderr: ${id.err()}\nstdout: ${id.out()}`).toBe(0);
    const res = await fetch(`${url.replace('ws:', 'http:')}/healthz`);
    expect(res.ok).toBe(true);
    serve.proc.kill('SIGTERM');
    expect(await serve.done, `stderr: ${serve.err()}\nstdout: ${serve.out()}`).toBe(0);
  }, 60_000);

  it('admin invite mints a token the server secret verifies, bound to a key when asked', async () => {
    const secret = 'a-very-long-invite-secret-for-tests-0123456789';
    const key = 'A'.repeat(42) + 'E';
    const r = run(
      ['admin', 'invite', '--secret-env', 'INVITE_SECRET', '--ttl', '7d', '--key', key, '--json'],
      {
        INVITE_SECRET: secret,
      },
      '',
    );
    expect(await r.done, `stderr: ${r.err()}\nstdout: ${r.out()}`).toBe(0);
    const { token, expires } = JSON.parse(r.out()) as { token: string; expires: string };
    const claims = verifyInviteToken(secret, token, decodeKey(key));
    expect(claims.key).toBe(key);
    expect(Math.abs(claims.exp - Date.parse(expires))).toBeLessThan(5_000);
    const missing = run(['admin', 'invite', '--secret-env', 'NOPE', '--ttl', '1h'], {}, '');
    expect(await missing.done).toBe(1);
    expect(missing.err()).toContain('NOPE');
  });
});

describe('bin/p2p-comm.js', () => {
  it('runs the CLI from the sources in the repository, forwarding args and exit code', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const bin = fileURLToPath(new URL('../bin/p2p-comm.js', import.meta.url));
    // In the repository this runs the sources through tsx (the installed path, dist/, is
    // exercised by install.integration.test.ts).
    const h = tempHome();
    cleanups.push(h.cleanup);
    const exec = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, [bin, ...args], {
          env: { PATH: process.env.PATH ?? '', NEXUS_HOME: h.home },
        });
        let out = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        p.stderr.on('data', (d: Buffer) => {
          err += d.toString();
        });
        p.once('close', (code) => resolve({ code, out, err }));
      });
    const ok = await exec(['init', '--name', 'Bin', '--json']);
    expect(ok.code, ok.err).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ name: 'Bin', created: true });
    const bad = await exec(['no-such-command']);
    expect(bad.code, bad.err).toBe(2);
    expect(bad.err).toContain('unknown command "no-such-command"');
  }, 30_000);
});

describe('p2p-comm listen on a pseudo-terminal', () => {
  it('asks on the terminal, takes "y" and Ctrl-C like a person typing', async () => {
    const { spawn } = await import('node:child_process');
    const { CLI_MAIN, REPO_ROOT, TSX_LOADER } = await import('./helpers/extension-process.js');
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const a = tempHome();
    const b = tempHome();
    cleanups.push(a.cleanup, b.cleanup);
    const envA = { NEXUS_HOME: a.home, P2P_COMM_SERVER: srv.url };
    const envB = { NEXUS_HOME: b.home, P2P_COMM_SERVER: srv.url };
    const initA = run(['init', '--name', 'Alice'], envA, '');
    expect(await initA.done, `stderr: ${initA.err()}\nstdout: ${initA.out()}`).toBe(0);
    const idB = run(['init', '--name', 'Bob', '--json'], envB, '');
    expect(await idB.done, `stderr: ${idB.err()}\nstdout: ${idB.out()}`).toBe(0);
    const bob = JSON.parse(idB.out()) as { share: string };
    // util-linux `script` gives the command a real pty; we are the keyboard.
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    // `exec`: no shell left between the pty and the CLI to catch Ctrl-C itself.
    const command = ['exec', process.execPath, '--conditions=source', '--import', TSX_LOADER, CLI_MAIN, 'listen']
      .map((w, i) => (i === 0 ? w : q(w)))
      .join(' ');
    const term = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', TERM: 'dumb', ...envB },
    });
    cleanups.push(() => {
      if (term.exitCode === null) term.kill('SIGKILL');
    });
    let screen = '';
    term.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
    });
    const exited = new Promise<number | null>((r) => term.once('exit', (code) => r(code)));
    await waitFor(
      () => screen.includes('Listening as Bob'),
      30_000,
      () => `listen on the pty (screen: ${JSON.stringify(screen)})`,
    );
    const connect = run(['connect', bob.share], envA, '');
    await waitFor(() => screen.includes('Accept? [y/N]'), 30_000, 'prompt on the pty');
    term.stdin.write('y\r');
    expect(await connect.done, `stderr: ${connect.err()}\nstdout: ${connect.out()}`).toBe(0);
    await waitFor(() => screen.includes('Connected to Alice.'), 10_000, 'answer shown');
    term.stdin.write('\x03'); // Ctrl-C through the terminal's line discipline
    const code = await exited;
    const { existsSync } = await import('node:fs');
    const { join } = await import('node:path');
    expect(existsSync(join(b.home, 'p2p-comm', 'lock')), 'lock released').toBe(false);
    expect(code, screen).toBe(0);
  }, 90_000);
});
