#!/usr/bin/env node
// prepack/postpack helper for the installable packages (client, apps/rendezvous).
//
// Why: @p2p-comm/protocol is not on any registry, so it travels inside each tarball as a
// bundled dependency (package.json "bundleDependencies"). npm pack only bundles what it finds
// in the package's own node_modules, but in this npm-workspaces repo the workspace lives as a
// symlink in the root node_modules (and a bundled symlink would drag its hoisted dependencies
// in with `../` paths). `prepack` therefore builds dist/ (tsc -b, so a tarball never ships
// without compiled JS) and copies protocol's package.json (without scripts and
// devDependencies), dist/ and src/ to <package>/node_modules/@p2p-comm/protocol, built aside and
// renamed into place, so a test running while a pack is under way resolves a complete package
// either way. npm does not install the dependencies of a bundled package, so protocol's own
// dependencies (@noble/*, pure JS, pinned exactly) are copied with it into its node_modules
// and travel in the tarball too. `postpack` removes the copy (marked by MARKER).
//
// Usage (from a package directory, as npm runs lifecycle scripts): node ../scripts/pack-bundle.mjs prepack|postpack
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = process.cwd();
const protocolDir = join(root, 'packages', 'protocol');
const copy = join(pkgDir, 'node_modules', '@p2p-comm', 'protocol');
const MARKER = '.p2p-comm-pack-copy';

/** Removes a copy left by an earlier prepack; never touches anything else. */
function removeCopy() {
  if (!existsSync(join(copy, MARKER))) return;
  rmSync(copy, { recursive: true, force: true });
  // node_modules/@p2p-comm and node_modules, if the copy was all they held.
  for (const dir of [dirname(copy), dirname(dirname(copy))]) if (readdirSync(dir).length === 0) rmdirSync(dir);
}

const phase = process.argv[2];
if (phase === 'prepack') {
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  removeCopy();
  if (existsSync(copy)) throw new Error(`${copy} exists and is not a pack copy; remove it first`);
  const pkg = JSON.parse(readFileSync(join(protocolDir, 'package.json'), 'utf8'));
  const { scripts: _scripts, devDependencies: _dev, ...shipped } = pkg;
  shipped.files = ['dist', 'src'];
  const aside = `${copy}.${process.pid}.tmp`;
  rmSync(aside, { recursive: true, force: true });
  mkdirSync(aside, { recursive: true });
  writeFileSync(join(aside, 'package.json'), `${JSON.stringify(shipped, null, 2)}\n`);
  for (const dir of ['dist', 'src'])
    cpSync(join(protocolDir, dir), join(aside, dir), { recursive: true, filter: (f) => !f.endsWith('.tsbuildinfo') });
  // Protocol's dependency closure, as installed (hoisted) in the repository's node_modules.
  const queue = Object.keys(pkg.dependencies ?? {});
  for (let i = 0; i < queue.length; i++) {
    const name = queue[i];
    const installed = join(root, 'node_modules', name);
    cpSync(installed, join(aside, 'node_modules', name), { recursive: true, dereference: true });
    const deps = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')).dependencies ?? {};
    for (const dep of Object.keys(deps)) if (!queue.includes(dep)) queue.push(dep);
  }
  writeFileSync(join(aside, MARKER), '');
  renameSync(aside, copy);
} else if (phase === 'postpack') {
  removeCopy();
} else {
  process.stderr.write('usage: pack-bundle.mjs prepack|postpack\n');
  process.exit(2);
}
