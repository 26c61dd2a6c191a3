/** The config adaptation used by the cluster test matches the real configs exactly, or fails. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './compose.js';
import { renderNginxConf, renderRedisConf } from './render.js';

const redisConf = readFileSync(`${REPO_ROOT}infra/redis/redis.conf`, 'utf8');
const nginxConf = readFileSync(`${REPO_ROOT}infra/nginx/nginx.conf`, 'utf8');
const nginxOpts = {
  upstreams: new Map([
    ['rendezvous-1:8080', '127.0.0.1:4001'],
    ['rendezvous-2:8080', '127.0.0.1:4002'],
  ]),
  httpsPort: 4443,
  httpPort: 4080,
  certDir: '/tmp/x/certs',
  runDir: '/tmp/x/run',
};

describe('renderRedisConf', () => {
  it('binds loopback, moves the port and data dir, and keeps persistence settings', () => {
    const out = renderRedisConf(redisConf, { port: 7001, dataDir: '/tmp/x/redis' });
    expect(out).toMatch(/^bind 127\.0\.0\.1$/m);
    expect(out).toMatch(/^port 7001$/m);
    expect(out).toMatch(/^dir \/tmp\/x\/redis$/m);
    expect(out).toMatch(/^appendonly yes$/m);
    expect(out).toMatch(/^maxmemory-policy noeviction$/m);
  });
  it('fails when the config no longer has the expected line', () => {
    expect(() => renderRedisConf(redisConf.replace(/^dir .*$/m, ''), { port: 1, dataDir: '/' })).toThrow(/dir/);
  });
});

describe('renderNginxConf', () => {
  it('points every upstream at its local replica and moves listeners, certs and runtime files', () => {
    const out = renderNginxConf(nginxConf, nginxOpts);
    expect(out).toMatch(/^\s*server 127\.0\.0\.1:4001 /m);
    expect(out).toMatch(/^\s*server 127\.0\.0\.1:4002 /m);
    expect(out).not.toMatch(/rendezvous-\d/);
    expect(out).toContain('listen 127.0.0.1:4443 ssl;');
    expect(out).toContain('listen 127.0.0.1:4080;');
    expect(out).toContain('ssl_certificate /tmp/x/certs/tls.crt;');
    expect(out).toContain('ssl_certificate_key /tmp/x/certs/tls.key;');
    expect(out).toContain('proxy_temp_path /tmp/x/run/proxy;');
    const directives = out.replace(/#.*$/gm, '');
    expect(directives).not.toContain('/etc/nginx');
  });
  it('refuses an upstream it has no local address for', () => {
    const upstreams = new Map([['rendezvous-1:8080', '127.0.0.1:4001']]);
    expect(() => renderNginxConf(nginxConf, { ...nginxOpts, upstreams })).toThrow(/rendezvous-2:8080/);
  });
});
