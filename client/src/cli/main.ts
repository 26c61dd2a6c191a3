#!/usr/bin/env node
/**
 * `p2p-comm` — the command line for people (and the entry the Nexus host runs as its
 * extension: `p2p-comm extension`). The only module that reads process.env and argv; the
 * dispatching itself is run.ts.
 */
import { runCli } from './run.js';

// First Ctrl-C: clean stop (lock released, connection closed). A second one force-quits.
const interrupted = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdin: process.stdin,
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  interrupted,
  isTerminal: process.stdout.isTTY === true,
  stderrIsTerminal: process.stderr.isTTY === true,
  ...(process.stderr.columns ? { columns: process.stderr.columns } : {}),
});
if (code !== undefined) process.exitCode = code;
// Interactive readers keep stdin open; the command is done, so let the process end.
process.stdin.unref?.();
if (typeof process.stdin.pause === 'function') process.stdin.pause();
process.exit();
