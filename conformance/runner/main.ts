/**
 * npm run conformance -- --peer "<command>" [--only <script>] [--json] [--list]
 *
 * Drives an implementation that speaks the stdio interface v1 (docs/conformance.md) through the
 * scripted transcripts of packages/protocol/test/vectors/scripts/ against our real rendezvous
 * server and our real client, and prints pass/fail per step. Exit 0 only if every script ran
 * passed (skipped ones are listed), 1 if any failed, 2 on a usage error.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReport, formatStep } from './format.js';
import { runConformance } from './run.js';
import { loadScripts } from './script.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VECTORS_DIR = join(ROOT, 'packages', 'protocol', 'test', 'vectors');
export const SCRIPTS_DIR = join(VECTORS_DIR, 'scripts');

const USAGE = `usage: npm run conformance -- --peer "<command>" [--only <script>[,<script>…]] [--json] [--list]

  --peer "<command>"  the implementation under test, started with sh -c "<command>"; it speaks
                      the stdio interface v1 (docs/conformance.md)
  --only <names>      run only these scripts (names or file names, comma-separated)
  --json              print one JSON report on stdout instead of the step lines
  --list              list the scripts and what each proves, then exit`;

interface Args {
  peer: string | null;
  only: string[];
  json: boolean;
  list: boolean;
}

export function parseArgs(argv: string[]): Args | string {
  const a: Args = { peer: null, only: [], json: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    try {
      if (arg === '--peer') a.peer = value();
      else if (arg === '--only')
        a.only.push(
          ...value()
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
        );
      else if (arg === '--json') a.json = true;
      else if (arg === '--list') a.list = true;
      else if (arg === '--help' || arg === '-h') return USAGE;
      else return `unknown argument ${JSON.stringify(arg)}\n${USAGE}`;
    } catch (err) {
      return `${(err as Error).message}\n${USAGE}`;
    }
  }
  if (!a.list && !a.peer) return `--peer is required\n${USAGE}`;
  return a;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    const help = args === USAGE;
    (help ? process.stdout : process.stderr).write(`${args}\n`);
    return help ? 0 : 2;
  }
  let scripts = loadScripts(SCRIPTS_DIR);
  if (args.list) {
    for (const s of scripts) process.stdout.write(`${s.name} (${s.file}, ${s.steps.length} steps)\n  ${s.proves}\n`);
    return 0;
  }
  if (args.only.length > 0) {
    const unknown = args.only.filter((o) => !scripts.some((s) => s.name === o || s.file === o));
    if (unknown.length > 0) {
      process.stderr.write(`no such script: ${unknown.join(', ')} (see --list)\n`);
      return 2;
    }
    scripts = scripts.filter((s) => args.only.includes(s.name) || args.only.includes(s.file));
  }
  const report = await runConformance({
    peerCommand: args.peer!,
    scripts,
    vectorsDir: VECTORS_DIR,
    ...(args.json
      ? {}
      : {
          onStep: (script, r) => process.stdout.write(`${formatStep(script.name, r)}\n`),
        }),
  });
  process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.status === 'pass' ? 0 : 1;
}

// Run only as the entry point (tests import parseArgs).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${(err as Error)?.message ?? String(err)}\n`);
      process.exitCode = 2;
    },
  );
}
