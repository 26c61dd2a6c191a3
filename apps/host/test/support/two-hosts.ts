/**
 * Two real host gateways over a real rendezvous server, for end-to-end tests: `p2p-comm serve`
 * as a process, a `p2p-comm extension` process per host, each host built with buildApp, and
 * consent between them given on Bob's approval queue as Bob would.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { buildApp, type HostApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { ExtensionClient } from '../../src/extension/client.js';
import { waitFor } from './harness.js';

export const BIN = fileURLToPath(new URL('../../../../client/bin/p2p-comm.js', import.meta.url));

export type TestHost = HostApp & { ext: ExtensionClient; key: string; home: string };

export interface HostOptions {
  name: string;
  server: string;
  plugins: Record<string, unknown>[];
  /** The host's maxMessageBytes; when set, it reaches the extension as server.ts passes it. */
  maxMessageBytes?: number;
}

/** A temporary directory, its processes and closers; `close` undoes all of it. */
export class TwoHostWorld {
  readonly dir: string;
  readonly #procs: ChildProcess[] = [];
  readonly #closers: Array<() => Promise<unknown>> = [];

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** `p2p-comm serve` on a free port of 127.0.0.1; resolves to its ws:// URL. */
  async serve(): Promise<string> {
    const p = spawn(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--stun-port', '0', '--json'],
      {
        env: {
          PATH: process.env.PATH ?? '',
          STUN_ALT_PORT: '0',
          LOG_LEVEL: 'silent',
          NEXUS_HOME: join(this.dir, 'srv'),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.#procs.push(p);
    let out = '';
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(() => out.includes('\n'), 45_000);
    return (JSON.parse(out.split('\n')[0]!) as { url: string }).url;
  }

  /** A host with its own identity (`p2p-comm init`) and its own extension process. */
  startHost(o: HostOptions): TestHost {
    const home = join(this.dir, o.name);
    const init = spawnSync(process.execPath, [BIN, 'init', '--name', o.name, '--json'], {
      env: { PATH: process.env.PATH ?? '', NEXUS_HOME: home },
      encoding: 'utf8',
    });
    expect(init.status).toBe(0);
    const key = (JSON.parse(init.stdout) as { key: string }).key;
    const config = parseConfig({
      uiToken: `ui-token-${o.name}-0123456789abcdef`,
      extensionCommand: [process.execPath, BIN, 'extension', '--approve'],
      userName: o.name,
      incomingApproval: 'always',
      approvalTimeoutMs: 60_000,
      ...(o.maxMessageBytes !== undefined ? { maxMessageBytes: o.maxMessageBytes } : {}),
      plugins: o.plugins,
    });
    const ext = ExtensionClient.spawn({
      command: config.extensionCommand,
      maxMessageBytes: config.maxMessageBytes,
      // WebRTC off: the relay carries it, so the run does not depend on ICE on this machine.
      env: { PATH: process.env.PATH ?? '', NEXUS_HOME: home, P2P_COMM_SERVER: o.server, P2P_COMM_WEBRTC: '0' },
      stderr: 'inherit',
    });
    const host = buildApp(config, { extension: ext });
    this.#closers.push(
      () => host.app.close(),
      () => ext.close(3_000),
    );
    return Object.assign(host, { ext, key, home });
  }

  /** Alice's extension asks Bob's; Bob's host puts it to Bob, who accepts; resolves once Alice trusts Bob. */
  async befriend(alice: TestHost, bob: TestHost): Promise<void> {
    const bobShare = (await bob.ext.identity()).share as string;
    const connected = (async () => {
      for (;;) {
        try {
          return await alice.ext.connect({ share: bobShare });
        } catch {
          await new Promise((r) => setTimeout(r, 200)); // rendezvous not connected yet
        }
      }
    })();
    const consent = await waitFor(() => bob.approvals.pending().find((a) => a.kind === 'consent'), 30_000);
    bob.approvals.decide(consent.id, true);
    await connected;
    for (let i = 0; i < 300; i++) {
      if ((await alice.ext.listPeers()).some((p) => p.key === bob.key && p.trusted)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Close hosts and extensions (last started first), stop the server, remove the directory. */
  async close(): Promise<void> {
    for (const c of this.#closers.splice(0).reverse()) await c().catch(() => undefined);
    for (const p of this.#procs) if (p.exitCode === null) p.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
