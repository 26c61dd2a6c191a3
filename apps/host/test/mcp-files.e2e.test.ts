import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PREFIX } from '../src/routes/plugin-api.js';
import { waitFor } from './support/harness.js';
import { BIN, type TestHost, TwoHostWorld } from './support/two-hosts.js';

const MCP_TOKEN = 'mcp-client-token-0123456789';
const AGENT_TOKEN = 'agent-token-0123456789abcdef';
const world = new TwoHostWorld('p2p-mcp-files-');
const dir = world.dir;
let mcp: Client;
let alice: TestHost;
let bob: TestHost;

type ToolResult = { isError?: boolean; content: { type: string; text: string }[]; structuredContent?: unknown };
const call = async (name: string, args: Record<string, unknown> = {}) =>
  (await mcp.callTool({ name, arguments: args })) as ToolResult;

beforeAll(async () => {
  const server = await world.serve();
  alice = world.startHost({
    name: 'Alice',
    server,
    plugins: [
      {
        id: 'claude-code',
        name: 'Claude Code',
        token: MCP_TOKEN,
        permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:receive', 'ext:p2p-comm:peers'],
        peers: ['trusted'],
      },
    ],
  });
  bob = world.startHost({
    name: 'Bob',
    server,
    plugins: [
      { id: 'agent', name: 'AI agent', token: AGENT_TOKEN, permissions: ['ext:p2p-comm:receive'], peers: ['trusted'] },
    ],
  });
  await world.befriend(alice, bob);
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
  await world.close();
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
