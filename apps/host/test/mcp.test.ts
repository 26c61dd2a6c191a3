/**
 * `p2p-comm mcp` driven by the MCP SDK's own client over stdio. The MCP server is a plugin of
 * a real host gateway with its own token, permissions and scope, so every tool passes the gates.
 * (The extension behind the gateway is the in-memory stand-in; e2e tests use the real one.)
 */
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHost, waitFor } from './support/harness.js';
import { fakeKey } from './support/stub-extension.js';

const BIN = fileURLToPath(new URL('../../../client/bin/p2p-comm.js', import.meta.url));
const ME = fakeKey(1);
const BOB = fakeKey(2);
const CAROL = fakeKey(3);
const MCP_TOKEN = 'mcp-client-token-0123456789';
const host = makeHost({
  key: ME,
  agentPeers: [],
  extraPlugins: [
    {
      id: 'claude-code',
      name: 'Claude Code',
      token: MCP_TOKEN,
      permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:receive', 'ext:p2p-comm:peers'],
      peers: [BOB],
    },
  ],
});
host.ext.peersList = [
  { key: BOB, name: 'Bob', trusted: true, state: 'trusted' },
  { key: CAROL, name: 'Carol', trusted: true, state: 'trusted' },
];
let client: Client;

type ToolResult = {
  isError?: boolean;
  content: { type: string; text: string }[];
  structuredContent?: Record<string, unknown>;
};
const call = async (name: string, args: Record<string, unknown> = {}) =>
  (await client.callTool({ name, arguments: args })) as ToolResult;

beforeAll(async () => {
  const url = await host.app.listen({ host: '127.0.0.1', port: 0 });
  client = new Client({ name: 'p2p-comm-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      env: { PATH: process.env.PATH ?? '', P2P_COMM_HOST_URL: url, P2P_COMM_PLUGIN_TOKEN: MCP_TOKEN },
      stderr: 'inherit',
    }),
  );
}, 60_000);

afterAll(async () => {
  await client?.close();
  await host.app.close();
});

describe('p2p-comm mcp over stdio', () => {
  it('lists the tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'connect_peer',
      'fetch_file',
      'list_files',
      'list_peers',
      'message_status',
      'peer_status',
      'read_messages',
      'send_file',
      'send_message',
    ]);
  });

  it('list_peers shows which peers this client may use', async () => {
    const r = await call('list_peers');
    const peers = (r.structuredContent as { peers: { name: string; inScope: boolean; fingerprint: string }[] }).peers;
    expect(peers.map((p) => [p.name, p.inScope])).toEqual([
      ['Bob', true],
      ['Carol', false],
    ]);
    expect(peers[0]!.fingerprint).toMatch(/^([0-9a-f]{2}:){15,}/);
  });

  it('send_message passes the gates: in scope goes out, out of scope is refused with its code', async () => {
    const sent = await call('send_message', { peer: 'Bob', text: 'hello from Claude Code' });
    expect(sent.isError).toBeFalsy();
    expect(host.ext.sent.at(-1)).toMatchObject({ to: BOB, body: 'hello from Claude Code' });
    const refused = await call('send_message', { peer: CAROL, text: 'hi' });
    expect(refused.isError).toBe(true);
    expect(refused.content[0]!.text).toMatch(/^HOST_ERR_SCOPE_DENIED/);
    expect(host.audit.entries().at(-1)).toMatchObject({
      gate: 'scope',
      plugin: 'claude-code',
      code: 'HOST_ERR_SCOPE_DENIED',
    });
  });

  it('a high-risk send waits for the user; Deny comes back as HOST_ERR_RISK_DENIED', async () => {
    const before = host.ext.sent.length;
    const pending = call('send_message', { peer: BOB, text: 'my password = hunter22' });
    const approval = await waitFor(() => host.approvals.pending()[0]);
    expect(approval.prompt).toContain('Claude Code wants to share something that looks like a credential with Bob');
    host.approvals.decide(approval.id, false);
    const r = await pending;
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^HOST_ERR_RISK_DENIED/);
    expect(host.ext.sent.length).toBe(before);
  });

  it('connect_peer needs ext:p2p-comm:connect, which this client was not given', async () => {
    const r = await call('connect_peer', { key: CAROL });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^HOST_ERR_PERMISSION_DENIED/);
    expect(host.ext.connects).toEqual([]);
  });

  it('read_messages returns what the user allowed', async () => {
    const read = call('read_messages', { wait_seconds: 10 });
    host.ext.emit('message', { encoding: 'text', from: BOB, messageId: 'b1', body: 'hi Claude', fromName: 'Bob' });
    const approval = await waitFor(() => host.approvals.pending()[0]);
    expect(approval.prompt).toBe(
      'Bob wants to send a message to your AI agent, Claude Code. Allow?'.replace('your AI agent, ', 'your '),
    );
    host.approvals.decide(approval.id, true);
    const r = await read;
    const items = (r.structuredContent as { items: { type: string; body: string }[] }).items;
    expect(items.filter((i) => i.type === 'message').map((i) => i.body)).toEqual(['hi Claude']);
  });

  it('bad arguments and unknown names come back as MCP_ERR codes', async () => {
    expect((await call('connect_peer', {})).content[0]!.text).toMatch(/^MCP_ERR_BAD_ARGUMENT/);
    expect((await call('send_message', { peer: 'Nobody', text: 'x' })).content[0]!.text).toMatch(
      /^MCP_ERR_PEER_UNKNOWN/,
    );
  });

  it('a name another listed peer’s name looks like (case, homoglyphs) picks nobody', async () => {
    const saved = host.ext.peersList;
    // "Воb" with a Cyrillic В and о: an agent told "send to Bob" must not reach it by name.
    host.ext.peersList = [...saved, { key: fakeKey(4), name: 'Воb', trusted: true, state: 'trusted' }];
    try {
      const before = host.ext.sent.length;
      const r = await call('send_message', { peer: 'Bob', text: 'x' });
      expect(r.content[0]!.text).toMatch(/^MCP_ERR_PEER_UNKNOWN/);
      expect(host.ext.sent.length).toBe(before);
    } finally {
      host.ext.peersList = saved;
    }
  });

  it('peer_status reports identity and one peer', async () => {
    const r = await call('peer_status', { peer: 'Bob' });
    expect(r.structuredContent).toMatchObject({ identity: { publicKey: ME }, peer: { key: BOB, name: 'Bob' } });
  });
});
