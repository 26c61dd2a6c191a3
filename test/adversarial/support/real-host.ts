/**
 * A real host gateway (buildApp, listening on 127.0.0.1) in front of a real `p2p-comm extension`
 * child process with its own NEXUS_HOME, as `apps/host/src/server.ts` wires them. Used by the
 * adversarial tests of items 5–7, which need the gates, the approval queue and the extension
 * together.
 */
import { buildApp, type HostApp } from '../../../apps/host/src/app.js';
import { type HostConfig, parseConfig } from '../../../apps/host/src/config.js';
import { ExtensionClient } from '../../../apps/host/src/extension/client.js';
import { CLI_MAIN, REPO_ROOT, TSX_LOADER } from '../../../client/test/helpers/extension-process.js';

export const UI_TOKEN = 'adv-ui-token-0123456789abcdef';
export const PLUGIN_TOKEN = 'adv-plugin-token-0123456789abcdef';

export interface RealHost extends HostApp {
  url: string;
  ext: ExtensionClient;
  config: HostConfig;
  close(): Promise<void>;
}

export async function startRealHost(opts: {
  home: string;
  server: string;
  /** `--approve`: the extension holds every incoming message until the host answers. */
  approve?: boolean;
  incomingApproval?: 'always' | 'high-risk';
  permissions: string[];
  peers?: string[];
  approvalTimeoutMs?: number;
}): Promise<RealHost> {
  const ext = ExtensionClient.spawn({
    command: [
      process.execPath,
      '--conditions=source',
      '--import',
      TSX_LOADER,
      CLI_MAIN,
      'extension',
      ...(opts.approve ? ['--approve'] : []),
    ],
    env: { PATH: process.env.PATH ?? '', NEXUS_HOME: opts.home, P2P_COMM_SERVER: opts.server },
    cwd: REPO_ROOT,
    stderr: 'ignore',
  });
  const config = parseConfig({
    uiToken: UI_TOKEN,
    extensionCommand: ['(spawned by the test)'],
    userName: 'Alice',
    incomingApproval: opts.incomingApproval ?? 'always',
    approvalTimeoutMs: opts.approvalTimeoutMs ?? 20_000,
    plugins: [
      {
        id: 'plugin',
        name: 'Helper plugin',
        token: PLUGIN_TOKEN,
        permissions: opts.permissions,
        peers: opts.peers ?? ['trusted'],
      },
    ],
  });
  const host = buildApp(config, { extension: ext });
  const url = await host.app.listen({ host: '127.0.0.1', port: 0 });
  // The extension dials the rendezvous server on start; wait until it is connected (bounded).
  const end = Date.now() + 20_000;
  for (;;) {
    const status = (await ext.status()) as { server?: { state?: string } | null };
    if (status.server?.state === 'connected') break;
    if (Date.now() > end) throw new Error('extension did not connect to the rendezvous server');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    ...host,
    url,
    ext,
    config,
    close: async () => {
      await host.app.close();
      await ext.close();
    },
  };
}

/** A plugin call to the host's API with the test plugin's token. */
export async function pluginCall(
  host: RealHost,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${host.url}/v1/extensions/p2p-comm${path}`, {
    method,
    headers: {
      authorization: `Bearer ${PLUGIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Poll `fn` every 25 ms until it returns a truthy value or `timeoutMs` passes. */
export async function until<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
