/**
 * Issue 16, "Install and run outside the repository": `npm pack` of the client and of the
 * rendezvous server, `npm install -g` of both tarballs into a temporary prefix, then the
 * installed commands run from a directory outside the clone: p2p-comm --version / --help /
 * init / serve (+ /healthz) / doctor --help / mcp (MCP initialize over stdio), and
 * p2p-comm-rendezvous (+ /healthz).
 *
 * Offline: the install's only registry is a small HTTP server on 127.0.0.1 that serves the
 * versions package-lock.json pins (with the root package.json's overrides applied), with the
 * tarballs read from the npm cache `npm ci` filled.
 * (`npm install --offline <tarball>` cannot be used: npm resolves a local tarball's
 * dependencies from registry metadata, which `npm ci` never caches, and it ignores a shrinkwrap
 * inside a local tarball.) A tarball the cache lacks is a 404 and fails the install, so the
 * test cannot pass by reaching the network.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const INSTALL_TIMEOUT_MS = 180_000;
const COMMAND_TIMEOUT_MS = 30_000;
const version = (dir: string) =>
  (JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8')) as { version: string }).version;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs a command to completion (bounded by timeoutMs, then SIGKILL). */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }) {
  return new Promise<Run>((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' },
      (error, out, err) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, out, err });
      },
    );
  });
}

/** Resolves with the first stdout line matching `test`, or rejects after timeoutMs / on exit. */
function waitForLine(child: ChildProcess, test: (line: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => done(new Error(`no matching line in ${timeoutMs} ms; stderr: ${err}`)), timeoutMs);
    const onOut = (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (test(line)) return done(undefined, line);
        nl = buf.indexOf('\n');
      }
    };
    const onErr = (d: Buffer) => {
      err += d.toString();
    };
    const onExit = (code: number | null) => done(new Error(`exited (${code}) first; stderr: ${err}`));
    function done(e?: Error, line?: string) {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve(line as string);
    }
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.once('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL if the process is still there after 10 s. */
async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

interface LockEntry {
  version: string;
  integrity?: string;
  link?: boolean;
  [field: string]: unknown;
}

/**
 * A read-only npm registry on 127.0.0.1: a packument per name with every version
 * package-lock.json holds (manifest fields the lockfile keeps), tarballs from the npm cache's
 * content store by their sha512 integrity.
 */
async function startLockfileRegistry(cacheDir: string): Promise<{ url: string; server: Server; misses: string[] }> {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  // The repository's overrides ({ parent: { dependency: version } }) are applied to the served
  // manifests, as `npm ci` applied them: the cache holds only the overriding version.
  const overrides = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { overrides?: object })
    .overrides as Record<string, Record<string, string>> | undefined;
  for (const [parent, deps] of Object.entries(overrides ?? {}))
    if (typeof deps !== 'object')
      throw new Error(`lockfile registry: override ${parent} is not { dependency: version }`);
  const versions = new Map<string, Map<string, LockEntry>>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    const at = path.lastIndexOf('node_modules/');
    if (at < 0 || entry.link || !entry.integrity) continue;
    const name = path.slice(at + 'node_modules/'.length);
    const forced = overrides?.[name];
    const deps = forced && entry.dependencies ? { ...(entry.dependencies as object), ...forced } : entry.dependencies;
    if (!versions.has(name)) versions.set(name, new Map());
    versions.get(name)?.set(entry.version, { ...entry, ...(deps ? { dependencies: deps } : {}) });
  }
  const misses: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const tarball = /^\/-\/tarball\/([0-9a-f]{128})$/.exec(url.pathname);
    if (tarball) {
      const hex = tarball[1] as string;
      const file = join(cacheDir, '_cacache', 'content-v2', 'sha512', hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
      if (!existsSync(file)) {
        misses.push(url.pathname);
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
      return;
    }
    const name = decodeURIComponent(url.pathname.slice(1));
    const known = versions.get(name);
    if (!known) {
      misses.push(name);
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const doc: { name: string; 'dist-tags': { latest: string }; versions: Record<string, unknown> } = {
      name,
      'dist-tags': { latest: '' },
      versions: {},
    };
    for (const [version, entry] of known) {
      const {
        integrity,
        resolved: _r,
        dev: _d,
        optional: _o,
        peer: _p,
        devOptional: _do,
        license: _l,
        version: _v,
        ...fields
      } = entry;
      const hex = Buffer.from(String(integrity).replace(/^sha512-/, ''), 'base64').toString('hex');
      doc.versions[version] = { name, version, ...fields, dist: { integrity, tarball: `${base}/-/tarball/${hex}` } };
      doc['dist-tags'].latest = version;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server, misses };
}

/** The packed packages, in the order their project references build them. */
const PACKED_WORKSPACES = {
  '@p2p-comm/protocol': 'packages/protocol',
  '@p2p-comm/client': 'client',
  '@p2p-comm/rendezvous': 'apps/rendezvous',
};
const STAGED_ROOT_FILES = ['package.json', 'package-lock.json', 'tsconfig.base.json', 'tsconfig.build.json'];

/**
 * A copy of the three packed workspaces (sources, no dist/ or tests) in `dest`, packed there
 * instead of in the clone. Why: prepack writes dist/ and bundles protocol into
 * client/node_modules/@p2p-comm/protocol, and postpack deletes that copy again; in the clone,
 * a CLI that another test file starts at that moment resolves @p2p-comm/protocol to a
 * half-deleted directory and exits 1 (clean-clone CI runs saw `init` and an unknown command
 * exit 1). The stage's node_modules links every installed package of the clone, except the
 * workspaces, which link the staged copies, so tsc and the bundler see only the stage.
 */
function stageWorkspaces(dest: string): void {
  for (const f of STAGED_ROOT_FILES) cpSync(join(repo, f), join(dest, f));
  cpSync(join(repo, 'scripts'), join(dest, 'scripts'), { recursive: true });
  for (const dir of Object.values(PACKED_WORKSPACES)) {
    const from = join(repo, dir);
    cpSync(from, join(dest, dir), {
      recursive: true,
      filter: (f) => {
        const rel = f.slice(from.length + 1).split('/');
        if (rel[0] === 'dist' || rel[0] === 'test' || rel[0] === 'bench') return false;
        if (rel[0] === 'node_modules' && rel[1] === '@p2p-comm') return false; // a pack copy left behind
        return !f.endsWith('.tsbuildinfo');
      },
    });
  }
  const modules = join(dest, 'node_modules');
  mkdirSync(join(modules, '@p2p-comm'), { recursive: true });
  for (const name of readdirSync(join(repo, 'node_modules'))) {
    if (name !== '@p2p-comm') symlinkSync(join(repo, 'node_modules', name), join(modules, name));
  }
  for (const [name, dir] of Object.entries(PACKED_WORKSPACES)) symlinkSync(join(dest, dir), join(modules, name));
}

const tmp = mkdtempSync(join(tmpdir(), 'p2p-comm-install-'));
const prefix = join(tmp, 'prefix');
const elsewhere = join(tmp, 'elsewhere'); // the cwd of every installed command: not the clone
const bin = (name: string) => join(prefix, 'bin', name);
/** The environment of a user with only Node on PATH and the installed prefix. */
const userEnv: NodeJS.ProcessEnv = {
  PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`,
  HOME: join(tmp, 'home'),
  NEXUS_HOME: join(tmp, 'nexus'),
  LOG_LEVEL: 'info',
};
let registry: Awaited<ReturnType<typeof startLockfileRegistry>> | undefined;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) await stop(c);
  if (registry) await new Promise((r) => registry?.server.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

beforeAll(async () => {
  mkdirSync(elsewhere, { recursive: true });
  mkdirSync(userEnv.HOME as string, { recursive: true });
  const npmEnv = { ...process.env, npm_config_userconfig: join(tmp, 'npmrc') };
  writeFileSync(join(tmp, 'npmrc'), '');
  const cache = await run('npm', ['config', 'get', 'cache'], { cwd: repo, env: npmEnv });
  expect(cache.code, cache.err).toBe(0);
  registry = await startLockfileRegistry(cache.out.trim());
  const packs = join(tmp, 'packs');
  mkdirSync(packs);
  const stage = join(tmp, 'stage');
  stageWorkspaces(stage);
  for (const dir of ['client', 'apps/rendezvous']) {
    // prepack builds dist/ and bundles @p2p-comm/protocol (scripts/pack-bundle.mjs).
    const packed = await run('npm', ['pack', '--pack-destination', packs], {
      cwd: join(stage, dir),
      env: npmEnv,
      timeoutMs: 120_000,
    });
    expect(packed.code, packed.err).toBe(0);
  }
  const install = await run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--registry',
      registry.url,
      '--cache',
      join(tmp, 'npm-cache'), // keep 127.0.0.1 metadata out of the user's cache
      '--no-audit',
      '--no-fund',
      '--no-update-notifier',
      join(packs, `p2p-comm-client-${version('client')}.tgz`),
      join(packs, `p2p-comm-rendezvous-${version('apps/rendezvous')}.tgz`),
    ],
    { cwd: elsewhere, env: npmEnv, timeoutMs: INSTALL_TIMEOUT_MS },
  );
  expect(install.code, `${install.err}\nregistry misses: ${registry.misses.join(', ')}`).toBe(0);
}, INSTALL_TIMEOUT_MS + 150_000);

describe('the packed client and server, installed with npm install -g', () => {
  it('install compiled JS with protocol bundled, nothing linked back into the clone, and no tsx', () => {
    const lib = join(prefix, 'lib', 'node_modules', '@p2p-comm');
    expect(existsSync(join(lib, 'client', 'dist', 'cli', 'main.js'))).toBe(true);
    expect(existsSync(join(lib, 'rendezvous', 'dist', 'server.js'))).toBe(true);
    // No sources: bin/p2p-comm.js runs dist/ (it takes the tsx path only next to src/).
    expect(existsSync(join(lib, 'client', 'src'))).toBe(false);
    for (const pkg of ['client', 'rendezvous']) {
      const protocol = join(lib, pkg, 'node_modules', '@p2p-comm', 'protocol');
      expect(existsSync(join(protocol, 'dist', 'index.js')), pkg).toBe(true);
      expect(realpathSync(protocol).startsWith(realpathSync(prefix)), pkg).toBe(true);
    }
    expect(existsSync(join(prefix, 'lib', 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(lib, 'client', 'node_modules', 'tsx'))).toBe(false);
  });

  it('p2p-comm --version, --help, doctor --help and init work from a directory outside the clone', async () => {
    const shown = await run(bin('p2p-comm'), ['--version'], { cwd: elsewhere, env: userEnv });
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out.trim()).toBe(`p2p-comm ${version('client')}`);
    const help = await run(bin('p2p-comm'), ['--help'], { cwd: elsewhere, env: userEnv });
    expect(help.code, help.err).toBe(0);
    for (const command of ['serve', 'mcp', 'doctor', 'init']) expect(help.out).toContain(command);
    const doctor = await run(bin('p2p-comm'), ['doctor', '--help'], { cwd: elsewhere, env: userEnv });
    expect(doctor.code, doctor.err).toBe(0);
    expect(doctor.out).toContain('doctor');
    const init = await run(bin('p2p-comm'), ['init', '--name', 'Installed', '--json'], {
      cwd: elsewhere,
      env: userEnv,
    });
    expect(init.code, init.err).toBe(0);
    expect(JSON.parse(init.out)).toMatchObject({ name: 'Installed', created: true });
  }, 90_000);

  it('p2p-comm serve answers /healthz, and p2p-comm mcp answers MCP initialize on stdio', async () => {
    const serve = spawn(bin('p2p-comm'), ['serve', '--port', '0', '--host', '127.0.0.1', '--stun-port', '0'], {
      cwd: elsewhere,
      env: { ...userEnv, STUN_ALT_PORT: '0', LOG_LEVEL: 'silent' },
    });
    children.push(serve);
    const line = await waitForLine(serve, (l) => l.includes('Rendezvous server listening on'), COMMAND_TIMEOUT_MS);
    const url = /ws:\/\/127\.0\.0\.1:(\d+)/.exec(line)?.[0];
    expect(url, line).toBeDefined();
    const health = await fetch(`${(url as string).replace('ws:', 'http:')}/healthz`);
    expect(health.status).toBe(200);

    const mcp = spawn(bin('p2p-comm'), ['mcp'], {
      cwd: elsewhere,
      // initialize is answered locally; tools would call the host gateway (none runs here).
      env: { ...userEnv, P2P_COMM_PLUGIN_TOKEN: 'install-test-token', P2P_COMM_HOST_URL: 'http://127.0.0.1:9' },
    });
    children.push(mcp);
    const answer = waitForLine(mcp, (l) => l.includes('"id":1'), COMMAND_TIMEOUT_MS);
    mcp.stdin.write(
      `${JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'install-test', version: '1' } },
      })}\n`,
    );
    const reply = JSON.parse(await answer) as { result?: { serverInfo?: { name?: string } } };
    expect(reply.result?.serverInfo?.name, JSON.stringify(reply)).toBeTruthy();
    mcp.stdin.end();
    await stop(mcp);
    expect(await stop(serve)).toBe(0);
  }, 90_000);

  it('p2p-comm-rendezvous (the server package) answers /healthz', async () => {
    const server = spawn(bin('p2p-comm-rendezvous'), [], {
      cwd: elsewhere,
      env: { ...userEnv, PORT: '0', HOST: '127.0.0.1', STUN_PORT: '0', STUN_ALT_PORT: '0' },
    });
    children.push(server);
    const line = await waitForLine(server, (l) => l.includes('rendezvous listening'), COMMAND_TIMEOUT_MS);
    const port = (JSON.parse(line) as { port: number }).port;
    expect(port).toBeGreaterThan(0);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await stop(server)).toBe(0);
  }, 60_000);
});
