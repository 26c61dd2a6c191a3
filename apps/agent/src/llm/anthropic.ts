/**
 * Anthropic Messages API adapter: POST {baseUrl}/v1/messages with x-api-key and
 * anthropic-version; the reply is the concatenated `text` blocks of `content`.
 */
import { AgentError } from '../errors.js';
import { postJson } from './http.js';
import type { CompletionRequest, LlmClient } from './types.js';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_VERSION = '2023-06-01';

export function createAnthropicClient(opts: { apiKey: string; model: string; baseUrl?: string }): LlmClient {
  const url = `${(opts.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL).replace(/\/+$/, '')}/v1/messages`;
  return {
    provider: 'anthropic',
    async complete(req: CompletionRequest): Promise<string> {
      const json = await postJson(
        url,
        { 'x-api-key': opts.apiKey, 'anthropic-version': ANTHROPIC_VERSION },
        { model: opts.model, max_tokens: req.maxTokens, system: req.system, messages: req.messages },
      );
      const content = (json as { content?: unknown }).content;
      if (!Array.isArray(content)) throw new AgentError('AGENT_ERR_LLM_BAD_RESPONSE', 'content');
      const text = content
        .filter((b): b is { type: 'text'; text: string } => b?.type === 'text' && typeof b.text === 'string')
        .map((b) => b.text)
        .join('');
      if (text === '') throw new AgentError('AGENT_ERR_LLM_BAD_RESPONSE', 'no text block');
      return text;
    },
  };
}
