/**
 * The seed's call flow, end to end, with every part real: a rendezvous server, two hosts (each
 * a host gateway process that spawns its own p2p-comm extension with its own NEXUS_HOME), B's
 * agent plugin as a process answering through a local fake LLM (Anthropic Messages shapes),
 * A's agent asking, and B's user deciding on the approval page in headless Chromium.
 *
 *   A agent → A gateway (auth, permission, scope, risk) → A extension → rendezvous → B extension
 *   → B gateway (receive permission, scope, user approval on the page) → B agent → LLM → back.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../src/agent.js';
import { parseAgentConfig } from '../src/config.js';
import { type FakeLlm, startFakeLlm } from '../src/fake-llm.js';
import { GatewayClient } from '../src/gateway-client.js';
import { createLlmClient } from '../src/llm/index.js';
import { launchBrowser } from './support/browser.js';
import {
  AGENT_MAIN,
  CLI_MAIN,
  HOST_MAIN,
  initIdentity,
  type Running,
  startProcess,
  startRendezvous,
  tsArgs,
} from './support/processes.js';

const UI_TOKEN = 'e2e-ui-token-0123456789abcdef';
const AGENT_TOKEN = 'e2e-agent-token-0123456789abcdef';
const MCP_TOKEN = 'e2e-mcp-token-0123456789abcdef';
const API = '/v1/extensions/p2p-comm';

interface HostSide {
  name: string;
  dir: string;
  id: { key: string; fingerprint: string; share: string };
  url: string;
  auditPath: string;
  host: Running;
}

const stops: (() => Promise<void> | void)[] = [];
let rdv: Running & { url: string };
let alice: HostSide;
let bob: HostSide;
let llm: FakeLlm;
let agentA: Agent;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let bobPage: Page;

/** Claude Code (via `p2p-comm mcp`) is a second plugin on Alice's host, with its own token. */
const CLAUDE_CODE_PLUGIN = {
  id: 'claude-code',
  name: 'Claude Code',
  token: MCP_TOKEN,
  permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:receive', 'ext:p2p-comm:peers'],
  peers: ['trusted'],
};

async function startHost(
  name: string,
  incomingApproval: 'always' | 'high-risk',
  extraPlugins: Record<string, unknown>[] = [],
): Promise<HostSide> {
  const dir = mkdtempSync(join(tmpdir(), `p2p-comm-e2e-${name.toLowerCase()}-`));
  stops.push(() => rmSync(dir, { recursive: true, force: true }));
  const home = join(dir, 'nexus');
  const id = initIdentity(home, name, rdv.url);
  const auditPath = join(dir, 'audit.jsonl');
  const configPath = join(dir, 'host.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      port: 0,
      uiToken: UI_TOKEN,
      userName: name,
      incomingApproval,
      approvalTimeoutMs: 60_000,
      auditLogPath: auditPath,
      extensionCommand: [process.execPath, ...tsArgs(CLI_MAIN, 'extension', '--approve')],
      plugins: [
        {
          id: 'agent',
          name: 'AI agent',
          token: AGENT_TOKEN,
          permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:receive', 'ext:p2p-comm:peers', 'ext:p2p-comm:connect'],
          peers: ['trusted'],
        },
        ...extraPlugins,
      ],
    }),
  );
  const host = await startProcess(
    tsArgs(HOST_MAIN),
    { HOST_CONFIG: configPath, NEXUS_HOME: home, P2P_COMM_SERVER: rdv.url },
    (m) => m.event === 'listening',
  );
  stops.push(host.stop);
  return { name, dir, id, url: String(host.ready.url), auditPath, host };
}

async function gateway(side: HostSide, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${side.url}${API}${path}`, {
    method,
    headers: { authorization: `Bearer ${AGENT_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return (await res.json()) as Record<string, unknown>;
}

function audit(side: HostSide): Record<string, unknown>[] {
  try {
    return readFileSync(side.auditPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  } catch {
    return [];
  }
}

async function until<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  rdv = await startRendezvous();
  stops.push(rdv.stop);
  llm = await startFakeLlm({ apiKeys: ['fake-anthropic-key'] });
  stops.push(() => llm.close());
  // A only asks its user about high-risk incoming data; B asks about everything.
  [alice, bob] = await Promise.all([startHost('Alice', 'high-risk', [CLAUDE_CODE_PLUGIN]), startHost('Bob', 'always')]);

  // Both extensions are up and connected to the rendezvous before anyone talks.
  for (const side of [alice, bob]) {
    await until(
      async () => {
        const s = (await gateway(side, 'GET', '/status').catch(() => ({}))) as {
          status?: { server?: { state?: string } };
        };
        return s.status?.server?.state === 'connected';
      },
      `${side.name}'s extension to connect`,
      60_000,
    );
  }

  const agentB = await startProcess(
    tsArgs(AGENT_MAIN, 'serve'),
    {
      P2P_COMM_HOST_URL: bob.url,
      P2P_COMM_PLUGIN_TOKEN: AGENT_TOKEN,
      AGENT_NAME: 'Bob agent',
      LLM_PROVIDER: 'anthropic',
      ANTHROPIC_API_KEY: 'fake-anthropic-key',
      LLM_BASE_URL: llm.url,
      LLM_MODEL: 'claude-e2e',
      AGENT_POLL_WAIT_MS: '1000',
    },
    (m) => m.event === 'ready',
  );
  stops.push(agentB.stop);

  const config = parseAgentConfig({
    name: 'Alice agent',
    hostUrl: alice.url,
    token: AGENT_TOKEN,
    provider: 'local',
    baseUrl: `${llm.url}/v1`,
    pollWaitMs: 1_000,
    askTimeoutMs: 15_000,
  });
  agentA = new Agent({
    config,
    gateway: new GatewayClient(config.hostUrl, config.token),
    llm: createLlmClient(config.llm),
  });
  agentA.start();
  stops.push(() => agentA.stop());

  browser = await launchBrowser();
  stops.push(() => browser.close());
  bobPage = await browser.context.newPage();
  await bobPage.goto(`${bob.url}/ui?token=${UI_TOKEN}`);
  await bobPage.waitForSelector('#conn[data-state="live"]');
}, 120_000);

afterAll(async () => {
  for (const stop of stops.splice(0).reverse()) {
    try {
      await stop();
    } catch {
      // keep stopping the rest
    }
  }
}, 60_000);

describe('call flow: agent A asks, B’s user decides in the browser, agent B answers', () => {
  it('consent: A’s agent asks to connect, Bob accepts on his page, both sides trust', async () => {
    const asked = gateway(alice, 'POST', '/peers/connect', { share: bob.id.share });
    // A plugin may only ask: Alice's own user allows a key she has not trusted yet (here through
    // the approval API her terminal prompt uses).
    const ui = { authorization: `Bearer ${UI_TOKEN}` };
    const question = await until(async () => {
      const state = (await (await fetch(`${alice.url}/ui/api/approvals`, { headers: ui })).json()) as {
        pending: { id: string; kind: string; prompt: string }[];
      };
      return state.pending.find((a) => a.kind === 'connect');
    }, 'Alice to be asked about the connect');
    expect(question.prompt).toBe(
      `Alice's AI agent wants to connect to "Bob". Fingerprint: ${bob.id.fingerprint}. Allow?`,
    );
    await fetch(`${alice.url}/ui/api/approvals/${question.id}`, {
      method: 'POST',
      headers: { ...ui, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'accept' }),
    });
    const r = await asked;
    expect(r.result).toMatchObject({ key: bob.id.key });
    const card = bobPage.locator('#pending [data-kind="consent"]');
    await card.waitFor({ timeout: 30_000 });
    const prompt = await card.locator('.prompt').textContent();
    expect(prompt).toBe(`Alice wants to connect. Fingerprint: ${alice.id.fingerprint}. Accept?`);
    await card.locator('button[data-action="accept"]').click();
    await until(async () => {
      const { peers } = (await gateway(alice, 'GET', '/peers')) as {
        peers: { key: string; state: string; inScope: boolean }[];
      };
      return peers.find((p) => p.key === bob.id.key && p.state === 'trusted' && p.inScope);
    }, 'A to trust B');
  }, 60_000);

  it('Accept: the question reaches B’s agent, its LLM answers, A receives the answer', async () => {
    const answer = agentA.ask(bob.id.key, 'What is 20 + 22?');
    answer.catch(() => {}); // awaited below; don't report it twice if an earlier step fails
    const card = bobPage.locator('#pending [data-kind="receive"]');
    await card.waitFor({ timeout: 30_000 });
    expect(await card.locator('.prompt').textContent()).toBe('Alice wants to send a message to your AI agent. Allow?');
    expect(await card.locator('.fp').textContent()).toContain(alice.id.fingerprint);
    // Nothing has reached B's agent or its LLM before Bob decides.
    expect(llm.requests).toEqual([]);
    await card.locator('button[data-action="accept"]').click();

    const reply = await answer;
    expect(reply).toMatchObject({ kind: 'answer', text: 'The answer is 42.', from: 'Bob agent' });
    expect(llm.requests).toHaveLength(1);
    expect(llm.requests[0]).toMatchObject({ api: 'anthropic', model: 'claude-e2e', prompt: 'What is 20 + 22?' });

    // Each side's audit log shows its gates, in order, and never the content.
    const outA = audit(alice).filter(
      // The connect earlier has its own lines (permission, the user's approval).
      (e) =>
        e.direction === 'out' && e.plugin === 'agent' && e.detail !== 'ext:p2p-comm:connect' && e.detail !== 'connect',
    );
    expect(outA.map((e) => e.gate).slice(0, 4)).toEqual(['permission', 'scope', 'risk', 'extension']);
    const inB = audit(bob).filter((e) => e.direction === 'in');
    expect(inB.map((e) => `${e.gate}:${e.outcome}`)).toEqual(
      expect.arrayContaining(['scope:allow', 'risk:allow', 'approval:allow', 'deliver:allow']),
    );
    expect(readFileSync(bob.auditPath, 'utf8')).not.toContain('20 + 22');
  }, 90_000);

  it('Deny: nothing reaches B’s agent or its LLM, and A gets no answer', async () => {
    const answer = agentA.ask(bob.id.key, 'What is 1 + 2?');
    answer.catch(() => {});
    const card = bobPage.locator('#pending [data-kind="receive"]');
    await card.waitFor({ timeout: 30_000 });
    await card.locator('button[data-action="deny"]').click();
    await bobPage.locator('#decided [data-kind="receive"][data-state="denied"]').waitFor();
    await expect(answer).rejects.toMatchObject({ code: 'AGENT_ERR_ASK_TIMEOUT' });
    expect(llm.requests.map((r) => r.prompt)).toEqual(['What is 20 + 22?']);
    expect(audit(bob)).toContainEqual(
      expect.objectContaining({ gate: 'approval', outcome: 'deny', code: 'HOST_ERR_RECEIVE_DENIED' }),
    );
  }, 60_000);

  it('MCP: Claude Code on A asks Bob’s agent through `p2p-comm mcp`, under its own token and the same gates', async () => {
    const mcp = new Client({ name: 'e2e', version: '1.0.0' });
    await mcp.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: tsArgs(CLI_MAIN, 'mcp'),
        env: { PATH: process.env.PATH ?? '', P2P_COMM_HOST_URL: alice.url, P2P_COMM_PLUGIN_TOKEN: MCP_TOKEN },
        stderr: 'inherit',
      }),
    );
    stops.push(() => mcp.close());
    type Result = { isError?: boolean; structuredContent?: Record<string, unknown>; content: { text: string }[] };
    const call = async (name: string, args: Record<string, unknown> = {}) =>
      (await mcp.callTool({ name, arguments: args })) as Result;

    const listed = await call('list_peers');
    expect(listed.structuredContent?.peers).toEqual([
      expect.objectContaining({ key: bob.id.key, name: 'Bob', state: 'trusted', inScope: true }),
    ]);
    // This client was not given ext:p2p-comm:connect.
    expect((await call('connect_peer', { key: bob.id.key })).content[0]!.text).toMatch(/^HOST_ERR_PERMISSION_DENIED/);

    const ask = JSON.stringify({ v: 'p2p-agent/1', kind: 'ask', id: 'mcp-ask-1', text: 'What is 2 + 40?', depth: 0 });
    const sent = await call('send_message', { peer: 'Bob', text: ask });
    expect(sent.isError).toBeFalsy();
    const card = bobPage.locator('#pending [data-kind="receive"]');
    await card.waitFor({ timeout: 30_000 });
    await card.locator('button[data-action="accept"]').click();

    const answer = await until(async () => {
      const r = await call('read_messages', { wait_seconds: 5 });
      const items = (r.structuredContent?.items ?? []) as { type: string; body?: string }[];
      return items.find((i) => i.type === 'message' && i.body?.includes('"re":"mcp-ask-1"'));
    }, 'the answer to reach the MCP client');
    expect(JSON.parse(answer.body!)).toMatchObject({ kind: 'answer', re: 'mcp-ask-1', text: 'The answer is 42.' });
  }, 90_000);
});
