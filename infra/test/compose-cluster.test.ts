/**
 * The compose cluster, end to end, without a container engine: read docker-compose.yml, take the
 * redis, rendezvous and proxy services' commands and environment, and run the same programs on
 * 127.0.0.1 — redis-server with infra/redis/redis.conf, two rendezvous replicas (from source:
 * the image's `node apps/rendezvous/dist/server.js` becomes `node --import tsx …/src/server.ts`),
 * nginx with infra/nginx/nginx.conf and a throwaway certificate. Then two peers authenticate
 * through the proxy over TLS, land on different replicas, and relay a sealed envelope across
 * them. Skips only when nginx is not installed and CI is not set.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import {
  AckStatus,
  DeliverChannel,
  EnvelopeType,
  encodeKey,
  FrameType,
  generateIdentity,
  openEnvelope,
  ReplayGuard,
  sealEnvelope,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ComposeService, hostPathOf, loadCompose, parseEnvFile, REPO_ROOT, serviceEnv } from './compose.js';
import { TestPeer } from './peer.js';
import { freeTcpPort, freeUdpPort, httpGet, Proc, waitFor } from './processes.js';
import { renderNginxConf, renderRedisConf } from './render.js';

const NGINX = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const IN_CI = process.env.CI === 'true';
const SKIP_REASON = 'nginx is not installed (apt-get install nginx-light); this test runs whenever CI=true';
/** Startup budget for each process on a busy 2-core machine, ms. */
const START_TIMEOUT_MS = 45_000;

if (!NGINX && !IN_CI) console.warn(`compose-cluster.test.ts skipped: ${SKIP_REASON}`);

/** Minimal RESP client for setup (AUTH + one command); the app brings its own Redis client. */
async function redisCommand(port: number, password: string, args: readonly string[]): Promise<string> {
  const encode = (parts: readonly string[]) =>
    `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(2_000, () => socket.destroy(new Error('redis timeout')));
    socket.on('error', reject);
    socket.on('data', (d) => {
      reply += d.toString('utf8');
      const lines = reply.split('\r\n');
      if (lines.length >= 3) {
        socket.end();
        if (!lines[0]!.startsWith('+OK')) reject(new Error(`AUTH failed: ${lines[0]}`));
        else resolve(lines[1]!);
      }
    });
    socket.write(encode(['AUTH', password]) + encode(args));
  });
}

/** The rendezvous image command, run from TypeScript sources (CI does not build dist/). */
function fromSource(command: readonly string[]): { cmd: string; args: string[] } {
  const [node, script, ...rest] = command;
  if (node !== 'node' || !script?.startsWith('apps/') || !script.includes('/dist/'))
    throw new Error(`unexpected rendezvous command ${JSON.stringify(command)}`);
  const source = script.replace('/dist/', '/src/').replace(/\.js$/, '.ts');
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return { cmd: process.execPath, args: ['--conditions=source', '--import', tsx, source, ...rest] };
}

const SKIP = !NGINX && !IN_CI;
describe.skipIf(SKIP)(`compose cluster through the TLS proxy${SKIP ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  const procs: Proc[] = [];
  let dir = '';
  let ca = '';
  let origin = '';
  let redisPort = 0;
  const redisPassword = randomBytes(24).toString('hex');
  const replicas: { name: string; proc: Proc; port: number; env: Record<string, string> }[] = [];
  let composeEnv: Record<string, string> = {};
  let httpPort = 0;
  const peers: TestPeer[] = [];

  const diagnostics = () => {
    const nginxLog = join(dir, 'nginx', 'error.log');
    const log = existsSync(nginxLog) ? readFileSync(nginxLog, 'utf8').slice(-8_192) : '';
    return `${procs.map((p) => p.output).join('\n')}\n--- nginx error.log ---\n${log}`;
  };

  beforeAll(async () => {
    if (!NGINX) throw new Error('CI=true but nginx is missing: .ci/run installs nginx-light');
    dir = mkdtempSync(join(tmpdir(), 'p2p-compose-'));
    // Running as root, nginx workers drop to an unprivileged user and must reach runDir.
    chmodSync(dir, 0o711);
    const runDir = join(dir, 'nginx');
    const certDir = join(dir, 'certs');
    const redisDir = join(dir, 'redis');
    for (const d of [runDir, certDir, redisDir]) mkdirSync(d);
    chmodSync(runDir, 0o777);

    const httpsPort = await freeTcpPort();
    httpPort = await freeTcpPort();
    redisPort = await freeTcpPort();
    origin = `127.0.0.1:${httpsPort}`;

    // The operator's .env: the example plus the secret and public origin of this machine.
    composeEnv = {
      ...parseEnvFile(readFileSync(`${REPO_ROOT}.env.example`, 'utf8')),
      REDIS_PASSWORD: redisPassword,
      INSTANCE_LINK_SECRET: randomBytes(32).toString('hex'),
      PUBLIC_ORIGINS: origin,
      LOG_LEVEL: 'warn',
    };
    const compose = loadCompose(composeEnv);
    const svc = (name: string): ComposeService => {
      const s = compose.services[name];
      if (!s) throw new Error(`compose has no service ${name}`);
      return s;
    };

    // Redis: the compose command, with the config file it mounts adapted to this machine.
    const redis = svc('redis');
    const [redisBin, confPath, ...redisArgs] = redis.command ?? [];
    expect(redisBin).toBe('redis-server');
    const conf = renderRedisConf(readFileSync(hostPathOf(redis, confPath!), 'utf8'), {
      port: redisPort,
      dataDir: redisDir,
    });
    writeFileSync(join(dir, 'redis.conf'), conf);
    const redisProc = new Proc('redis', 'redis-server', [join(dir, 'redis.conf'), ...redisArgs], {
      cwd: dir,
      env: { PATH: process.env.PATH },
    });
    procs.push(redisProc);
    await waitFor(
      'redis PING',
      async () => (await redisCommand(redisPort, redisPassword, ['PING'])) === '+PONG',
      START_TIMEOUT_MS,
      redisProc,
    );

    // Rendezvous replicas: compose env with container addresses mapped to this machine.
    const names = Object.keys(compose.services).filter((n) => /^rendezvous-\d+$/.test(n));
    expect(names.length).toBeGreaterThanOrEqual(2);
    const upstreams = new Map<string, string>();
    for (const name of names) {
      const service = svc(name);
      const env = serviceEnv(service);
      const port = await freeTcpPort();
      const local = {
        ...env,
        HOST: '127.0.0.1',
        PORT: String(port),
        STUN_PORT: String(await freeUdpPort()),
        STUN_ALT_PORT: String(await freeUdpPort()),
        REDIS_URL: env.REDIS_URL!.replace('@redis:6379', `@127.0.0.1:${redisPort}`),
        // Links on loopback, any free port: the address announced is the bound one.
        INSTANCE_LINK_LISTEN: '127.0.0.1:0',
        INSTANCE_LINK_ADDR: '127.0.0.1:0',
      };
      expect(local.REDIS_URL).toContain(`127.0.0.1:${redisPort}`);
      const { cmd, args } = fromSource(service.command ?? []);
      const proc = new Proc(name, cmd, args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...local } });
      procs.push(proc);
      replicas.push({ name, proc, port, env: local });
      upstreams.set(`${name}:${env.PORT}`, `127.0.0.1:${port}`);
    }
    for (const r of replicas)
      await waitFor(
        `${r.name} /readyz`,
        async () => (await httpGet(`http://127.0.0.1:${r.port}/readyz`)).status === 200,
        START_TIMEOUT_MS,
        r.proc,
      );

    // Proxy: the compose command plus a prefix, config and error log in the temp dir.
    const opensslArgs = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    opensslArgs.push('-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1');
    opensslArgs.push('-keyout', join(certDir, 'tls.key'), '-out', join(certDir, 'tls.crt'));
    execFileSync('openssl', opensslArgs, { stdio: 'pipe' });
    ca = readFileSync(join(certDir, 'tls.crt'), 'utf8');
    const proxy = svc('proxy');
    const nginxConf = renderNginxConf(readFileSync(hostPathOf(proxy, '/etc/nginx/nginx.conf'), 'utf8'), {
      upstreams,
      httpsPort,
      httpPort,
      certDir,
      runDir,
    });
    writeFileSync(join(runDir, 'nginx.conf'), nginxConf);
    const [nginxBin, ...nginxArgs] = proxy.command ?? [];
    expect(nginxBin).toBe('nginx');
    const nginx = new Proc(
      'nginx',
      NGINX,
      ['-p', `${runDir}/`, '-c', join(runDir, 'nginx.conf'), '-e', join(runDir, 'error.log'), ...nginxArgs],
      { cwd: runDir, env: { PATH: process.env.PATH } },
    );
    procs.push(nginx);
    await waitFor(
      'nginx /healthz',
      async () => (await httpGet(`https://${origin}/healthz`, ca)).status === 200,
      START_TIMEOUT_MS,
      nginx,
    );
  }, 4 * START_TIMEOUT_MS);

  afterAll(async () => {
    for (const p of peers) p.close();
    // Reverse start order: proxy, replicas, then Redis.
    await Promise.all(
      procs
        .slice()
        .reverse()
        .map((p) => p.stop(p.name === 'nginx' ? 'SIGQUIT' : 'SIGTERM', 15_000)),
    );
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const connectPeer = async () => {
    const identity = generateIdentity(nodeSuite);
    if (composeEnv.ADMISSION === 'allowlist') {
      const key = replicas[0]!.env.ALLOWLIST_REDIS_KEY!;
      expect(await redisCommand(redisPort, redisPassword, ['SADD', key, encodeKey(identity.publicKey)])).toBe(':1');
    }
    const peer = await TestPeer.connect({ url: `wss://${origin}/v1/ws`, origin, ca, identity });
    peers.push(peer);
    return peer;
  };
  const instanceOf = (peer: TestPeer) => String(peer.welcome.instanceId);

  it('serves /healthz through the proxy, keeps /metrics internal, and redirects plain HTTP', async () => {
    try {
      const health = await httpGet(`https://${origin}/healthz`, ca);
      expect(health.status).toBe(200);
      expect((await httpGet(`https://${origin}/metrics`, ca)).status).toBe(404);
      const metrics = await httpGet(`http://127.0.0.1:${replicas[0]!.port}/metrics`);
      expect(metrics.status).toBe(200);
      // Every metric the shipped alert rules use is one the replica exports.
      const alerts = readFileSync(`${REPO_ROOT}infra/prometheus/alerts.yml`, 'utf8');
      const used = new Set(alerts.match(/\brdv_[a-z0-9_]+/g));
      expect(used.size).toBeGreaterThan(5);
      const exported = new Set(metrics.body.match(/^# TYPE (\S+)/gm)?.map((l) => l.slice('# TYPE '.length)));
      expect([...used].filter((m) => !exported.has(m))).toEqual([]);
      // …and every service metric is explained to operators.
      const doc = readFileSync(`${REPO_ROOT}docs/operations.md`, 'utf8');
      const service = [...exported].filter((m) => m.startsWith('rdv_') && !m.startsWith('rdv_process_'));
      expect(service.filter((m) => !doc.includes(`\`${m}\``) && !doc.includes(`\`${m}{`))).toEqual([]);
      const redirect = await httpGet(`http://127.0.0.1:${httpPort}/healthz`);
      expect(redirect.status).toBe(308);
      expect(String(redirect.headers.location)).toMatch(/^https:\/\//);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${diagnostics()}`);
    }
  });

  it('relays a sealed envelope between peers on different replicas, over TLS through the proxy', async () => {
    try {
      const alice = await connectPeer();
      // least_conn sends the second socket to the idle replica; retry a bounded number of times
      // in case another connection landed in between.
      let bob = await connectPeer();
      for (let i = 0; i < 4 && instanceOf(bob) === instanceOf(alice); i++) {
        bob.close();
        bob = await connectPeer();
      }
      const ids = new Set(replicas.map((r) => r.env.INSTANCE_ID));
      expect(ids.has(instanceOf(alice)), `WELCOME names a compose INSTANCE_ID: ${JSON.stringify(alice.welcome)}`).toBe(
        true,
      );
      expect(instanceOf(bob)).not.toBe(instanceOf(alice));

      const plaintext = new TextEncoder().encode('hello across the cluster');
      const envelope = sealEnvelope(nodeSuite, {
        type: EnvelopeType.DATA,
        sender: alice.identity,
        recipient: bob.identity.publicKey,
        plaintext,
      });
      alice.send({ type: FrameType.RELAY, frameId: 7, to: bob.identity.publicKey, envelope });
      const delivered = await bob.next(FrameType.DELIVER);
      expect(delivered.channel).toBe(DeliverChannel.RELAY);
      expect(Buffer.from(delivered.from).equals(Buffer.from(alice.identity.publicKey))).toBe(true);
      expect(Buffer.from(delivered.envelope).equals(Buffer.from(envelope))).toBe(true);
      const opened = openEnvelope(nodeSuite, delivered.envelope, {
        recipient: bob.identity,
        replayGuard: new ReplayGuard(),
      });
      expect(new TextDecoder().decode(opened.plaintext)).toBe('hello across the cluster');
      const ack = await alice.next(FrameType.ACK);
      expect(ack).toMatchObject({ frameId: 7, status: AckStatus.DELIVERED });

      // And back, as a signal (never mailboxed).
      const reply = sealEnvelope(nodeSuite, {
        type: EnvelopeType.SIGNAL,
        sender: bob.identity,
        recipient: alice.identity.publicKey,
        plaintext: new TextEncoder().encode('{"sdp":"…"}'),
      });
      bob.send({ type: FrameType.SIGNAL, frameId: 8, to: alice.identity.publicKey, envelope: reply });
      const signal = await alice.next(FrameType.DELIVER);
      expect(signal.channel).toBe(DeliverChannel.SIGNAL);
      expect(Buffer.from(signal.envelope).equals(Buffer.from(reply))).toBe(true);

      // The compose file links the replicas: the cross-replica traffic opened one (dialed lazily).
      for (const r of replicas)
        await waitFor(
          `${r.name} rdv_instance_links_open 1`,
          async () => /^rdv_instance_links_open 1$/m.test((await httpGet(`http://127.0.0.1:${r.port}/metrics`)).body),
          START_TIMEOUT_MS,
          r.proc,
        );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${diagnostics()}`);
    }
  });

  it('carries a consented message between two real clients (the SDK) through the proxy', async () => {
    const homes = [join(dir, 'home-a'), join(dir, 'home-b')];
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        tsx,
        join(REPO_ROOT, 'infra/test/fixtures/sdk-pair.ts'),
        `wss://${origin}`,
        ...homes,
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
    const nextLine = async () => {
      const { value, done } = await lines.next();
      if (done) throw new Error(`client pair exited early\n${stderr}`);
      return JSON.parse(value) as { keys?: string[]; ok?: boolean; text?: string; error?: string };
    };
    try {
      const { keys } = await nextLine();
      expect(keys).toHaveLength(2);
      if (composeEnv.ADMISSION === 'allowlist')
        for (const key of keys!)
          await redisCommand(redisPort, redisPassword, ['SADD', composeEnv.ALLOWLIST_REDIS_KEY!, key]);
      child.stdin.write('go\n');
      const result = await nextLine();
      expect(result, stderr).toEqual({ ok: true, text: 'hello through the proxy' });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${stderr}\n${diagnostics()}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);

  it('drains on SIGTERM: connected peers are told RESTARTING and the replica exits cleanly', async () => {
    try {
      const peer = await connectPeer();
      const replica = replicas.find((r) => r.env.INSTANCE_ID === instanceOf(peer))!;
      const drainMs = Number(replica.env.DRAIN_TIMEOUT_MS);
      replica.proc.child.kill('SIGTERM');
      const restarting = await peer.next(FrameType.RESTARTING, drainMs);
      expect(restarting.retryAfterMs).toBeGreaterThanOrEqual(0);
      // Clients leave when told; once they have, the replica exits without waiting out the drain.
      const leftAt = Date.now();
      for (const p of peers) p.close();
      const exit = await replica.proc.stop('SIGTERM', drainMs + 5_000);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - leftAt).toBeLessThan(drainMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${diagnostics()}`);
    }
  }, 60_000);
});
