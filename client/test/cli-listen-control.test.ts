/**
 * Issue 16, long-running listen and commands from other terminals, with real processes:
 * - a background `listen` (stdin closed, no terminal) started while the rendezvous server is
 *   down keeps running through a server restart and receives a message sent after it;
 * - `send` and `trust revoke` for a home that listen holds are handed to it over the home's
 *   control socket (0600), and their errors say what to do next;
 * - with a process that takes no commands holding the home, send says how to do it by hand;
 * - declining in one's own listen window reads "You declined …", the other side "… declined
 *   your request", and a revoke is announced once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../src/constants.js';
import { controlSocketPath } from '../src/extension/control-path.js';
import { runCli } from './helpers/cli-run.js';
import { CLI_MAIN, ExtensionProcess, REPO_ROOT, TSX_LOADER } from './helpers/extension-process.js';
import { freePort, startRendezvous, tempHome, waitFor } from './helpers/server.js';
import { killProcess, spawnRendezvous } from './helpers/server-process.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Bg {
  proc: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  write?: (text: string) => void;
}

/** `p2p-comm <args>` left running; stdin closed (as `</dev/null &`) unless `pipeStdin`. */
function background(args: string[], env: Record<string, string>, pipeStdin = false): Bg {
  const proc = spawn(process.execPath, ['--conditions=source', '--import', TSX_LOADER, CLI_MAIN, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: [pipeStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  // 'close', not 'exit': output still in the pipes arrives after 'exit'.
  const exited = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  cleanups.push(() => killProcess(proc));
  return {
    proc,
    out: () => out,
    err: () => err,
    exited,
    ...(pipeStdin ? { write: (t: string) => proc.stdin!.write(t) } : {}),
  };
}

const count = (text: string, part: string) => text.split(part).length - 1;

async function identity(home: string, name: string, server: string): Promise<{ share: string; key: string }> {
  const r = await runCli(['init', '--name', name, '--json'], { NEXUS_HOME: home, P2P_COMM_SERVER: server });
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as { share: string; key: string };
}

describe('background listen and commands handed to it', () => {
  it('survives a server that is down at start and restarts; takes send and revoke from other terminals', async () => {
    const port = await freePort();
    const url = `ws://127.0.0.1:${port}`;
    const a = tempHome();
    const b = tempHome();
    cleanups.push(a.cleanup, b.cleanup);
    const envA = { NEXUS_HOME: a.home, P2P_COMM_SERVER: url };
    const envB = { NEXUS_HOME: b.home, P2P_COMM_SERVER: url };
    await identity(a.home, 'Alice', url);
    const bob = await identity(b.home, 'Bob', url);

    // Bob's listen: no terminal, stdin closed, the server not running yet.
    const listenB = background(['listen', '--yes'], envB);
    await waitFor(() => listenB.err().includes('Listening as Bob'), 30_000, `listen ready (${listenB.err()})`);
    await waitFor(() => listenB.err().includes('stdin is closed'), 10_000, 'background notice');
    await waitFor(() => listenB.err().includes('rendezvous reconnecting'), 15_000, 'first failed dial');
    expect(statSync(controlSocketPath(b.home)).mode & 0o777).toBe(0o600);

    let server = await spawnRendezvous(port, {});
    cleanups.push(() => killProcess(server));
    await waitFor(() => listenB.err().includes('rendezvous connected'), 30_000, `connected (${listenB.err()})`);
    const connect = await runCli(['connect', bob.share], envA, { timeoutMs: 40_000 });
    expect(connect.code, connect.err).toBe(0);

    // The server dies and comes back on the same port: listen says so and stays up.
    await killProcess(server);
    await waitFor(() => count(listenB.err(), 'rendezvous reconnecting') >= 2, 15_000, 'reconnecting after the kill');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(listenB.proc.exitCode, listenB.err()).toBeNull();
    expect(listenB.err()).toContain('listen keeps retrying');
    server = await spawnRendezvous(port, {});
    await waitFor(() => count(listenB.err(), 'rendezvous connected') >= 2, 30_000, `reconnected (${listenB.err()})`);
    const after = await runCli(['send', 'Bob', 'after', 'the', 'restart'], envA, { timeoutMs: 40_000 });
    expect(after.code, after.err).toBe(0);
    expect(after.out).toContain('Delivered to Bob.');
    await waitFor(() => listenB.out().includes('Alice: after the restart'), 10_000, 'message after restart');

    // Alice listens too (piped stdin) so she acks Bob's messages and hears his revoke.
    const listenA = background(['listen'], envA, true);
    await waitFor(() => listenA.err().includes('rendezvous connected'), 30_000, 'Alice listening');

    // Bob, from another terminal, while his listen holds the home.
    const viaListen = await runCli(['send', 'Alice', 'from', 'another', 'terminal'], envB, { timeoutMs: 40_000 });
    expect(viaListen.code, viaListen.err).toBe(0);
    expect(viaListen.out).toContain('Delivered to Alice.');
    expect(viaListen.err).toContain('(sent through the running p2p-comm listen)');
    await waitFor(() => listenA.out().includes('Bob: from another terminal'), 10_000, 'message via control socket');

    // Errors come back typed, with what to do next.
    const unknown = await runCli(['send', 'Carol', 'hi'], envB);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain(
      'no peer named "Carol": `p2p-comm trust list` shows who you trust; `p2p-comm connect <share>` adds one (CLIENT_ERR_UNKNOWN_PEER)',
    );
    // Over one packet: a long message through the listen's control socket, still one message.
    const long = await runCli(['send', 'Alice', 'x'.repeat(MAX_MESSAGE_BYTES + 1)], envB, { timeoutMs: 40_000 });
    expect(long.code, long.err).toBe(0);
    expect(long.out).toContain('Delivered to Alice.');

    const revoke = await runCli(['trust', 'revoke', 'Alice'], envB, { timeoutMs: 40_000 });
    expect(revoke.code, revoke.err).toBe(0);
    expect(revoke.out).toContain('Revoked Alice');
    expect(revoke.err).toContain('(done by the running p2p-comm listen)');
    await waitFor(() => listenA.out().includes('Bob revoked the connection.'), 10_000, 'revoke heard');

    listenB.proc.kill('SIGTERM');
    expect(await listenB.exited).toBe(0);
    expect(existsSync(controlSocketPath(b.home)), 'control socket removed').toBe(false);
    // Bob going offline changes Alice's path to him, and the session announces his (still
    // revoked) state again with each path change: the window says it once.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(count(listenA.out(), 'Bob revoked the connection.'), listenA.out()).toBe(1);
    listenA.proc.kill('SIGTERM');
    expect(await listenA.exited).toBe(0);
  }, 240_000);

  it('with a process that takes no commands holding the home, send says how to do it by hand', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const h = tempHome();
    cleanups.push(h.cleanup);
    await identity(h.home, 'Bob', srv.url);
    const ext = new ExtensionProcess(h.home, srv.url);
    cleanups.push(() => killProcess(ext.proc));
    await ext.call('status', {});
    const r = await runCli(['send', 'Alice', 'hi'], { NEXUS_HOME: h.home, P2P_COMM_SERVER: srv.url });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /pid \d+ uses .* and takes no commands from here: type "Alice: <message>" in its listen window, or stop it \(Ctrl-C\) and send again \(CLIENT_ERR_HOME_LOCKED\)/,
    );
    const rv = await runCli(['trust', 'revoke', 'Alice'], { NEXUS_HOME: h.home, P2P_COMM_SERVER: srv.url });
    expect(rv.code).toBe(1);
    expect(rv.err).toContain('run `p2p-comm trust revoke Alice` again (CLIENT_ERR_HOME_LOCKED)');
  }, 60_000);

  it('declining in my own window says "You declined", the asker reads "declined your request"', async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const a = tempHome();
    const b = tempHome();
    cleanups.push(a.cleanup, b.cleanup);
    const envA = { NEXUS_HOME: a.home, P2P_COMM_SERVER: srv.url };
    const envB = { NEXUS_HOME: b.home, P2P_COMM_SERVER: srv.url };
    await identity(a.home, 'Alice', srv.url);
    const bob = await identity(b.home, 'Bob', srv.url);
    const listenB = background(['listen'], envB, true);
    await waitFor(() => listenB.err().includes('Listening as Bob'), 30_000, 'listen ready');
    const connect = runCli(['connect', bob.share], envA, { timeoutMs: 40_000 });
    await waitFor(() => listenB.out().includes('Accept? [y/N]'), 30_000, 'consent prompt');
    listenB.write!('n\n');
    const c = await connect;
    expect(c.code, c.err).toBe(3);
    expect(c.out).toContain('Bob declined your request.');
    await waitFor(
      () => listenB.out().includes("You declined Alice's request."),
      10_000,
      `own decline (${listenB.out()})`,
    );
    expect(listenB.out()).not.toContain('Alice declined');
    expect(listenB.out()).not.toContain('denied the connection');
    listenB.proc.kill('SIGTERM');
    expect(await listenB.exited).toBe(0);
  }, 90_000);
});
