/**
 * Issue 16: `send_message` through `p2p-comm mcp` while the host's user has not decided yet.
 * The tool answers "waiting_for_approval" instead of failing, `message_status` tells the
 * outcome, and a retry with the same id never sends twice. Real host gateway (its gates and
 * approval queue), the MCP server as a real child process spoken to by the MCP SDK's client.
 */
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeHost, waitFor } from './support/harness.js';
import { fakeKey } from './support/stub-extension.js';

const BIN = fileURLToPath(new URL('../../../client/bin/p2p-comm.js', import.meta.url));
const BOB = fakeKey(2);
const MCP_TOKEN = 'mcp-client-token-0123456789';
// Long enough that the test decides while the send is still waiting.
const host = makeHost({
  key: fakeKey(1),
  agentPeers: [],
  approvalTimeoutMs: 60_000,
  extraPlugins: [
    {
      id: 'claude-code',
      name: 'Claude Code',
      token: MCP_TOKEN,
      permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:peers'],
      peers: [BOB],
    },
  ],
});
host.ext.peersList = [{ key: BOB, name: 'Bob', trusted: true, state: 'trusted' }];
let client: Client;

type ToolResult = { isError?: boolean; content: { text: string }[]; structuredContent?: Record<string, unknown> };
const call = async (name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args })) as ToolResult;
const status = (r: ToolResult) => (r.structuredContent as { status?: string } | undefined)?.status;
const RISKY = 'my password = hunter22'; // a credential: the host asks its user

beforeAll(async () => {
  const url = await host.app.listen({ host: '127.0.0.1', port: 0 });
  client = new Client({ name: 'p2p-comm-test', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      env: {
        PATH: process.env.PATH ?? '',
        P2P_COMM_HOST_URL: url,
        P2P_COMM_PLUGIN_TOKEN: MCP_TOKEN,
        P2P_COMM_MCP_SEND_WAIT_S: '1',
      },
      stderr: 'inherit',
    }),
  );
}, 60_000);

afterAll(async () => {
  await client?.close();
  await host.app.close();
});

describe('send_message waiting for the user, by id', () => {
  it('answers waiting_for_approval, dedupes retries, and message_status reports the send once allowed', async () => {
    const first = await call('send_message', { peer: 'Bob', text: RISKY, id: 'msg-1' });
    expect(first.isError, first.content[0]?.text).toBeFalsy();
    expect(first.structuredContent).toMatchObject({ id: 'msg-1', status: 'waiting_for_approval' });
    expect(first.content[0]!.text).toContain("Waiting for the user's approval");

    // The model retries (same id): no second approval, no second send.
    const retry = await call('send_message', { peer: BOB, text: RISKY, id: 'msg-1' });
    expect(status(retry)).toBe('waiting_for_approval');
    expect(host.approvals.pending()).toHaveLength(1);
    const conflict = await call('send_message', { peer: 'Bob', text: 'something else', id: 'msg-1' });
    expect(conflict.isError).toBe(true);
    expect(conflict.content[0]!.text).toMatch(/^MCP_ERR_ID_CONFLICT/);
    expect(status(await call('message_status', { id: 'msg-1' }))).toBe('waiting_for_approval');

    const polled = call('message_status', { id: 'msg-1', wait_seconds: 10 });
    host.approvals.decide(host.approvals.pending()[0]!.id, true);
    const done = await polled;
    expect(done.structuredContent).toMatchObject({ id: 'msg-1', status: 'sent' });
    expect(host.ext.sent.filter((m) => m.body === RISKY)).toHaveLength(1);

    // A late retry of the same id is answered from memory: still exactly one send.
    const late = await call('send_message', { peer: 'Bob', text: RISKY, id: 'msg-1' });
    expect(status(late)).toBe('sent');
    expect(host.ext.sent.filter((m) => m.body === RISKY)).toHaveLength(1);
  }, 60_000);

  it('a denied send is a tool error naming the gate, for send_message and message_status alike', async () => {
    const text = 'api_key = sk-live-0123456789abcdef';
    const waiting = await call('send_message', { peer: 'Bob', text, id: 'msg-2' });
    expect(status(waiting)).toBe('waiting_for_approval');
    const approval = await waitFor(() => host.approvals.pending()[0]);
    host.approvals.decide(approval.id, false);
    const r = await call('message_status', { id: 'msg-2', wait_seconds: 10 });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/^HOST_ERR_RISK_DENIED: .*\(send id msg-2; nothing was sent\)$/);
    const again = await call('send_message', { peer: 'Bob', text, id: 'msg-2' });
    expect(again.content[0]!.text).toMatch(/^HOST_ERR_RISK_DENIED/);
    expect(host.ext.sent.some((m) => m.body === text)).toBe(false);
  }, 60_000);

  it('a send that needs no approval is answered sent at once, with an id made up for it', async () => {
    const r = await call('send_message', { peer: 'Bob', text: 'hello' });
    expect(r.structuredContent).toMatchObject({ status: 'sent', id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const unknown = await call('message_status', { id: 'never-sent' });
    expect(unknown.isError).toBe(true);
    expect(unknown.content[0]!.text).toMatch(/^MCP_ERR_UNKNOWN_ID/);
  }, 30_000);
});
