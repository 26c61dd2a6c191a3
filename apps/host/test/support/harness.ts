import { buildApp, type HostApp } from '../../src/app.js';
import { parseConfig } from '../../src/config.js';
import { StubExtension } from './stub-extension.js';

export const UI_TOKEN = 'ui-token-0123456789abcdef';
export const AGENT_TOKEN = 'agent-token-0123456789abcdef';
export const READER_TOKEN = 'reader-token-0123456789abcdef';

/** A host with two plugins: `agent` (send+receive+peers+connect, scope given) and `reader`. */
export function makeHost(opts: {
  key: string;
  agentPeers: string[];
  incomingApproval?: 'always' | 'high-risk';
  approvalTimeoutMs?: number;
  readerPermissions?: string[];
  extraPlugins?: Record<string, unknown>[];
  maxMessageBytes?: number;
}): HostApp & { ext: StubExtension; lines: string[] } {
  const ext = new StubExtension(opts.key);
  const lines: string[] = [];
  const config = parseConfig({
    uiToken: UI_TOKEN,
    extensionCommand: ['unused'],
    userName: 'Alice',
    incomingApproval: opts.incomingApproval ?? 'always',
    approvalTimeoutMs: opts.approvalTimeoutMs ?? 10_000,
    highRiskBytes: 2_000,
    ...(opts.maxMessageBytes !== undefined ? { maxMessageBytes: opts.maxMessageBytes } : {}),
    plugins: [
      {
        id: 'agent',
        name: 'AI agent',
        token: AGENT_TOKEN,
        permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:receive', 'ext:p2p-comm:peers', 'ext:p2p-comm:connect'],
        peers: opts.agentPeers,
      },
      {
        id: 'reader',
        name: 'Reader',
        token: READER_TOKEN,
        permissions: opts.readerPermissions ?? ['ext:p2p-comm:receive'],
        peers: [],
      },
      ...(opts.extraPlugins ?? []),
    ],
  });
  const host = buildApp(config, { extension: ext, auditSink: (l) => lines.push(l) });
  return { ...host, ext, lines };
}

export async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 5_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('waitFor timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
