#!/usr/bin/env node
// Entry of the `p2p-comm` command.
// - Installed from the packed tarball (`npm install -g ./p2p-comm-client-<version>.tgz`): the
//   package ships bin/ and dist/ only, so this runs the compiled CLI, dist/cli/main.js.
// - In the repository (src/ is there and the tsx dev dependency resolves): it re-executes Node
//   with the tsx loader on the TypeScript sources, forwarding arguments, stdio, exit code and
//   signals, so `npx p2p-comm …` always runs the current sources, even when an older dist/
//   build (npm run build, npm pack) is lying around.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli', 'main.js');
const source = join(root, 'src', 'cli', 'main.ts');

function resolveTsx() {
  try {
    return import.meta.resolve('tsx');
  } catch {
    return undefined;
  }
}

const tsx = existsSync(source) ? resolveTsx() : undefined;
if (!tsx) {
  if (!existsSync(compiled)) {
    process.stderr.write('p2p-comm: no dist/ build and tsx is not installed; run `npm install` or `npm run build`\n');
    process.exit(1);
  }
  await import(pathToFileURL(compiled).href);
} else {
  const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, source, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
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
