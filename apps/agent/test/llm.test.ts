import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../src/config.js';
import { type FakeLlm, startFakeLlm } from '../src/fake-llm.js';
import { createAnthropicClient } from '../src/llm/anthropic.js';
import { createLlmClient } from '../src/llm/index.js';
import { createOpenAiClient } from '../src/llm/openai.js';

let llm: FakeLlm;
const req = { system: 'be brief', messages: [{ role: 'user' as const, content: 'What is 2 + 3?' }], maxTokens: 64 };

beforeAll(async () => {
  llm = await startFakeLlm({ apiKeys: ['good-key'] });
});
afterAll(async () => {
  await llm.close();
});

describe('LLM provider adapters against the fake server (real request/response shapes)', () => {
  it('Anthropic Messages API', async () => {
    const c = createAnthropicClient({ apiKey: 'good-key', model: 'claude-test', baseUrl: llm.url });
    expect(await c.complete(req)).toBe('The answer is 5.');
    const seen = llm.requests.at(-1)!;
    expect(seen).toMatchObject({
      api: 'anthropic',
      model: 'claude-test',
      system: 'be brief',
      prompt: 'What is 2 + 3?',
    });
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
  });

  it('OpenAI Chat Completions and a local OpenAI-compatible server', async () => {
    const c = createOpenAiClient({ apiKey: 'good-key', model: 'gpt-test', baseUrl: `${llm.url}/v1` });
    expect(await c.complete(req)).toBe('The answer is 5.');
    expect(llm.requests.at(-1)).toMatchObject({ api: 'openai', model: 'gpt-test', system: 'be brief' });
    expect(llm.requests.at(-1)!.headers.authorization).toBe('Bearer good-key');
    const local = createLlmClient(
      parseAgentConfig({
        hostUrl: 'http://127.0.0.1:1',
        token: 't'.repeat(16),
        provider: 'local',
        baseUrl: `${llm.url}/v1`,
        apiKey: 'good-key',
      }).llm,
    );
    expect(local.provider).toBe('local');
    expect(await local.complete({ ...req, messages: [{ role: 'user', content: 'hello' }] })).toBe('You asked: hello');
  });

  it('maps provider errors to AGENT_ERR_LLM_FAILED without throwing raw errors', async () => {
    const bad = createAnthropicClient({ apiKey: 'wrong', model: 'm', baseUrl: llm.url });
    await expect(bad.complete(req)).rejects.toMatchObject({
      code: 'AGENT_ERR_LLM_FAILED',
      message: expect.stringContaining('authentication_error'),
    });
    const badOpenAi = createOpenAiClient({ apiKey: 'wrong', model: 'm', baseUrl: `${llm.url}/v1` });
    await expect(badOpenAi.complete(req)).rejects.toMatchObject({
      code: 'AGENT_ERR_LLM_FAILED',
      message: expect.stringContaining('401'),
    });
    const down = createOpenAiClient({ model: 'm', baseUrl: 'http://127.0.0.1:9' });
    await expect(down.complete(req)).rejects.toMatchObject({ code: 'AGENT_ERR_LLM_FAILED' });
  });

  it('the fake server rejects requests the real APIs reject', async () => {
    const post = (path: string, headers: Record<string, string>, body: unknown) =>
      fetch(`${llm.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const noMax = await post(
      '/v1/messages',
      { 'x-api-key': 'good-key', 'anthropic-version': '2023-06-01' },
      { model: 'm', messages: [{ role: 'user', content: 'x' }] },
    );
    expect(noMax.status).toBe(400);
    expect(await noMax.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    const noVersion = await post(
      '/v1/messages',
      { 'x-api-key': 'good-key' },
      { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] },
    );
    expect(noVersion.status).toBe(400);
    const noMessages = await post(
      '/v1/chat/completions',
      { authorization: 'Bearer good-key' },
      { model: 'm', messages: [] },
    );
    expect(noMessages.status).toBe(400);
  });
});

describe('agent config', () => {
  it('reports every problem at once and needs keys for hosted providers', () => {
    expect(() => parseAgentConfig({ provider: 'anthropic', hostUrl: 'ftp://x', token: 'short', maxTokens: 0 })).toThrow(
      /hostUrl.*token.*apiKey: ANTHROPIC_API_KEY required.*maxTokens/,
    );
    expect(() => parseAgentConfig({ provider: 'local', hostUrl: 'http://127.0.0.1:1', token: 't'.repeat(16) })).toThrow(
      /baseUrl/,
    );
    const c = parseAgentConfig({
      provider: 'openai',
      apiKey: 'k',
      hostUrl: 'http://127.0.0.1:1/',
      token: 't'.repeat(16),
    });
    expect(c).toMatchObject({ hostUrl: 'http://127.0.0.1:1', llm: { provider: 'openai', model: 'gpt-4o-mini' } });
    expect(Object.isFrozen(c.llm)).toBe(true);
  });
});
