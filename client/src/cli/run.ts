/**
 * The CLI's dispatcher: argv → help, version, a command, or a suggestion. It reads no
 * process-wide state; main.ts hands it the environment and stdio, so tests run it in-process.
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
  cmdSend,
  cmdServe,
  cmdTrust,
} from './commands.js';
import { cmdFiles } from './files.js';
import { cmdListen } from './listen.js';
import { describeError } from './next-step.js';
import { commandUsage, nearest, overviewUsage, wantsHelp } from './usage.js';

export const COMMANDS: Readonly<Record<string, (ctx: CliContext, args: string[]) => Promise<void>>> = Object.freeze({
  init: cmdInit,
  id: cmdId,
  share: cmdId,
  connect: cmdConnect,
  trust: cmdTrust,
  send: cmdSend,
  files: cmdFiles,
  listen: cmdListen,
  serve: cmdServe,
  admin: cmdAdmin,
  extension: cmdExtension,
  mcp: (ctx) => runMcpFromEnv(ctx.env, { input: ctx.stdin, output: process.stdout }),
  doctor: cmdDoctor,
});

/** What the dispatcher may touch besides what a command gets. */
export type CliIo = Omit<CliContext, 'home'>;

/**
 * Runs `p2p-comm <argv>`. Returns the exit status it decided (0 help/version, 1 a failed
 * command, 2 an unknown command), or undefined when the command ran and set its own
 * (connect and send use process.exitCode for "denied" and "not acknowledged").
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number | undefined> {
  const [command, ...args] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    // `p2p-comm help send` is `p2p-comm send --help`.
    const topic = command === 'help' ? args[0] : undefined;
    io.out(`${topic && Object.hasOwn(COMMANDS, topic) ? commandUsage(topic) : overviewUsage()}\n`);
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    io.out(`p2p-comm ${clientVersion()}\n`);
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    const guess = nearest(command, [...Object.keys(COMMANDS), 'help', 'version']);
    io.err(
      `p2p-comm: unknown command "${command}"${guess ? `; did you mean "${guess}"?` : ''}\n` +
        'Run `p2p-comm --help` for the list of commands.\n',
    );
    return 2;
  }
  // Help never runs the command (no listening, no server, no files touched).
  if (wantsHelp(args)) {
    io.out(`${commandUsage(command === 'share' ? 'id' : command)}\n`);
    return 0;
  }
  const ctx: CliContext = { ...io, home: resolveHome(io.env) };
  try {
    await run(ctx, args);
    return undefined;
  } catch (err) {
    const json = args.includes('--json');
    if (isClientError(err)) {
      if (json) io.out(`${JSON.stringify({ error: { code: err.code, message: err.message, ...(err.data ?? {}) } })}\n`);
      io.err(`p2p-comm: ${describeError(err)} (${err.code})\n`);
      if (err.code === 'CLIENT_ERR_INVALID_ARGUMENT' && !json)
        io.err(`Run \`p2p-comm ${command} --help\` for its usage.\n`);
    } else io.err(`p2p-comm: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}

/** The client package's version (package.json is two levels up from src/cli and dist/cli). */
export function clientVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
