import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxItem } from '../src/inbox.js';
import { API_PREFIX } from '../src/routes/plugin-api.js';
import { waitFor } from './support/harness.js';
import { type TestHost, TwoHostWorld } from './support/two-hosts.js';

const ALICE_TOKEN = 'alice-agent-token-0123456789';
const BOB_TOKEN = 'bob-agent-token-0123456789ab';
const world = new TwoHostWorld('p2p-host-long-');
let alice: TestHost;
let bob: TestHost;

const agentPlugin = (token: string) => ({
  id: 'agent',
  name: 'AI agent',
  token,
  permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:receive', 'ext:p2p-comm:peers'],
  peers: ['trusted'],
});

const headers = (token: string) => ({
  host: '127.0.0.1',
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
});

/** Alice's plugin sends `text` to Bob; Alice approves it on her queue; resolves to its message id. */
async function sendApprovedByAlice(text: string): Promise<string> {
  const sending = alice.app.inject({
    method: 'POST',
    url: `${API_PREFIX}/send`,
    headers: headers(ALICE_TOKEN),
    payload: JSON.stringify({ to: bob.key, body: text }),
  });
  const out = await waitFor(() => alice.approvals.pending().find((a) => a.kind === 'send'), 10_000);
  alice.approvals.decide(out.id, true);
  const sent = await sending;
  expect(sent.statusCode).toBe(200);
  return (sent.json() as { messageId: string }).messageId;
}

beforeAll(async () => {
  const server = await world.serve();
  alice = world.startHost({ name: 'Alice', server, plugins: [agentPlugin(ALICE_TOKEN)] });
  // Bob's host takes at most 4 MiB: its extension is told so and declines anything larger.
  bob = world.startHost({ name: 'Bob', server, plugins: [agentPlugin(BOB_TOKEN)], maxMessageBytes: 4 * 1024 * 1024 });
  await world.befriend(alice, bob);
}, 60_000);

afterAll(() => world.close());

describe('long messages through the host gateway', () => {
  it('a 2 MiB text from a plugin arrives at the peer host plugin once, whole, and is acked', async () => {
    // Quotes, backslashes, newlines and non-ASCII: the lines on both sides grow when escaped.
    const line = (i: number) => `${i} "${randomBytes(48).toString('base64')}" \\ é ✓\n`;
    const parts: string[] = [];
    let bytes = 0;
    for (let i = 0; bytes < 2 * 1024 * 1024; i++) {
      parts.push(line(i));
      bytes += Buffer.byteLength(parts.at(-1)!);
    }
    const text = parts.join('');

    // Over highRiskBytes: Alice is asked before it leaves, Bob before his plugin gets it.
    const messageId = await sendApprovedByAlice(text);

    const ask = await waitFor(() => bob.approvals.pending().find((a) => a.kind === 'receive'), 30_000);
    expect(ask.bytes).toBe(bytes);
    bob.approvals.decide(ask.id, true);

    const read = await bob.app.inject({ url: `${API_PREFIX}/messages?wait=20000`, headers: headers(BOB_TOKEN) });
    const items = read.json().items as InboxItem[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: 'message', messageId, from: alice.key, encoding: 'text' });
    expect((items[0] as { body: string }).body === text).toBe(true);

    // The sender's plugin gets the receipt once Bob's side decided.
    const receipt = await alice.app.inject({ url: `${API_PREFIX}/messages?wait=20000`, headers: headers(ALICE_TOKEN) });
    expect(receipt.json().items).toEqual([{ type: 'delivered', messageId, to: bob.key }]);

    // Once: nothing more arrives, and no line from either extension was dropped.
    const again = await bob.app.inject({ url: `${API_PREFIX}/messages?wait=1500`, headers: headers(BOB_TOKEN) });
    expect(again.json().items).toEqual([]);
    expect([alice.gateway.rpcLinesDropped, bob.gateway.rpcLinesDropped]).toEqual([0, 0]);
    expect([alice.ext.linesDropped, bob.ext.linesDropped]).toEqual([0, 0]);
  }, 40_000);

  it("a message over the peer host's maxMessageBytes is declined by its extension: the sender plugin gets a failed item", async () => {
    const text = 'long '.repeat(Math.ceil((5 * 1024 * 1024) / 5));
    const messageId = await sendApprovedByAlice(text);
    const read = await alice.app.inject({ url: `${API_PREFIX}/messages?wait=20000`, headers: headers(ALICE_TOKEN) });
    expect(read.json().items).toEqual([
      { type: 'failed', messageId, to: bob.key, code: 'CLIENT_ERR_MESSAGE_TOO_LARGE' },
    ]);
    // Nothing of it reached Bob: not asked, nothing in his plugin's inbox.
    expect(bob.approvals.pending()).toEqual([]);
    const none = await bob.app.inject({ url: `${API_PREFIX}/messages?wait=0`, headers: headers(BOB_TOKEN) });
    expect(none.json().items).toEqual([]);
  }, 30_000);

  it('a body over maxMessageBytes is refused with HOST_ERR_BODY_TOO_LARGE naming the limit', async () => {
    const r = await alice.app.inject({
      method: 'POST',
      url: `${API_PREFIX}/send`,
      headers: headers(ALICE_TOKEN),
      payload: JSON.stringify({ to: bob.key, body: 'x'.repeat(16 * 1024 * 1024 + 1) }),
    });
    expect(r.statusCode).toBe(413);
    expect(r.json().error).toMatchObject({ code: 'HOST_ERR_BODY_TOO_LARGE' });
    expect(r.json().error.message).toContain('16777217 bytes > maxMessageBytes 16777216');
    const status = await alice.app.inject({ url: `${API_PREFIX}/status`, headers: headers(ALICE_TOKEN) });
    expect(status.json().host).toEqual({ maxMessageBytes: 16_777_216, rpcLinesDropped: 0 });
  }, 20_000);
});
