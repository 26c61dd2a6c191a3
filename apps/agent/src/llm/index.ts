import type { AgentConfig } from '../config.js';
import { createAnthropicClient } from './anthropic.js';
import { createOpenAiClient } from './openai.js';
import type { LlmClient } from './types.js';

export type { ChatTurn, CompletionRequest, LlmClient } from './types.js';

/** Picks the provider adapter named by config. */
export function createLlmClient(config: AgentConfig['llm']): LlmClient {
  switch (config.provider) {
    case 'anthropic':
      return createAnthropicClient({
        apiKey: config.apiKey,
        model: config.model,
        ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
      });
    case 'openai':
    case 'local':
      return createOpenAiClient({
        model: config.model,
        provider: config.provider,
        ...(config.apiKey ? { apiKey: config.apiKey } : {}),
        ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
      });
  }
}
