/**
 * Container tier: build infra/Dockerfile for real and run the real docker-compose.yml with podman.
 *
 * 1. Base images (base-images.ts): assembled from Debian packages once per machine and cached.
 * 2. The image: built from infra/Dockerfile; runs as uid 1000 on a read-only root filesystem,
 *    its HEALTHCHECK turns healthy, and `podman stop` makes it tell a connected peer RESTARTING
 *    and exit 0 within the compose file's stop_grace_period.
 * 3. The cluster: `podman-compose up` of docker-compose.yml (an override only lowers the
 *    replicas' ulimits to this machine's hard limits; the test certificate comes in through
 *    TLS_CERT_DIR); /healthz through the TLS proxy, /metrics only inside; two real clients on
 *    different replicas agree consent and exchange an acked message, the replicas linked (their
 *    rdv_instance_links_open is 1); one replica is killed while
 *    both keep sending and nothing is lost; `down` leaves nothing behind.
 *
 * Needs root (rootful podman, debootstrap, chroot). Skips with that reason otherwise, and never
 * skips under CI=true. Prints its timings and writes them to CACHE_DIR/container-tier.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { FrameType, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stunBinding } from '../../client/src/stun/client.js';
import { type ComposeFile, loadCompose, parseEnvFile, REPO_ROOT, serviceEnv } from '../../infra/test/compose.js';
import { TestPeer } from '../../infra/test/peer.js';
import { freeTcpPort, httpGet } from '../../infra/test/processes.js';
import { ensureBaseImages, NODE_IMAGE } from './base-images.js';
import { CACHE_DIR, engineEnv, hardLimits, podman, run } from './engine.js';

const IS_ROOT = process.getuid?.() === 0;
const IN_CI = process.env.CI === 'true';
const SKIP = !IS_ROOT && !IN_CI;
const SKIP_REASON = 'needs root (rootful podman, debootstrap, chroot); this tier runs whenever CI=true';
if (SKIP) console.warn(`containers.test.ts skipped: ${SKIP_REASON}`);

/** The image this tier builds (compose gets it through RENDEZVOUS_IMAGE). */
const IMAGE = 'localhost/p2p-comm/rendezvous:container-tier';
/** Compose project name: apart from any stack an operator runs on the same machine. */
const PROJECT = 'p2p-comm-ctest';
const CORE_SERVICES = ['redis', 'rendezvous-1', 'rendezvous-2', 'proxy'];
/** The services behind `--profile turn` and `--profile monitoring`. */
const OPTIONAL_SERVICES = ['coturn', 'prometheus'];
/** Budget for base images plus the image build on a cold machine, ms. */
const BUILD_TIMEOUT_MS = 15 * 60_000;
/** Budget for a container to turn healthy or answer through the proxy, ms. */
const READY_TIMEOUT_MS = 90_000;
/** Pause between health probes, ms. */
const PROBE_INTERVAL_MS = 250;

const results: Record<string, unknown> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The operator's .env: the example with the one required secret filled in. */
function operatorEnv(extra: Record<string, string>): Record<string, string> {
  const example = parseEnvFile(readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'));
  return {
    ...example,
    REDIS_PASSWORD: randomBytes(32).toString('hex'),
    INSTANCE_LINK_SECRET: randomBytes(32).toString('hex'),
    ...extra,
  };
}

/** Run the image's own HEALTHCHECK until it passes (podman schedules it only under systemd). */
async function untilHealthy(container: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const r = await run('podman', ['healthcheck', 'run', container], { allowFailure: true });
    if (r.code === 0) return;
    last = `${r.stdout}${r.stderr}`.trim().split('\n').at(-1) ?? '';
    await sleep(PROBE_INTERVAL_MS);
  }
  const logs = await run('podman', ['logs', '--tail', '40', container], { allowFailure: true });
  throw new Error(`${container} not healthy after ${timeoutMs} ms (${last})\n${logs.stdout}${logs.stderr}`);
}

async function untilOk(what: string, probe: () => Promise<boolean>, timeoutMs = READY_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(PROBE_INTERVAL_MS);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ${last}`);
}

describe.skipIf(SKIP)(`containers with podman${SKIP ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  let compose: ComposeFile;

  beforeAll(async () => {
    if (!IS_ROOT) throw new Error(`CI=true but ${SKIP_REASON}`);
    for (const tool of ['podman', 'podman-compose', 'debootstrap'])
      if ((await run('sh', ['-c', `command -v ${tool}`], { allowFailure: true })).code !== 0)
        throw new Error(`${tool} is not installed: .ci/run installs it from Debian's packages`);
    if (existsSync(join(REPO_ROOT, '.env')))
      throw new Error('a .env in the repository root would override this test’s settings (compose reads it): move it');
    compose = loadCompose(operatorEnv({}));
    const images: Record<string, string> = {};
    for (const name of ['redis', 'proxy', 'coturn', 'prometheus']) images[name] = compose.services[name]!.image!;
    const tierStarted = Date.now();
    const base = ensureBaseImages(images, (line) => console.log(`containers: ${line}`));
    // The image build needs only the Node base; the service images are made meanwhile.
    await base.node;

    // The CA bundle this machine trusts for the npm registry, if any, reaches only npm ci.
    const ca = process.env.NODE_EXTRA_CA_CERTS;
    const caArgs =
      ca && existsSync(ca)
        ? [
            '-v',
            `${ca}:/etc/ssl/certs/build-extra-ca.crt:ro`,
            '--build-arg',
            'NPM_EXTRA_CA_CERTS=/etc/ssl/certs/build-extra-ca.crt',
          ]
        : [];
    const started = Date.now();
    let buildS = 0;
    const building = run('podman', [
      'build',
      // The OCI format has no HEALTHCHECK: podman would drop it (docker format keeps it).
      '--format=docker',
      '--pull=never',
      '--file=infra/Dockerfile',
      '--ignorefile=infra/Dockerfile.dockerignore',
      `--build-arg=NODE_IMAGE=${NODE_IMAGE}`,
      ...caArgs,
      `--tag=${IMAGE}`,
      REPO_ROOT,
    ]).then((r) => {
      buildS = (Date.now() - started) / 1000;
      return r;
    });
    const [build, baseReport] = await Promise.all([building, base.done]);
    results.baseImages = { ...baseReport, elapsedS: baseReport.elapsedMs / 1000 };
    const size = Number(await podman(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
    const baseSize = Number(await podman(['image', 'inspect', '--format', '{{.Size}}', NODE_IMAGE]));
    results.image = {
      buildS,
      // Build steps served from podman's layer cache (all of them on a warm, unchanged tree).
      cachedSteps: build.stdout.split('\n').filter((l) => l.startsWith('--> Using cache')).length,
      sizeMB: Math.round(size / 1e6),
      baseMB: Math.round(baseSize / 1e6),
      appLayersMB: Math.round((size - baseSize) / 1e6),
    };
    results.imagesReadyS = (Date.now() - tierStarted) / 1000;
  }, BUILD_TIMEOUT_MS);

  afterAll(() => {
    console.log(`containers: ${JSON.stringify(results)}`);
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(join(CACHE_DIR, 'container-tier.json'), `${JSON.stringify(results, null, 2)}\n`);
  });

  it(
    'the image runs as non-root on a read-only root, turns healthy, and drains on podman stop',
    async () => {
      const replica = compose.services['rendezvous-1']!;
      const graceS = Number(/^(\d+)s$/.exec(replica.stop_grace_period ?? '')?.[1]);
      const drainMs = Number(serviceEnv(replica).DRAIN_TIMEOUT_MS);
      expect(graceS * 1000).toBeGreaterThan(drainMs);
      const port = await freeTcpPort();
      const origin = `127.0.0.1:${port}`;
      const name = `${PROJECT}-image`;
      await podman(['rm', '--force', '--time=0', name], { allowFailure: true });
      const started = Date.now();
      await podman([
        'run',
        '--detach',
        `--name=${name}`,
        '--read-only',
        '--tmpfs=/tmp',
        '--cap-drop=ALL',
        '--security-opt=no-new-privileges:true',
        `--publish=127.0.0.1:${port}:8080`,
        `--env=PUBLIC_ORIGINS=${origin}`,
        '--env=ADMISSION=open',
        `--env=DRAIN_TIMEOUT_MS=${drainMs}`,
        '--env=STUN_PORT=0',
        IMAGE,
      ]);
      try {
        await untilHealthy(name);
        const timeToHealthyS = (Date.now() - started) / 1000;
        expect(await podman(['inspect', '--format', '{{.State.Healthcheck.Status}}', name])).toBe('healthy');
        expect(await podman(['exec', name, 'id', '-u'])).toBe('1000');
        expect(await podman(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', name])).toBe('true');
        const write = await run('podman', ['exec', name, 'touch', '/app/probe'], { allowFailure: true });
        expect(write.code).not.toBe(0);
        expect(write.stderr).toMatch(/Read-only file system/);

        const peer = await TestPeer.connect({
          url: `ws://${origin}/v1/ws`,
          origin,
          ca: '',
          identity: generateIdentity(nodeSuite),
        });
        const stopStarted = Date.now();
        const stopping = run('podman', ['stop', `--time=${graceS}`, name]);
        const restarting = await peer.next(FrameType.RESTARTING, drainMs);
        expect(restarting.retryAfterMs).toBeGreaterThanOrEqual(0);
        peer.close(); // a client leaves when told; the replica then exits without waiting out the drain
        await stopping;
        const stopS = (Date.now() - stopStarted) / 1000;
        expect(await podman(['inspect', '--format', '{{.State.ExitCode}}', name])).toBe('0');
        expect(stopS).toBeLessThan(graceS);
        results.container = { timeToHealthyS, stopS, graceS };
      } finally {
        await podman(['rm', '--force', '--time=0', name], { allowFailure: true });
      }
    },
    3 * READY_TIMEOUT_MS,
  );

  describe('docker-compose.yml', () => {
    let dir = '';
    let env: Record<string, string> = {};
    let origin = '';
    let ca = '';
    let down = false;
    const composeArgs = () => ['-p', PROJECT, '-f', 'docker-compose.yml', '-f', join(dir, 'override.yml')];
    const podmanCompose = (args: readonly string[], allowFailure = false) =>
      run('podman-compose', [...composeArgs(), ...args], { env: engineEnv(env), cwd: REPO_ROOT, allowFailure });
    const container = (service: string) => `${PROJECT}_${service}_1`;
    const turnConf = readFileSync(join(REPO_ROOT, 'infra/coturn/turnserver.conf'), 'utf8');
    const turnPort = Number(/^listening-port=(\d+)$/m.exec(turnConf)?.[1]);
    const byLabel = async (kind: 'ps' | 'volume' | 'network') => {
      const filter = `label=io.podman.compose.project=${PROJECT}`;
      const list = kind === 'ps' ? ['ps', '--all'] : [kind, 'ls'];
      const format = kind === 'ps' ? '{{.Names}}' : '{{.Name}}';
      return (await podman([...list, '--filter', filter, '--format', format])).split('\n').filter(Boolean);
    };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'p2p-ctest-'));
      const certDir = join(dir, 'certs');
      mkdirSync(certDir);
      const opensslArgs = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
      opensslArgs.push('-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1');
      opensslArgs.push('-keyout', join(certDir, 'tls.key'), '-out', join(certDir, 'tls.crt'));
      execFileSync('openssl', opensslArgs, { stdio: 'pipe' });
      ca = readFileSync(join(certDir, 'tls.crt'), 'utf8');

      // This machine cannot grant the file limit the compose file asks for; lower it to what it can.
      const { nofile, nproc } = hardLimits();
      const limits = `    ulimits:\n      nofile: { soft: ${nofile}, hard: ${nofile} }\n      nproc: { soft: ${nproc}, hard: ${nproc} }\n`;
      const replicas = Object.keys(compose.services).filter((n) => /^rendezvous-\d+$/.test(n));
      writeFileSync(join(dir, 'override.yml'), `services:\n${replicas.map((r) => `  ${r}:\n${limits}`).join('')}`);

      const httpsPort = await freeTcpPort();
      origin = `127.0.0.1:${httpsPort}`;
      env = operatorEnv({
        // The TURN profile as docs/operations.md sets it up (coturn shares the secret).
        TURN_SECRET: randomBytes(32).toString('hex'),
        TURN_URLS: `turn:127.0.0.1:${turnPort}?transport=udp`,
        TURN_EXTERNAL_IP: '127.0.0.1',
        PUBLIC_ORIGINS: origin,
        HTTPS_PORT: String(httpsPort),
        HTTP_PORT: String(await freeTcpPort()),
        TLS_CERT_DIR: certDir,
        RENDEZVOUS_IMAGE: IMAGE,
        LOG_LEVEL: 'warn',
      });
      // Leftovers of an interrupted run would clash by name.
      await podmanCompose(['down', '-v', '-t', '0'], true);
      for (const net of await byLabel('network'))
        await podman(['network', 'rm', '--force', net], { allowFailure: true });

      const started = Date.now();
      // Without --profile the optional services stay down, as with `docker compose up -d`.
      await podmanCompose(['up', '-d', '--no-build', ...CORE_SERVICES]);
      for (const service of ['redis', 'rendezvous-1', 'rendezvous-2']) await untilHealthy(container(service));
      await untilOk(
        '/healthz through the proxy',
        async () => (await httpGet(`https://${origin}/healthz`, ca)).status === 200,
      );
      results.compose = { upToHealthyS: (Date.now() - started) / 1000 };
    }, 3 * READY_TIMEOUT_MS);

    afterAll(async () => {
      if (!down) {
        await podmanCompose(['down', '-v', '-t', '0'], true);
        for (const net of await byLabel('network'))
          await podman(['network', 'rm', '--force', net], { allowFailure: true });
      }
      if (dir) rmSync(dir, { recursive: true, force: true });
    }, READY_TIMEOUT_MS);

    it('serves /healthz through the TLS proxy and /metrics only inside the network', async () => {
      expect((await httpGet(`https://${origin}/healthz`, ca)).status).toBe(200);
      expect((await httpGet(`https://${origin}/metrics`, ca)).status).toBe(404);
      const probe = "fetch('http://127.0.0.1:8080/metrics').then(r=>process.stdout.write(String(r.status)))";
      expect(await podman(['exec', container('rendezvous-1'), 'node', '-e', probe])).toBe('200');
    });

    it(
      'answers STUN from a replica, and runs the TURN and monitoring profiles: Prometheus scrapes both replicas',
      async () => {
        const stun = async (port: number) => {
          const socket = createSocket('udp4');
          socket.bind(0, '127.0.0.1');
          try {
            return await stunBinding(socket, { host: '127.0.0.1', port }, { timeoutMs: 10_000 });
          } finally {
            socket.close();
          }
        };
        const stunPort = Number(serviceEnv(compose.services['rendezvous-1']!).STUN_PORT);
        expect((await stun(stunPort)).mapped.port).toBeGreaterThan(0);

        // podman-compose 1.0 ignores profiles: naming the services is `--profile turn --profile monitoring`.
        await podmanCompose(['up', '-d', '--no-build', ...OPTIONAL_SERVICES]);
        let turnAnswered = false;
        await untilOk('a STUN answer from coturn', async () => {
          turnAnswered = (await stun(turnPort)).mapped.port > 0;
          return turnAnswered;
        });
        const targets = async () => {
          const r = await httpGet('http://127.0.0.1:9090/api/v1/targets');
          const body = JSON.parse(r.body) as {
            data: { activeTargets: { labels: { job: string; instance: string }; health: string }[] };
          };
          return body.data.activeTargets.filter((t) => t.labels.job === 'rendezvous');
        };
        // The first scrape comes within one scrape_interval (15 s) of the start.
        await untilOk('Prometheus scraping both replicas', async () => {
          const t = await targets();
          return t.length === 2 && t.every((x) => x.health === 'up');
        });
        const scraped = (await targets()).map((t) => t.labels.instance).sort();
        expect(scraped).toEqual(['rendezvous-1:8080', 'rendezvous-2:8080']);
      },
      3 * READY_TIMEOUT_MS,
    );

    it(
      'carries consent and messages between clients on two replicas, and loses none when one is killed',
      async () => {
        const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
        const child = spawn(
          process.execPath,
          [
            '--conditions=source',
            '--import',
            tsx,
            join(REPO_ROOT, 'test/containers/fixtures/failover-pair.ts'),
            `wss://${origin}`,
            join(dir, 'home-a'),
            join(dir, 'home-b'),
          ],
          {
            cwd: REPO_ROOT,
            env: { PATH: process.env.PATH, HOME: dir, NODE_EXTRA_CA_CERTS: join(dir, 'certs', 'tls.crt') },
            stdio: ['pipe', 'pipe', 'pipe'],
          },
        );
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString()).slice(-8_192);
        });
        const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
        const next = async (): Promise<Record<string, unknown>> => {
          const { value, done } = await lines.next();
          if (done) throw new Error(`client pair exited early\n${stderr}`);
          return JSON.parse(value) as Record<string, unknown>;
        };
        try {
          const { keys } = (await next()) as { keys: string[] };
          const allowlistKey = serviceEnv(compose.services['rendezvous-1']!).ALLOWLIST_REDIS_KEY!;
          // The operator's command from docs/operations.md (REDISCLI_AUTH is set in the container).
          expect(await podman(['exec', container('redis'), 'redis-cli', 'SADD', allowlistKey, ...keys])).toBe('2');
          child.stdin.write('go\n');
          const { instances } = (await next()) as { instances: { alice: string; bob: string } };
          expect(instances.alice).toMatch(/^rendezvous-\d$/);
          expect(instances.bob).toMatch(/^rendezvous-\d$/);
          expect(instances.bob).not.toBe(instances.alice);
          expect(await next()).toEqual({ consented: true, acked: true });
          // The replicas reached each other over an instance link (dialed on their first batch):
          // rdv_instance_links_open from inside the network, where /metrics is served.
          const probe =
            "fetch('http://127.0.0.1:8080/metrics').then(r=>r.text()).then(t=>process.stdout.write(/^rdv_instance_links_open (\\d+)$/m.exec(t)?.[1]??'none'))";
          for (const replica of ['rendezvous-1', 'rendezvous-2'])
            await untilOk(`${replica} has an instance link open`, async () => {
              return (await podman(['exec', container(replica), 'node', '-e', probe])) === '1';
            });
          child.stdin.write('kill\n');

          const { kill } = (await next()) as { kill: string };
          const killedAt = Date.now();
          await podman(['kill', container(kill)]);
          const outcome = (await next()) as {
            sent: number;
            delivered: number;
            lost: string[];
            duplicates: number;
            failed: string[];
            error: string;
            instances: { alice: string; bob: string };
          };
          results.failover = {
            killed: kill,
            ...outcome,
            lostCount: outcome.lost.length,
            seconds: (Date.now() - killedAt) / 1000,
          };
          expect(outcome.error, stderr).toBe('');
          expect(outcome.lost).toEqual([]);
          expect(outcome.failed).toEqual([]);
          expect(outcome.delivered).toBe(outcome.sent);
          expect(outcome.duplicates).toBe(0);
          // Bob's replica died: he is served by the one that stayed up.
          expect(outcome.instances.bob).toBe(instances.alice);
        } catch (err) {
          const logs = await Promise.all(
            CORE_SERVICES.map(async (s) => {
              const r = await run('podman', ['logs', '--tail', '30', container(s)], { allowFailure: true });
              return `--- ${s} ---\n${r.stdout}${r.stderr}`;
            }),
          );
          throw new Error(`${(err as Error).message}\n${stderr}\n${logs.join('\n')}`);
        } finally {
          if (child.exitCode === null) child.kill('SIGKILL');
        }
      },
      3 * READY_TIMEOUT_MS,
    );

    it(
      'down leaves no container, volume or network behind',
      async () => {
        const grace = compose.services['rendezvous-1']!.stop_grace_period ?? '20s';
        await podmanCompose(['down', '-v', '-t', String(Number.parseInt(grace, 10))]);
        down = true;
        expect(await byLabel('ps')).toEqual([]);
        expect(await byLabel('volume')).toEqual([]);
        // podman-compose 1.0 (Debian 12) does not remove the project network on down, where docker
        // compose does: remove it the way a newer podman-compose does, then check nothing is left.
        for (const net of await byLabel('network')) await podman(['network', 'rm', net]);
        expect(await byLabel('network')).toEqual([]);
      },
      READY_TIMEOUT_MS,
    );
  });
});
