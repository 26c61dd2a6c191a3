/**
 * Real services started inside lab namespaces: the rendezvous server, redis-server, coturn, and
 * node scripts. Each returns a LabProcess the lab stops at teardown.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Lab, LabNode } from './lab.js';
import type { LabProcess } from './process.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = import.meta.resolve('tsx');
/** Longest wait for a service to say it is ready (ms). */
export const SERVICE_START_TIMEOUT_MS = 20_000;

/** `node --conditions=source --import tsx <file> ...args` inside a lab node. */
export function spawnTs(
  lab: Lab,
  node: LabNode,
  file: string,
  args: readonly string[] = [],
  opts: { env?: Record<string, string>; label?: string } = {},
): LabProcess {
  return lab.spawn(
    node,
    process.execPath,
    ['--conditions=source', '--import', TSX_LOADER, join(REPO_ROOT, file), ...args],
    { cwd: REPO_ROOT, ...opts },
  );
}

export interface CoturnOptions {
  secret: string;
  /** A second address of the node: coturn answers on its alternate port only with two listening IPs. */
  secondIp?: string;
  realm?: string;
  port?: number;
  altPort?: number;
}

/** coturn with REST (use-auth-secret) credentials, its state under a temp dir, no TLS/DTLS/CLI. */
export async function startCoturn(lab: Lab, node: LabNode, opts: CoturnOptions): Promise<LabProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'p2pnl-turn-'));
  const conf = join(dir, 'turnserver.conf');
  writeFileSync(
    conf,
    [
      `listening-ip=${node.ip}`,
      ...(opts.secondIp ? [`listening-ip=${opts.secondIp}`] : []),
      `relay-ip=${node.ip}`,
      `external-ip=${node.ip}`,
      `listening-port=${opts.port ?? 3478}`,
      `alt-listening-port=${opts.altPort ?? 3479}`,
      'use-auth-secret',
      `static-auth-secret=${opts.secret}`,
      `realm=${opts.realm ?? 'lab.example'}`,
      'no-tls',
      'no-dtls',
      'no-cli',
      'no-multicast-peers',
      'allowed-peer-ip=203.0.113.0-203.0.113.255',
      `userdb=${join(dir, 'turndb')}`,
      `pidfile=${join(dir, 'turnserver.pid')}`,
      'log-file=stdout',
      'simple-log',
      // Verbose logs name each ALLOCATE, so a scenario can prove its WebRTC path went through TURN.
      'verbose',
      'min-port=49152',
      'max-port=49999',
      '',
    ].join('\n'),
  );
  const p = lab.spawn(node, 'turnserver', ['-c', conf], { label: `coturn on ${node.name}` });
  void p.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  await p.waitForOutput(/Total (UDP|General) servers|IPv4\. UDP listener opened on/, SERVICE_START_TIMEOUT_MS);
  return p;
}

export const RENDEZVOUS_ENTRY = 'apps/rendezvous/src/server.ts';
export const RENDEZVOUS_HTTP_PORT = 8080;
export const RENDEZVOUS_STUN_PORT = 3478;
export const RENDEZVOUS_STUN_ALT_PORT = 3479;

export interface RendezvousInLab {
  readonly process: LabProcess;
  readonly node: LabNode;
  /** ws:// URL as clients on the lab's hosts reach it. */
  readonly url: string;
}

/** The real rendezvous server (in-memory broker unless REDIS_URL is given) on a lab server node. */
export async function startRendezvous(
  lab: Lab,
  node: LabNode,
  env: Record<string, string> = {},
): Promise<RendezvousInLab> {
  const url = `ws://${node.ip}:${RENDEZVOUS_HTTP_PORT}`;
  const p = spawnTs(lab, node, RENDEZVOUS_ENTRY, [], {
    label: `rendezvous on ${node.name}`,
    env: {
      HOST: '0.0.0.0',
      PORT: String(RENDEZVOUS_HTTP_PORT),
      STUN_PORT: String(RENDEZVOUS_STUN_PORT),
      STUN_ALT_PORT: String(RENDEZVOUS_STUN_ALT_PORT),
      PUBLIC_ORIGINS: `${node.ip}:${RENDEZVOUS_HTTP_PORT}`,
      LOG_LEVEL: 'info',
      ...env,
    },
  });
  await p.waitForOutput(/[Ll]istening/, SERVICE_START_TIMEOUT_MS);
  return { process: p, node, url };
}

const REDIS_LAB_PASSWORD = 'lab-redis-password';

/** A real redis-server on a lab server node, state in a temp dir. */
export async function startRedis(lab: Lab, node: LabNode, port = 6379): Promise<{ process: LabProcess; url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'p2pnl-redis-'));
  const p = lab.spawn(
    node,
    'redis-server',
    // A password, as Redis refuses non-loopback clients without one (protected mode).
    [
      '--bind',
      node.ip,
      '--port',
      String(port),
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      REDIS_LAB_PASSWORD,
    ],
    { label: `redis on ${node.name}` },
  );
  void p.exited.then(() => rmSync(dir, { recursive: true, force: true }));
  await p.waitForOutput(/Ready to accept connections/, SERVICE_START_TIMEOUT_MS);
  return { process: p, url: `redis://:${REDIS_LAB_PASSWORD}@${node.ip}:${port}` };
}
