/**
 * Issue 16, "help everywhere": `--version`, `--help`/`-h` on every command (usage on stdout,
 * exit 0, and the command itself never runs), and a mistyped command answered with the
 * nearest one. The dispatcher runs in-process (run.ts, the same function main.ts calls), each
 * run bounded, so a command that starts listening or serving instead of printing help fails by
 * timeout; a few real processes check that main.ts wires argv, stdout and the exit status.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli as runInProcess } from '../src/cli/run.js';
import { COMMAND_USAGE, nearest } from '../src/cli/usage.js';
import { runCli, runCliOnPty } from './helpers/cli-run.js';
import { startRendezvous, tempHome } from './helpers/server.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const COMMANDS = [
  'init',
  'id',
  'share',
  'connect',
  'trust',
  'send',
  'listen',
  'serve',
  'admin',
  'extension',
  'mcp',
  'doctor',
];
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/**
 * `p2p-comm <args>` in this process with stdin closed. A run still going after `timeoutMs` is
 * interrupted (as Ctrl-C would) and reported as 'timeout'.
 */
async function cli(
  args: readonly string[],
  env: Record<string, string>,
  timeoutMs = 5_000,
): Promise<{ code: number | 'timeout' | undefined; out: string; err: string }> {
  let out = '';
  let err = '';
  let interrupt = () => {};
  const interrupted = new Promise<void>((r) => {
    interrupt = r;
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => {
      interrupt();
      r('timeout');
    }, timeoutMs);
  });
  const code = await Promise.race([
    runInProcess(args, {
      env,
      stdin: Readable.from([]),
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
      interrupted,
    }),
    timeout,
  ]);
  clearTimeout(timer);
  return { code, out, err };
}

describe('p2p-comm --version and --help', () => {
  it('--version, -V and `version` print the client package version and exit 0', async () => {
    for (const flag of ['--version', '-V', 'version']) {
      const r = await cli([flag], {});
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe(`p2p-comm ${VERSION}\n`);
    }
  });

  it('the real entry (main.ts): stdout, stderr and exit status of help, version and a mistyped command', async () => {
    const [version, help, typo] = await Promise.all([
      runCli(['--version'], {}),
      runCli(['send', '--help'], {}),
      runCli(['lisen'], {}),
    ]);
    expect(version.code, version.err).toBe(0);
    expect(version.out).toBe(`p2p-comm ${VERSION}\n`);
    expect(help.code, help.err).toBe(0);
    expect(help.out.startsWith(`usage: p2p-comm ${COMMAND_USAGE.send!.synopsis}`)).toBe(true);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain('unknown command "lisen"; did you mean "listen"?');
    expect(typo.out).toBe('');
  }, 60_000);

  it('--help, -h and `help` print the overview listing every command', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await cli([flag], {});
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^usage: p2p-comm <command>/);
      for (const c of COMMANDS.filter((c) => c !== 'share')) expect(r.out).toContain(`\n  ${c}`);
    }
  });

  it('every command answers --help and -h with its own usage, exit 0, without running', async () => {
    // A live server and a held port make "it ran instead" visible: listen/send/connect would
    // connect and wait, serve would bind (or die on EADDRINUSE), doctor would probe.
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => busy.close(r)));
    const busyPort = String((busy.address() as { port: number }).port);
    const h = tempHome();
    cleanups.push(h.cleanup);
    const env = { NEXUS_HOME: h.home, P2P_COMM_SERVER: srv.url, PORT: busyPort };
    const cases = COMMANDS.flatMap((c) => [
      [c, '--help'],
      [c, '-h'],
    ]);
    // Help after other arguments and for subcommands counts too.
    cases.push(['send', 'Bob', 'hi', '--help'], ['trust', 'revoke', '-h'], ['serve', '--port', busyPort, '--help']);
    const results: Array<Awaited<ReturnType<typeof cli>>> = [];
    for (const args of cases) results.push(await cli(args, env));
    results.forEach((r, i) => {
      const [command] = cases[i]!;
      const shown = command === 'share' ? 'id' : command!;
      expect(r.code, `${cases[i]!.join(' ')}: ${r.err}`).toBe(0);
      expect(r.out.startsWith(`usage: p2p-comm ${COMMAND_USAGE[shown]!.synopsis}`), r.out).toBe(true);
      expect(r.err, cases[i]!.join(' ')).toBe('');
    });
    // Nothing was created in the home: help touched no files.
    expect(readdirSync(h.home)).toEqual([]);
  }, 60_000);

  it('`help <command>` is `<command> --help`', async () => {
    const r = await cli(['help', 'send'], {});
    expect(r.code).toBe(0);
    expect(r.out.startsWith(`usage: p2p-comm ${COMMAND_USAGE.send!.synopsis}`)).toBe(true);
  });

  it('listen --help on a terminal prints usage and returns (no prompt, no waiting)', async () => {
    const h = tempHome();
    cleanups.push(h.cleanup);
    const r = await runCliOnPty(['listen', '--help'], { NEXUS_HOME: h.home, P2P_COMM_SERVER: 'ws://127.0.0.1:9' });
    expect(r.code, r.screen).toBe(0);
    expect(r.screen).toContain('usage: p2p-comm listen');
    expect(r.screen).not.toContain('Listening as');
  }, 30_000);

  it('a bad flag names the command’s --help, and the nearest flag when it is a typo', async () => {
    const h = tempHome();
    cleanups.push(h.cleanup);
    const r = await cli(['send', '--nope'], { NEXUS_HOME: h.home });
    expect(r.code).toBe(1);
    expect(r.err).toContain('CLIENT_ERR_INVALID_ARGUMENT');
    expect(r.err).toContain('Run `p2p-comm send --help`');
    const typo = await cli(['send', 'Bob', '--fiel', 'notes.txt'], { NEXUS_HOME: h.home });
    expect(typo.code).toBe(1);
    expect(typo.err).toContain("Unknown option '--fiel'; did you mean --file?");
  });
});

describe('p2p-comm with a mistyped command', () => {
  it('suggests the nearest command and exits 2', async () => {
    const cases: Array<[string, string]> = [
      ['lisen', 'listen'],
      ['sned', 'send'],
      ['doctr', 'doctor'],
      ['--verison', 'version'],
      ['trsut', 'trust'],
    ];
    const results: Array<Awaited<ReturnType<typeof cli>>> = [];
    for (const [typo] of cases) results.push(await cli([typo], {}));
    results.forEach((r, i) => {
      const [typo, meant] = cases[i]!;
      expect(r.code).toBe(2);
      expect(r.err).toContain(`unknown command "${typo}"; did you mean "${meant}"?`);
      expect(r.out).toBe('');
    });
    const far = await cli(['zzzzzz'], {});
    expect(far.code).toBe(2);
    expect(far.err).toContain('unknown command "zzzzzz"');
    expect(far.err).not.toContain('did you mean');
    expect(far.err).toContain('p2p-comm --help');
  });

  it('nearest(): typos within two edits, transpositions, unique prefixes; nothing for far words', () => {
    const known = Object.keys(COMMAND_USAGE);
    expect(nearest('lsiten', known)).toBe('listen');
    expect(nearest('conect', known)).toBe('connect');
    expect(nearest('ext', known)).toBe('extension');
    expect(nearest('SEND', known)).toBe('send');
    expect(nearest('x', known)).toBeUndefined();
    expect(nearest('i', known)).toBeUndefined();
    expect(nearest('completely', known)).toBeUndefined();
    expect(nearest('', known)).toBeUndefined();
  });
});
