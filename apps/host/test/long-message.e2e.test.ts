/**
 * A long message (2 MiB, over the 56 KiB that fits one packet) from a plugin on one host to a
 * plugin on another, with every part real: a rendezvous server (`p2p-comm serve`), two
 * `p2p-comm extension --approve` processes started as the host starts them (with the host's
 * `maxMessageBytes`), two host gateways with their gates and approval queues. The incoming
 * `approval.request` and `message.received` lines each carry the whole 2 MiB — over the 1 MiB
 * line limit the host had before, which dropped them. Bob's host has maxMessageBytes 4 MiB, and
 * its extension, told so, declines 5 MiB: Alice's plugin gets a `failed` item. Setup copied
 * from mcp-files.e2e.test.ts.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type HostApp } from '../src/app.js';
import { parseConfig } from '../src/config.js';
import { ExtensionClient } from '../src/extension/client.js';
import type { InboxItem } from '../src/inbox.js';
import { API_PREFIX } from '../src/routes/plugin-api.js';
import { waitFor } from './support/harness.js';

const BIN = fileURLToPath(new URL('../../../client/bin/p2p-comm.js', import.meta.url));
const ALICE_TOKEN = 'alice-agent-token-0123456789';
const BOB_TOKEN = 'bob-agent-token-0123456789ab';
const dir = mkdtempSync(join(tmpdir(), 'p2p-host-long-'));
const procs: ChildProcess[] = [];
const closers: Array<() => Promise<unknown>> = [];
let alice: HostApp & { ext: ExtensionClient; key: string };
let bob: HostApp & { ext: ExtensionClient; key: string };

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

function startHost(name: string, server: string, token: string, maxMessageBytes?: number) {
  const home = join(dir, name);
  const init = spawnSync(process.execPath, [BIN, 'init', '--name', name, '--json'], {
    env: { PATH: process.env.PATH ?? '', NEXUS_HOME: home },
    encoding: 'utf8',
  });
  expect(init.status).toBe(0);
  const key = (JSON.parse(init.stdout) as { key: string }).key;
  const config = parseConfig({
    uiToken: `ui-token-${name}-0123456789abcdef`,
    extensionCommand: [process.execPath, BIN, 'extension', '--approve'],
    userName: name,
    incomingApproval: 'always',
    approvalTimeoutMs: 60_000,
    ...(maxMessageBytes !== undefined ? { maxMessageBytes } : {}),
    plugins: [
      {
        id: 'agent',
        name: 'AI agent',
        token,
        permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:receive', 'ext:p2p-comm:peers'],
        peers: ['trusted'],
      },
    ],
  });
  // As server.ts starts it: the host's maxMessageBytes goes to the extension.
  const ext = ExtensionClient.spawn({
    command: config.extensionCommand,
    maxMessageBytes: config.maxMessageBytes,
    // WebRTC off: the relay carries it, so the run does not depend on ICE on this machine.
    env: { PATH: process.env.PATH ?? '', NEXUS_HOME: home, P2P_COMM_SERVER: server, P2P_COMM_WEBRTC: '0' },
    stderr: 'inherit',
  });
  const host = buildApp(config, { extension: ext });
  closers.push(
    () => host.app.close(),
    () => ext.close(3_000),
  );
  return Object.assign(host, { ext, key });
}

const headers = (token: string) => ({
  host: '127.0.0.1',
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
});

beforeAll(async () => {
  const server = await serve();
  alice = startHost('Alice', server, ALICE_TOKEN);
  // Bob's host takes at most 4 MiB: its extension is told so and declines anything larger.
  bob = startHost('Bob', server, BOB_TOKEN, 4 * 1024 * 1024);
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
  const consent = await waitFor(() => bob.approvals.pending().find((a) => a.kind === 'consent'), 20_000);
  bob.approvals.decide(consent.id, true);
  await connected;
  for (let i = 0; i < 200; i++) {
    if ((await alice.ext.listPeers()).some((p) => p.key === bob.key && p.trusted)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
  for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

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

    const sending = alice.app.inject({
      method: 'POST',
      url: `${API_PREFIX}/send`,
      headers: headers(ALICE_TOKEN),
      payload: JSON.stringify({ to: bob.key, body: text }),
    });
    // Over highRiskBytes: Alice is asked before it leaves, Bob before his plugin gets it.
    const out = await waitFor(() => alice.approvals.pending().find((a) => a.kind === 'send'), 10_000);
    alice.approvals.decide(out.id, true);
    const sent = await sending;
    expect(sent.statusCode).toBe(200);
    const messageId = (sent.json() as { messageId: string }).messageId;

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
    const messageId = (sent.json() as { messageId: string }).messageId;
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
