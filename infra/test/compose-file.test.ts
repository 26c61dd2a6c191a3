/**
 * Static checks of docker-compose.yml, .env.example, infra/Dockerfile and the proxy config
 * against each other and against the rendezvous config table (CONFIG_SPEC / loadConfig): the
 * compose file must only set variables the app accepts, with values it accepts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONFIG_SPEC, loadConfig } from '../../apps/rendezvous/src/config.js';
import {
  composeVariables,
  dockerfileCmd,
  interpolate,
  loadCompose,
  parseEnvFile,
  REPO_ROOT,
  readComposeRaw,
  serviceEnv,
} from './compose.js';

const read = (rel: string) => readFileSync(`${REPO_ROOT}${rel}`, 'utf8');
const exampleEnv = parseEnvFile(read('.env.example'));
/** What an operator adds to the example before `docker compose up`: the two required secrets. */
const operatorEnv = { ...exampleEnv, REDIS_PASSWORD: 'a'.repeat(64), INSTANCE_LINK_SECRET: 'c'.repeat(64) };
const compose = loadCompose(operatorEnv);
const rendezvousNames = Object.keys(compose.services).filter((n) => /^rendezvous-\d+$/.test(n));
const specDefault = (env: string) => CONFIG_SPEC.find((e) => e.env === env)?.default;

describe('compose variable interpolation', () => {
  it('follows compose semantics for defaults, required variables and escapes', () => {
    // biome-ignore-start lint/suspicious/noTemplateCurlyInString: compose interpolation syntax, not JS templates
    const vars = { SET: 'x', EMPTY: '' };
    expect(interpolate('${SET:-d} ${EMPTY:-d} ${UNSET:-d} ${EMPTY-d} ${UNSET-d}', vars)).toBe('x d d  d');
    expect(interpolate('$SET $$SET ${SET:+alt} ${EMPTY:+alt}', vars)).toBe('x $SET alt ');
    expect(() => interpolate('${EMPTY:?needed}', vars)).toThrow(/EMPTY: needed/);
    expect(interpolate('${EMPTY?needed}', vars)).toBe('');
    // biome-ignore-end lint/suspicious/noTemplateCurlyInString: compose interpolation syntax, not JS templates
  });
});

describe('docker-compose.yml', () => {
  it('has redis, at least two rendezvous replicas and the proxy; coturn and prometheus are opt-in profiles', () => {
    expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['redis', 'proxy', 'coturn', 'prometheus']));
    expect(rendezvousNames.length).toBeGreaterThanOrEqual(2);
    expect(compose.services.coturn?.profiles).toEqual(['turn']);
    expect(compose.services.prometheus?.profiles).toEqual(['monitoring']);
    for (const name of ['redis', 'proxy', ...rendezvousNames]) expect(compose.services[name]?.profiles).toBeUndefined();
  });

  it('refuses to start without the Redis password or the link secret (secrets come from the env file)', () => {
    expect(() => loadCompose(exampleEnv)).toThrow(/REDIS_PASSWORD/);
    expect(exampleEnv.REDIS_PASSWORD).toBe('');
    expect(() => loadCompose({ ...operatorEnv, INSTANCE_LINK_SECRET: '' })).toThrow(/INSTANCE_LINK_SECRET/);
    expect(exampleEnv.INSTANCE_LINK_SECRET).toBe('');
  });

  it('links the replicas: each listens on the backend network and announces its own service name', () => {
    const addrs = new Set<string>();
    for (const name of rendezvousNames) {
      const service = compose.services[name]!;
      const cfg = loadConfig(serviceEnv(service));
      const [host, port] = (cfg.instanceLinkListen ?? '').split(':');
      expect(host).toBe('0.0.0.0');
      expect(Number(port)).toBeGreaterThan(0);
      // The other replica dials this name on the compose network (service names resolve there).
      expect(serviceEnv(service).INSTANCE_LINK_ADDR).toBe(`${name}:${port}`);
      expect(Buffer.byteLength(cfg.instanceLinkSecret ?? '')).toBeGreaterThanOrEqual(32);
      addrs.add(serviceEnv(service).INSTANCE_LINK_ADDR!);
      // Internal only: the link port is never published on the host.
      expect(JSON.stringify(service.ports ?? [])).not.toContain(String(port));
    }
    expect(addrs.size).toBe(rendezvousNames.length);
    expect(() =>
      loadConfig({ ...serviceEnv(compose.services[rendezvousNames[0]!]!), INSTANCE_LINK_SECRET: 'short' }),
    ).toThrow(/INSTANCE_LINK_SECRET/);
  });

  it('sets only variables the rendezvous accepts, and loadConfig accepts the values', () => {
    const known = new Set(CONFIG_SPEC.map((e) => e.env));
    for (const name of rendezvousNames) {
      const env = serviceEnv(compose.services[name]!);
      expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
      const cfg = loadConfig(env);
      expect(cfg.redisUrl).toMatch(/^redis:\/\/:a{64}@redis:6379$/);
      expect(cfg.trustProxy).toBe(true);
      expect(cfg.admission).toBe(exampleEnv.ADMISSION);
    }
  });

  it('gives every replica a distinct INSTANCE_ID and the command of the image', () => {
    const ids = rendezvousNames.map((n) => serviceEnv(compose.services[n]!).INSTANCE_ID);
    expect(new Set(ids).size).toBe(rendezvousNames.length);
    for (const name of rendezvousNames) expect(compose.services[name]!.command).toEqual(dockerfileCmd());
  });

  it('lets a replica drain before docker kills it', () => {
    for (const name of rendezvousNames) {
      const env = serviceEnv(compose.services[name]!);
      const drainMs = Number(env.DRAIN_TIMEOUT_MS || specDefault('DRAIN_TIMEOUT_MS'));
      const grace = /^(\d+)s$/.exec(compose.services[name]!.stop_grace_period ?? '');
      expect(grace, 'stop_grace_period in seconds').not.toBeNull();
      expect(Number(grace![1]) * 1000).toBeGreaterThan(drainMs);
    }
  });

  it('fails config validation loudly for a half-configured admission mode', () => {
    const env = serviceEnv(loadCompose({ ...operatorEnv, ADMISSION: 'token' }).services[rendezvousNames[0]!]!);
    expect(() => loadConfig(env)).toThrow(/INVITE_SECRET/);
    const ok = serviceEnv(
      loadCompose({ ...operatorEnv, ADMISSION: 'token', INVITE_SECRET: 'b'.repeat(64) }).services[rendezvousNames[0]!]!,
    );
    expect(loadConfig(ok).admission).toBe('token');
  });

  it('asks for no variable in optional services, so a plain `docker compose up` never needs them', () => {
    const raw = readComposeRaw() as { services: Record<string, { profiles?: string[] }> };
    for (const [name, service] of Object.entries(raw.services))
      if (service.profiles) expect(JSON.stringify(service), name).not.toMatch(/\$\{[A-Z0-9_]+:?\?/);
  });

  it('writes no reference with an empty default, which podman-compose 1.0 leaves unexpanded', () => {
    const text = read('docker-compose.yml');
    expect(text.match(/\$\{[A-Za-z0-9_]+:?-\}/g) ?? []).toEqual([]);
  });

  it('documents every variable it reads in .env.example', () => {
    const missing = [...composeVariables().keys()].filter((v) => !(v in exampleEnv));
    expect(missing).toEqual([]);
  });

  it('keeps the env file out of git', () => {
    const ignored = execFileSync('git', ['check-ignore', '.env'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    expect(ignored).toBe('.env');
  });

  it('uses merge keys so replicas cannot drift apart', () => {
    const raw = readComposeRaw() as { services: Record<string, { environment: Record<string, unknown> }> };
    const [first, ...rest] = rendezvousNames.map((n) => {
      const { INSTANCE_ID: _id, INSTANCE_LINK_ADDR: _addr, ...env } = raw.services[n]!.environment;
      return env;
    });
    for (const env of rest) expect(env).toEqual(first);
  });
});

describe('infra/nginx/nginx.conf', () => {
  const conf = read('infra/nginx/nginx.conf');
  it('balances over every rendezvous replica on its PORT', () => {
    for (const name of rendezvousNames) {
      const port = serviceEnv(compose.services[name]!).PORT;
      expect(conf).toMatch(new RegExp(`^\\s*server ${name}:${port}\\b`, 'm'));
    }
  });
  it('upgrades /v1/ws, overwrites X-Forwarded-For and hides /metrics', () => {
    expect(conf).toMatch(/location = \/v1\/ws \{[^}]*proxy_set_header Upgrade \$http_upgrade;[^}]*\}/s);
    expect(conf).toMatch(/proxy_set_header X-Forwarded-For \$remote_addr;/);
    expect(conf).not.toMatch(/location[^{]*metrics/);
    expect(conf).toMatch(/listen 443 ssl;/);
  });
  it('is mounted where the proxy service expects it', () => {
    expect(compose.services.proxy?.volumes).toEqual(
      expect.arrayContaining(['./infra/nginx/nginx.conf:/etc/nginx/nginx.conf:ro']),
    );
  });
});

describe('infra/prometheus/prometheus.yml', () => {
  it('scrapes every replica directly', () => {
    const conf = parseYaml(read('infra/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const job = conf.scrape_configs.find((j) => j.job_name === 'rendezvous');
    expect(job?.metrics_path).toBe('/metrics');
    const targets = job?.static_configs.flatMap((c) => c.targets) ?? [];
    expect(targets.sort()).toEqual(rendezvousNames.map((n) => `${n}:${serviceEnv(compose.services[n]!).PORT}`).sort());
  });
});

describe('infra/Dockerfile', () => {
  const dockerfile = read('infra/Dockerfile');
  it('is multi-stage, installs production dependencies only and runs as a non-root user', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
  });
  it('exposes the default HTTP and STUN ports of the app and checks /healthz', () => {
    const expose = /^EXPOSE (.+)$/m.exec(dockerfile)?.[1]?.split(/\s+/) ?? [];
    expect(expose).toEqual(
      expect.arrayContaining([
        `${specDefault('PORT')}/tcp`,
        `${specDefault('STUN_PORT')}/udp`,
        `${specDefault('STUN_ALT_PORT')}/udp`,
      ]),
    );
    expect(dockerfile).toMatch(/^HEALTHCHECK [\s\S]*\/healthz/m);
  });
  it('runs node as PID 1 in exec form so SIGTERM reaches the drain handler', () => {
    expect(dockerfileCmd()[0]).toBe('node');
    expect(dockerfile).not.toMatch(/^ENTRYPOINT /m);
  });
});

describe('infra/coturn/turnserver.conf', () => {
  it('does not collide with the STUN ports published by the replicas and uses the REST secret', () => {
    const conf = read('infra/coturn/turnserver.conf');
    const turnPort = Number(/^listening-port=(\d+)$/m.exec(conf)?.[1]);
    const published = (compose.services['rendezvous-1']?.ports ?? []).map((p) => Number(p.split(':')[0]));
    expect(published).toEqual([Number(specDefault('STUN_PORT')), Number(specDefault('STUN_ALT_PORT'))]);
    expect(published).not.toContain(turnPort);
    expect(conf).toMatch(/^use-auth-secret$/m);
    expect(compose.services.coturn?.command?.join(' ')).toMatch(/--static-auth-secret=/);
  });
});
