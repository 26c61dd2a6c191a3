/**
 * Base images for the container tier, assembled locally from Debian packages because no public
 * registry is reachable from CI: one debootstrap root filesystem (Debian 13 ships Node 20.19),
 * saved twice as a tarball — once with Node and npm only (the NODE_IMAGE the Dockerfile builds
 * on, with a `node` user, uid 1000), once more with Redis, nginx, coturn and Prometheus — and
 * imported into podman. npm is the copy this machine runs (pure JavaScript, its dependencies
 * bundled), not Debian's npm package, which brings ~400 node-* packages: that one choice takes
 * about a minute off a cold run and ~150 MB off the image. Each service image docker-compose.yml names is then a metadata-only
 * build on the second one (USER, WORKDIR, CMD/ENTRYPOINT), so no container runs to make it.
 *
 * Everything is done once per machine: images carry a label with a hash of this recipe, and the
 * tarballs stay in CACHE_DIR, so a warm run only inspects a few labels. These are test fixtures;
 * the files users get name the public images, and a public image already present under one of
 * these names is used as it is.
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CACHE_DIR, imageExists, imageLabel, podman, run } from './engine.js';

/** Debian release the fixtures come from: the first with Node 20.19 (the engines floor). */
const SUITE = 'trixie';
const NODE_PACKAGES = ['ca-certificates', 'nodejs'];
const SERVICE_PACKAGES = ['redis-server', 'redis-tools', 'nginx', 'coturn', 'prometheus'];
/** Label holding the recipe hash; a local image without it is someone else's and is left alone. */
export const RECIPE_LABEL = 'p2p-comm.test.recipe';
/** What the Dockerfile builds on here (handed over as --build-arg NODE_IMAGE). */
export const NODE_IMAGE = 'localhost/p2p-comm-test/node:20';
const SERVICES_BASE_IMAGE = 'localhost/p2p-comm-test/services-base:latest';

/** Shell run in the root filesystem once Node is in: the official image's user, uid 1000. */
const NODE_PREP = 'useradd --uid 1000 --user-group --create-home --shell /bin/sh node';
/** Shell run after the service packages: the directories the compose services mount or use. */
const SERVICES_PREP = [
  'install -d -o redis -g redis -m 0750 /data',
  'install -d /usr/local/etc/redis /etc/coturn',
  'install -d -o nobody -g nogroup /prometheus',
].join(' && ');
/** Left out of both tarballs: package indexes, docs and translations nothing at run time reads. */
const TAR_EXCLUDES = [
  './var/lib/apt/lists/*',
  './var/cache/apt/*',
  './usr/share/doc/*',
  './usr/share/man/*',
  './usr/share/locale/*',
  './usr/sbin/policy-rc.d',
];

/**
 * The image each compose service is given, by service name: the metadata its public image
 * has that the compose file relies on (the official redis/prometheus/coturn images run as an
 * unprivileged user; prometheus's takes its flags as the command).
 */
const SERVICE_RECIPES: Readonly<Record<string, readonly string[]>> = {
  redis: ['USER redis', 'WORKDIR /data', 'CMD ["redis-server"]'],
  proxy: ['STOPSIGNAL SIGQUIT', 'CMD ["nginx", "-g", "daemon off;"]'],
  coturn: ['USER nobody:nogroup', 'CMD ["turnserver"]'],
  prometheus: [
    'USER nobody:nogroup',
    'WORKDIR /prometheus',
    'ENTRYPOINT ["/usr/bin/prometheus"]',
    'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]',
  ],
};

/** The npm this machine runs: its package directory and version. */
function hostNpm(): { dir: string; version: string } {
  const cli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const dir = dirname(dirname(cli)); // …/node_modules/npm/bin/npm-cli.js
  const { name, version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, string>;
  if (name !== 'npm') throw new Error(`${cli} is not inside the npm package`);
  return { dir, version: version! };
}

const NPM = hostNpm();
const RECIPE_KEY = createHash('sha256')
  .update(
    JSON.stringify({
      SUITE,
      NODE_PACKAGES,
      npm: NPM.version,
      SERVICE_PACKAGES,
      NODE_PREP,
      SERVICES_PREP,
      TAR_EXCLUDES,
      SERVICE_RECIPES,
    }),
  )
  .digest('hex')
  .slice(0, 16);

export interface BaseImagesReport {
  /** Images (re)made in this run; empty on a warm machine. */
  built: string[];
  /** Public images found under a compose name and used instead of a fixture. */
  foreign: string[];
  elapsedMs: number;
}

/**
 * The Debian mirror this machine's apt already uses (first `deb` source serving a Debian
 * archive that is not the security archive), so the fixtures come from the same place as the
 * host's own packages.
 */
export function debianMirror(): string {
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) for (const f of readdirSync(dir).sort()) files.push(join(dir, f));
  const uris: string[] = [];
  for (const file of files) {
    if (!existsSync(file) || !/(\.list|\.sources|sources\.list)$/.test(file)) continue;
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        if (!/^Types:.*\bdeb\b/m.test(stanza) || /^Enabled:\s*no/im.test(stanza)) continue;
        const list = /^URIs:\s*(.+)$/m.exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
        uris.push(...list);
      }
    } else {
      for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/gm)) uris.push(m[1]!);
    }
  }
  const mirror = uris.find((u) => /^https?:\/\//.test(u) && /\/debian\/?$/.test(u));
  if (!mirror) throw new Error(`no Debian mirror in this machine's apt sources (${files.join(', ')})`);
  return mirror.replace(/\/$/, '');
}

/**
 * The two root filesystem tarballs, made with one debootstrap when not cached yet. `onNode`
 * runs as soon as the Node tarball exists, alongside the service packages' installation.
 */
async function rootfsTarballs(
  log: (line: string) => void,
  onNode: (tarball: string) => Promise<void>,
): Promise<{ node: string; services: string }> {
  const dir = join(CACHE_DIR, RECIPE_KEY);
  const node = join(dir, 'node.tar');
  const services = join(dir, 'services.tar');
  if (existsSync(node) && existsSync(services)) {
    await onNode(node);
    return { node, services };
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rootfs = join(dir, 'rootfs');
  const mirror = debianMirror();
  log(`debootstrap ${SUITE} from ${mirror}`);
  // debootstrap's own resolver cannot install npm (alternatives, virtual packages): apt does that.
  await run('debootstrap', ['--variant=minbase', '--include=ca-certificates', SUITE, rootfs, mirror]);
  // Package maintainer scripts must not try to start services inside the chroot.
  writeFileSync(join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const inChroot = (script: string) =>
    run('chroot', [rootfs, 'sh', '-c', script], {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive' },
    });
  const install = (packages: readonly string[]) =>
    `apt-get install -y -qq --no-install-recommends ${packages.join(' ')} && apt-get clean`;
  log(`installing ${NODE_PACKAGES.join(' ')}, npm ${NPM.version}`);
  await inChroot(`apt-get update -qq && ${install(NODE_PACKAGES)} && ${NODE_PREP}`);
  mkdirSync(join(rootfs, 'usr/lib/node_modules'), { recursive: true });
  await run('cp', ['-a', NPM.dir, join(rootfs, 'usr/lib/node_modules/npm')]);
  for (const [bin, cli] of [
    ['npm', 'npm-cli.js'],
    ['npx', 'npx-cli.js'],
  ])
    symlinkSync(`../lib/node_modules/npm/bin/${cli}`, join(rootfs, 'usr/bin', bin!));
  const tar = async (out: string) => {
    log(`saving ${out}`);
    await run('tar', ['-C', rootfs, ...TAR_EXCLUDES.map((e) => `--exclude=${e}`), '-cf', `${out}.part`, '.']);
    renameSync(`${out}.part`, out);
  };
  await tar(node);
  const nodeDone = onNode(node);
  // If the services part fails, still settle the Node import before reporting the failure.
  try {
    log(`installing ${SERVICE_PACKAGES.join(' ')}`);
    await inChroot(`${install(SERVICE_PACKAGES)} && ${SERVICES_PREP}`);
    await tar(services);
    log('removing the build root');
    await run('rm', ['-rf', '--one-file-system', rootfs]);
  } finally {
    await nodeDone.catch(() => {});
  }
  await nodeDone;
  return { node, services };
}

async function importTarball(tarball: string, tag: string, changes: readonly string[]) {
  const args = ['import', ...[...changes, `LABEL ${RECIPE_LABEL}=${RECIPE_KEY}`].flatMap((c) => ['--change', c])];
  await podman([...args, tarball, tag]);
}

/** A metadata-only image on the services base (no RUN step: nothing to execute). */
async function deriveImage(tag: string, instructions: readonly string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-base-'));
  try {
    writeFileSync(
      join(dir, 'Containerfile'),
      [`FROM ${SERVICES_BASE_IMAGE}`, ...instructions, `LABEL ${RECIPE_LABEL}=${RECIPE_KEY}`, ''].join('\n'),
    );
    await podman(['build', '--quiet', '--pull=never', '--tag', tag, dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface BaseImages {
  /** Settles once NODE_IMAGE exists: the image build may start while the rest is made. */
  node: Promise<void>;
  /** Settles once every image exists. */
  done: Promise<BaseImagesReport>;
}

/**
 * Make sure NODE_IMAGE and one image per compose service in `images` (service name → image
 * name from docker-compose.yml) exist; builds only what is missing or from an older recipe.
 */
export function ensureBaseImages(
  images: Readonly<Record<string, string>>,
  log: (line: string) => void = () => {},
): BaseImages {
  let nodeReady: () => void = () => {};
  let nodeFailed: (err: unknown) => void = () => {};
  const node = new Promise<void>((resolve, reject) => {
    nodeReady = resolve;
    nodeFailed = reject;
  });
  const done = makeBaseImages(images, log, nodeReady);
  // A failure before the Node image existed fails `node` too (settling it twice is a no-op).
  done.catch(nodeFailed);
  return { node, done };
}

async function makeBaseImages(
  images: Readonly<Record<string, string>>,
  log: (line: string) => void,
  nodeReady: () => void,
): Promise<BaseImagesReport> {
  const started = Date.now();
  const report: BaseImagesReport = { built: [], foreign: [], elapsedMs: 0 };
  const ours = async (tag: string) => (await imageLabel(tag, RECIPE_LABEL)) === RECIPE_KEY;

  const needNode = !(await ours(NODE_IMAGE));
  if (!needNode) nodeReady();
  const wanted: [string, readonly string[]][] = [];
  for (const [service, image] of Object.entries(images)) {
    const recipe = SERVICE_RECIPES[service];
    if (!recipe) throw new Error(`no base image recipe for compose service ${service} (${image})`);
    if (await ours(image)) continue;
    if ((await imageExists(image)) && (await imageLabel(image, RECIPE_LABEL)) === '') {
      report.foreign.push(image);
      continue;
    }
    wanted.push([image, recipe]);
  }
  const needServices = wanted.length > 0 && !(await ours(SERVICES_BASE_IMAGE));
  if (needNode || needServices) {
    const tarballs = await rootfsTarballs(log, async (nodeTar) => {
      if (!needNode) return;
      log(`importing ${NODE_IMAGE}`);
      await importTarball(nodeTar, NODE_IMAGE, ['CMD ["node"]']);
      report.built.push(NODE_IMAGE);
      nodeReady();
    });
    if (needServices) {
      log(`importing ${SERVICES_BASE_IMAGE}`);
      await importTarball(tarballs.services, SERVICES_BASE_IMAGE, []);
      report.built.push(SERVICES_BASE_IMAGE);
    }
  }
  for (const [image, recipe] of wanted) {
    log(`deriving ${image}`);
    await deriveImage(image, recipe);
    report.built.push(image);
  }
  report.elapsedMs = Date.now() - started;
  return report;
}
