/**
 * OpenAI Chat Completions adapter, also for local OpenAI-compatible servers (llama.cpp, vLLM,
 * Ollama's /v1): POST {baseUrl}/chat/completions; the reply is choices[0].message.content.
 */
import { AgentError } from '../errors.js';
import { postJson } from './http.js';
import type { CompletionRequest, LlmClient } from './types.js';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

export function createOpenAiClient(opts: {
  apiKey?: string;
  model: string;
  baseUrl?: string;
  provider?: 'openai' | 'local';
}): LlmClient {
  const url = `${(opts.baseUrl ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
  return {
    provider: opts.provider ?? 'openai',
    async complete(req: CompletionRequest): Promise<string> {
      const json = await postJson(url, headers, {
        model: opts.model,
        max_tokens: req.maxTokens,
        messages: [{ role: 'system', content: req.system }, ...req.messages],
      });
      const choices = (json as { choices?: unknown }).choices;
      const first = Array.isArray(choices)
        ? (choices[0] as { message?: { content?: unknown } } | undefined)
        : undefined;
      const content = first?.message?.content;
      if (typeof content !== 'string' || content === '')
        throw new AgentError('AGENT_ERR_LLM_BAD_RESPONSE', 'choices[0]');
      return content;
    },
  };
}
