#!/usr/bin/env node
/**
 * `p2p-comm` — the command line for people (and the entry the Nexus host runs as its
 * extension: `p2p-comm extension`). The only module that reads process.env and argv.
 */
import { readFileSync } from 'node:fs';
import { cmdDoctor } from '../doctor/cli.js';
import { isClientError } from '../errors.js';
import { runMcpFromEnv } from '../mcp/index.js';
import { resolveHome } from '../store/paths.js';
import {
  type CliContext,
  cmdAdmin,
  cmdConnect,
  cmdExtension,
  cmdId,
  cmdInit,
  cmdListen,
  cmdSend,
  cmdServe,
  cmdTrust,
} from './commands.js';
import { commandUsage, nearest, overviewUsage, wantsHelp } from './usage.js';

const COMMANDS: Record<string, (ctx: CliContext, args: string[]) => Promise<void>> = {
  init: cmdInit,
  id: cmdId,
  share: cmdId,
  connect: cmdConnect,
  trust: cmdTrust,
  send: cmdSend,
  listen: cmdListen,
  serve: cmdServe,
  admin: cmdAdmin,
  extension: cmdExtension,
  mcp: (ctx) => runMcpFromEnv(ctx.env, { input: ctx.stdin, output: process.stdout }),
  doctor: cmdDoctor,
};

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    // `p2p-comm help send` is `p2p-comm send --help`.
    const topic = command === 'help' ? args[0] : undefined;
    process.stdout.write(`${topic && COMMANDS[topic] ? commandUsage(topic) : overviewUsage()}\n`);
    return;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(`p2p-comm ${clientVersion()}\n`);
    return;
  }
  const run = COMMANDS[command];
  if (!run) {
    const guess = nearest(command, [...Object.keys(COMMANDS), 'help', 'version']);
    process.stderr.write(
      `p2p-comm: unknown command "${command}"${guess ? `; did you mean "${guess}"?` : ''}\n` +
        'Run `p2p-comm --help` for the list of commands.\n',
    );
    process.exitCode = 2;
    return;
  }
  // Help never runs the command (no listening, no server, no files touched).
  if (wantsHelp(args)) {
    process.stdout.write(`${commandUsage(command === 'share' ? 'id' : command)}\n`);
    return;
  }
  // First Ctrl-C: clean stop (lock released, connection closed). A second one force-quits.
  const interrupted = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const ctx: CliContext = {
    env: process.env,
    home: resolveHome(process.env),
    stdin: process.stdin,
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    interrupted,
  };
  try {
    await run(ctx, args);
  } catch (err) {
    const json = args.includes('--json');
    if (isClientError(err)) {
      if (json)
        process.stdout.write(
          `${JSON.stringify({ error: { code: err.code, message: err.message, ...(err.data ?? {}) } })}\n`,
        );
      process.stderr.write(`p2p-comm: ${err.message} (${err.code})\n`);
      if (err.code === 'CLIENT_ERR_INVALID_ARGUMENT' && !json)
        process.stderr.write(`Run \`p2p-comm ${command} --help\` for its usage.\n`);
    } else process.stderr.write(`p2p-comm: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
  // Interactive readers keep stdin open; the command is done, so let the process end.
  process.stdin.unref?.();
  if (typeof process.stdin.pause === 'function') process.stdin.pause();
}

/** The client package's version (package.json is two levels up from src/cli and dist/cli). */
function clientVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

await main(process.argv.slice(2));
process.exit();
