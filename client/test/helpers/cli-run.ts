import { spawn } from 'node:child_process';
import { CLI_MAIN, REPO_ROOT, TSX_LOADER } from './extension-process.js';

export interface CliResult {
  /** Exit status, or 'timeout' when the process had to be killed after `timeoutMs`. */
  code: number | 'timeout' | null;
  out: string;
  err: string;
}

/** The node command line that runs the CLI from its TypeScript sources. */
export const CLI_ARGV: readonly string[] = [process.execPath, '--conditions=source', '--import', TSX_LOADER, CLI_MAIN];

/**
 * Run `p2p-comm <args>` to completion with stdin closed. A process still running after
 * `timeoutMs` is SIGKILLed and reported as 'timeout', so a command that hangs or spins fails
 * the test instead of stalling it. `wrap` prefixes the command (e.g. `unshare -m …`).
 */
export function runCli(
  args: readonly string[],
  env: Record<string, string>,
  opts: { timeoutMs?: number; wrap?: readonly string[] } = {},
): Promise<CliResult> {
  const argv = [...(opts.wrap ?? []), ...CLI_ARGV, ...args];
  const proc = spawn(argv[0]!, argv.slice(1), {
    env: { PATH: process.env.PATH ?? '', ...env },
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve) => {
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, opts.timeoutMs ?? 20_000);
    proc.once('close', (code) => {
      clearTimeout(t);
      resolve({ code: timedOut ? 'timeout' : code, out, err });
    });
  });
}

/** Quote a word for sh. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Run the CLI on a pseudo-terminal (util-linux `script`), stdin from a closed pipe; returns
 * everything the terminal showed. Bounded like runCli.
 */
export function runCliOnPty(args: readonly string[], env: Record<string, string>, timeoutMs = 20_000) {
  const command = ['exec', ...[...CLI_ARGV, ...args].map(shellQuote)].join(' ');
  const proc = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', TERM: 'dumb', ...env },
  });
  let screen = '';
  proc.stdout.on('data', (d: Buffer) => {
    screen += d.toString();
  });
  return new Promise<{ code: number | 'timeout' | null; screen: string }>((resolve) => {
    let timedOut = false;
    const t = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, timeoutMs);
    proc.once('close', (code) => {
      clearTimeout(t);
      resolve({ code: timedOut ? 'timeout' : code, screen });
    });
  });
}
