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
