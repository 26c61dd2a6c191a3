#!/usr/bin/env node
// Entry of the `p2p-comm` command. Runs the compiled CLI when dist/ exists; on a fresh clone
// (no build) it re-executes Node with the tsx loader on the TypeScript sources, forwarding
// arguments, stdio, exit code and signals, so `npx p2p-comm …` works right after npm install.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');

if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  let tsx;
  try {
    tsx = import.meta.resolve('tsx');
  } catch {
    process.stderr.write('p2p-comm: no dist/ build and tsx is not installed; run `npm install` or `npm run build`\n');
    process.exit(1);
  }
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', tsx, join(root, 'src', 'cli', 'main.ts'), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (child.exitCode === null) child.kill(sig);
    });
  }
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
}
