#!/usr/bin/env node
/**
 * `p2p-comm` — the command line for people (and the entry the Nexus host runs as its
 * extension: `p2p-comm extension`). The only module that reads process.env and argv.
 */
import { cmdDoctor, DOCTOR_USAGE } from '../doctor/cli.js';
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

const USAGE = `usage: p2p-comm <command> [options]

  init --name <display name>     create your identity (once) and set your name
  id [--json]                    show fingerprint, key and share string
  connect <share>                ask a peer to connect (waits for their answer)
  trust list | revoke <peer> | rename <peer> <name>   list peers, revoke one, or name one yourself
  send <peer> <text…>|--file f   send a message (waits for the end-to-end ack)
  listen [--approve] [--yes]     print incoming messages; asks about consent (and with --approve, each message)
    [--listen ip:port] [--mdns] [--no-webrtc]   paths beyond the relay (also for extension; env P2P_COMM_LISTEN, P2P_COMM_MDNS=1, P2P_COMM_WEBRTC=0)
  serve [--port 8080]            run a rendezvous server (needs @p2p-comm/rendezvous)
  admin invite --secret-env VAR --ttl 7d [--key K] [--once]   mint an invite token (--once: single use); its id goes to stderr
  extension [--approve]          JSON-RPC 2.0 on stdin/stdout (for the Nexus host)
  mcp                            MCP server on stdin/stdout via the host gateway (P2P_COMM_HOST_URL, P2P_COMM_PLUGIN_TOKEN)
  ${DOCTOR_USAGE}

Global: --server ws://host:port (or P2P_COMM_SERVER), --token T (or P2P_COMM_TOKEN), --json.
Files live in ~/.nexus (or NEXUS_HOME).`;

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
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`p2p-comm: unknown command "${command}"\n${USAGE}\n`);
    process.exitCode = 2;
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
    } else process.stderr.write(`p2p-comm: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
  // Interactive readers keep stdin open; the command is done, so let the process end.
  process.stdin.unref?.();
  if (typeof process.stdin.pause === 'function') process.stdin.pause();
}

await main(process.argv.slice(2));
process.exit();
