/**
 * A file from an MCP client to a plugin on another host, with every part real: a rendezvous
 * server (`p2p-comm serve`), two `p2p-comm extension` processes, two host gateways with their
 * gates and approval queues, and `p2p-comm mcp` driven by the MCP SDK's client over stdio.
 * send_file → Alice's gates → files.send → Bob's host runs its incoming gates on the offer and
 * asks Bob → the file lands in Bob's inbox → his plugin reads it and fetches where it landed.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type HostApp } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { ExtensionClient } from '../src/extension/client.js';
import { API_PREFIX } from '../src/routes/plugin-api.js';
import { waitFor } from './support/harness.js';

const BIN = fileURLToPath(new URL('../../../client/bin/p2p-comm.js', import.meta.url));
const MCP_TOKEN = 'mcp-client-token-0123456789';
const AGENT_TOKEN = 'agent-token-0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'p2p-mcp-files-'));
const procs: ChildProcess[] = [];
const closers: Array<() => Promise<unknown>> = [];
let mcp: Client;
let alice: HostApp & { ext: ExtensionClient; key: string };
let bob: HostApp & { ext: ExtensionClient; key: string };

type ToolResult = { isError?: boolean; content: { type: string; text: string }[]; structuredContent?: unknown };
const call = async (name: string, args: Record<string, unknown> = {}) =>
  (await mcp.callTool({ name, arguments: args })) as ToolResult;

async function serve(): Promise<string> {
  const p = spawn(
    process.execPath,
    [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', '--stun-port', '0', '--json'],
    {
      env: { PATH: process.env.PATH ?? '', STUN_ALT_PORT: '0', LOG_LEVEL: 'silent', NEXUS_HOME: join(dir, 'srv') },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  procs.push(p);
  let out = '';
  p.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  await waitFor(() => out.includes('\n'), 45_000);
  return (JSON.parse(out.split('\n')[0]!) as { url: string }).url;
}

function startHost(name: string, server: string, plugins: Record<string, unknown>[]) {
  const home = join(dir, name);
  const init = spawnSync(process.execPath, [BIN, 'init', '--name', name, '--json'], {
    env: { PATH: process.env.PATH ?? '', NEXUS_HOME: home },
    encoding: 'utf8',
  });
  expect(init.status).toBe(0);
  const key = (JSON.parse(init.stdout) as { key: string }).key;
  const ext = ExtensionClient.spawn({
    command: [process.execPath, BIN, 'extension', '--approve'],
    // WebRTC off: the relay carries it, so the run does not depend on ICE on this machine.
    env: { PATH: process.env.PATH ?? '', NEXUS_HOME: home, P2P_COMM_SERVER: server, P2P_COMM_WEBRTC: '0' },
    stderr: 'inherit',
  });
  const config = parseConfig({
    uiToken: `ui-token-${name}-0123456789abcdef`,
    extensionCommand: ['unused'],
    userName: name,
    incomingApproval: 'always',
    approvalTimeoutMs: 60_000,
    plugins,
  });
  const host = buildApp(config, { extension: ext });
  closers.push(
    () => host.app.close(),
    () => ext.close(3_000),
  );
  return Object.assign(host, { ext, key, home });
}

beforeAll(async () => {
  const server = await serve();
  alice = startHost('Alice', server, [
    {
      id: 'claude-code',
      name: 'Claude Code',
      token: MCP_TOKEN,
      permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:receive', 'ext:p2p-comm:peers'],
      peers: ['trusted'],
    },
  ]);
  bob = startHost('Bob', server, [
    { id: 'agent', name: 'AI agent', token: AGENT_TOKEN, permissions: ['ext:p2p-comm:receive'], peers: ['trusted'] },
  ]);
  // Consent: Alice's extension asks, Bob's host asks Bob, Bob accepts on his approval queue.
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
    if ((await alice.ext.listPeers()).some((p) => p.key === bob.key && p.trusted)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = await alice.app.listen({ host: '127.0.0.1', port: 0 });
  mcp = new Client({ name: 'p2p-comm-files-test', version: '1.0.0' });
  await mcp.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      env: { PATH: process.env.PATH ?? '', P2P_COMM_HOST_URL: url, P2P_COMM_PLUGIN_TOKEN: MCP_TOKEN },
      stderr: 'inherit',
    }),
  );
}, 120_000);

afterAll(async () => {
  await mcp?.close();
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('MCP send_file → the peer host gates → fetch_file', () => {
  it('round trip: send_file, list_files, Bob is asked, the file lands, his plugin fetches it', async () => {
    const content = randomBytes(12_000);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const src = join(dir, 'numbers.bin');
    writeFileSync(src, content);

    const sent = await call('send_file', { path: src, peer: 'Bob', note: 'the numbers' });
    expect(sent.isError).toBeFalsy();
    const transferId = (sent.structuredContent as { transferId: string }).transferId;
    expect(transferId).toMatch(/^[0-9a-f]{32}$/);

    // Bob's host asks Bob, showing what the offer says; nothing flows before he answers.
    const ask = await waitFor(() => bob.approvals.pending().find((a) => a.kind === 'receive'), 30_000);
    expect(ask.prompt).toBe(
      'Alice wants to send the file "numbers.bin" (application/octet-stream, 12000 bytes) to your AI agent. Allow?',
    );
    expect(ask.preview).toBe(`sha256 ${sha256}\nnote: the numbers`);
    const listed = await call('list_files');
    expect(listed.isError).toBeFalsy();
    const outgoing = (listed.structuredContent as { transfers: { outgoing: Array<{ id: string; state: string }> } })
      .transfers.outgoing;
    expect(outgoing).toContainEqual(expect.objectContaining({ id: transferId, state: 'offered', bytes: 0 }));
    bob.approvals.decide(ask.id, true);

    // Bob's plugin gets the file item once it landed with the right hash, and fetches it.
    const read = await bob.app.inject({
      url: `${API_PREFIX}/messages?wait=20000`,
      headers: { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}` },
    });
    expect(read.json().items).toEqual([
      expect.objectContaining({ type: 'file', transferId, from: alice.key, name: 'numbers.bin', sha256, size: 12_000 }),
    ]);
    const fetched = await bob.app.inject({
      url: `${API_PREFIX}/files/${transferId}`,
      headers: { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}` },
    });
    expect(fetched.statusCode).toBe(200);
    const where = fetched.json() as { path: string; sha256: string };
    expect(where.sha256).toBe(sha256);
    expect(where.path).toBe(join(dir, 'Bob', 'inbox', alice.key, 'numbers.bin'));
    expect(readFileSync(where.path)).toEqual(content);

    // On Alice's side the transfer is over; fetch_file names only files this client received.
    let outgoingLeft: unknown[] = [];
    for (let i = 0; i < 100; i++) {
      const after = await call('list_files');
      outgoingLeft = (after.structuredContent as { transfers: { outgoing: unknown[] } }).transfers.outgoing;
      if (outgoingLeft.length === 0) break;
      await new Promise((r) => setTimeout(r, 100)); // Bob's DONE on its way
    }
    expect(outgoingLeft).toEqual([]);
    const notMine = await call('fetch_file', { id: transferId });
    expect(notMine.isError).toBe(true);
    expect(notMine.content[0]!.text).toContain('HOST_ERR_NOT_FOUND');
    const relative = await call('send_file', { path: 'numbers.bin', peer: 'Bob' });
    expect(relative.isError).toBe(true);
    expect(relative.content[0]!.text).toContain('MCP_ERR_BAD_ARGUMENT');
  }, 90_000);
});
