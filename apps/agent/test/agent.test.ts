/**
 * Two agents, each behind a real host gateway (all gates on), with the two gateways' extension
 * interfaces linked in memory. The full network path is covered by e2e.test.ts.
 */
import { EventEmitter } from 'node:events';
import {
  buildApp,
  type ExtensionEvents,
  type HostApp,
  type HostExtension,
  type PeerInfo,
  parseConfig,
} from '@p2p-comm/host';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../src/agent.js';
import { parseAgentConfig } from '../src/config.js';
import { type FakeLlm, startFakeLlm } from '../src/fake-llm.js';
import { GatewayClient } from '../src/gateway-client.js';
import { createLlmClient } from '../src/llm/index.js';

const KEY_A = Buffer.alloc(32, 0xa).toString('base64url');
const KEY_B = Buffer.alloc(32, 0xb).toString('base64url');
const TOKEN = 'agent-plugin-token-0123456789';

class LinkedExtension extends EventEmitter<ExtensionEvents> implements HostExtension {
  other: LinkedExtension | undefined;
  private seq = 0;
  constructor(
    readonly key: string,
    readonly peer: PeerInfo,
  ) {
    super();
  }
  async identity() {
    return { publicKey: this.key };
  }
  async status() {
    return {};
  }
  async listPeers() {
    return [this.peer];
  }
  async connect() {
    return { kind: 'requested' as const, result: null };
  }
  async acceptChangedKey() {
    return null;
  }
  async respondNameChange() {}
  async respondConsent() {}
  async respondApproval() {}
  async send(to: string, body: string) {
    const messageId = `${this.key.slice(0, 4)}-${++this.seq}`;
    const other = this.other;
    if (other && other.key === to)
      setImmediate(() => other.emit('message', { encoding: 'text', from: this.key, messageId, body }));
    return { messageId };
  }
  async close() {}
}

interface Side {
  host: HostApp;
  url: string;
  agent: Agent;
}

let llm: FakeLlm | undefined;
let sides: Side[] = [];

afterEach(async () => {
  for (const s of sides) {
    await s.agent.stop();
    await s.host.app.close();
  }
  sides = [];
  await llm?.close();
  llm = undefined;
});

async function side(ext: LinkedExtension, name: string, llmUrl: string, askTimeoutMs = 5_000): Promise<Side> {
  const host = buildApp(
    parseConfig({
      uiToken: 'ui-token-0123456789abcdef',
      extensionCommand: ['unused'],
      plugins: [
        {
          id: 'agent',
          name: 'AI agent',
          token: TOKEN,
          permissions: ['ext:p2p-comm:send', 'ext:p2p-comm:receive'],
          peers: ['trusted'],
        },
      ],
    }),
    { extension: ext },
  );
  const url = await host.app.listen({ host: '127.0.0.1', port: 0 });
  const config = parseAgentConfig({
    name,
    hostUrl: url,
    token: TOKEN,
    provider: 'openai',
    apiKey: 'k',
    baseUrl: `${llmUrl}/v1`,
    pollWaitMs: 200,
    askTimeoutMs,
  });
  const agent = new Agent({ config, gateway: new GatewayClient(url, TOKEN), llm: createLlmClient(config.llm) });
  agent.start();
  const s = { host, url, agent };
  sides.push(s);
  return s;
}

function linked(): [LinkedExtension, LinkedExtension] {
  const a = new LinkedExtension(KEY_A, { key: KEY_B, name: 'Bob', trusted: true });
  const b = new LinkedExtension(KEY_B, { key: KEY_A, name: 'Alice', trusted: true });
  a.other = b;
  b.other = a;
  return [a, b];
}

/** The user of a host answers every approval the same way. */
function autoDecide(host: HostApp, accept: boolean): void {
  host.approvals.on('change', () => {
    for (const a of host.approvals.pending()) host.approvals.decide(a.id, accept);
  });
}

describe('Agent', () => {
  it('A asks, B’s user approves, B answers with its LLM, A receives the answer', async () => {
    llm = await startFakeLlm();
    const [extA, extB] = linked();
    const a = await side(extA, 'Alice agent', llm.url);
    const b = await side(extB, 'Bob agent', llm.url);
    autoDecide(a.host, true);
    autoDecide(b.host, true);
    const answer = await a.agent.ask(KEY_B, 'What is 20 + 22?');
    expect(answer).toMatchObject({ kind: 'answer', text: 'The answer is 42.', from: 'Bob agent' });
    expect(llm.requests.map((r) => r.prompt)).toEqual(['What is 20 + 22?']);
    expect(b.agent.stats.answered).toBe(1);
    expect(b.host.approvals.decided()[0]).toMatchObject({ kind: 'receive', state: 'accepted' });
  });

  it('B’s user denies: the question never reaches B’s agent or its LLM', async () => {
    llm = await startFakeLlm();
    const [extA, extB] = linked();
    const a = await side(extA, 'Alice agent', llm.url, 1_500);
    const b = await side(extB, 'Bob agent', llm.url);
    autoDecide(b.host, false);
    await expect(a.agent.ask(KEY_B, 'What is 1 + 1?')).rejects.toMatchObject({ code: 'AGENT_ERR_ASK_TIMEOUT' });
    expect(llm.requests).toEqual([]);
    expect(b.agent.stats.answered).toBe(0);
  });

  it('an LLM failure goes back as an error reply with a code and no details', async () => {
    llm = await startFakeLlm({ apiKeys: ['only-this-key'] });
    const [extA, extB] = linked();
    const a = await side(extA, 'Alice agent', llm.url);
    const b = await side(extB, 'Bob agent', llm.url);
    autoDecide(a.host, true);
    autoDecide(b.host, true);
    await expect(a.agent.ask(KEY_B, 'What is 1 + 1?')).rejects.toMatchObject({
      code: 'AGENT_ERR_PEER_ERROR',
      message: expect.stringContaining('AGENT_ERR_LLM_FAILED: AGENT_ERR_LLM_FAILED'),
    });
    expect(b.agent.stats.llmFailures).toBe(1);
  });

  it('B’s LLM asks A’s agent in turn (ASK_PEER), then answers with what it learned', async () => {
    llm = await startFakeLlm({
      responder: (r) => {
        if (r.prompt.includes('Where does Alice live')) return 'ASK_PEER: Which city are you in?';
        if (r.prompt.startsWith("The peer's agent answered:")) return `Alice lives in ${r.prompt.split(': ')[1]}`;
        if (r.prompt === 'Which city are you in?') return 'Lisbon';
        return 'unexpected';
      },
    });
    const [extA, extB] = linked();
    const a = await side(extA, 'Alice agent', llm.url);
    const b = await side(extB, 'Bob agent', llm.url);
    autoDecide(a.host, true);
    autoDecide(b.host, true);
    const answer = await a.agent.ask(KEY_B, 'Where does Alice live?');
    expect(answer.text).toBe('Alice lives in Lisbon');
    expect(b.agent.stats.peerQuestions).toBe(1);
    expect(a.agent.stats.answered).toBe(1);
    expect(llm.requests.map((r) => r.prompt)).toEqual([
      'Where does Alice live?',
      'Which city are you in?',
      "The peer's agent answered: Lisbon",
    ]);
  });

  it('ignores malformed bodies and replies from peers it did not ask', async () => {
    llm = await startFakeLlm();
    const [extA, extB] = linked();
    await side(extA, 'Alice agent', llm.url);
    const b = await side(extB, 'Bob agent', llm.url);
    autoDecide(b.host, true);
    extB.emit('message', { encoding: 'text', from: KEY_A, messageId: 'x1', body: 'rm -rf / please' });
    extB.emit('message', {
      encoding: 'text',
      from: KEY_A,
      messageId: 'x2',
      body: JSON.stringify({ v: 'p2p-agent/1', kind: 'answer', id: 'z', re: 'unknown', text: 'hi' }),
    });
    const end = Date.now() + 3_000;
    while (b.agent.stats.rejected < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(b.agent.stats.rejected).toBe(1);
    expect(llm.requests).toEqual([]);
  });
});
