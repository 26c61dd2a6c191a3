/**
 * Agent config: validated once (every problem reported together), then frozen. `configFromEnv`
 * maps environment names to fields; only main.ts calls it with process.env.
 */
import { DEFAULT_ASK_TIMEOUT_MS, DEFAULT_MAX_TOKENS, DEFAULT_POLL_WAIT_MS } from './constants.js';
import { AgentError } from './errors.js';

export type LlmProvider = 'anthropic' | 'openai' | 'local';

export interface AgentConfig {
  readonly name: string;
  /** Base URL of the host gateway, e.g. http://127.0.0.1:7600. */
  readonly hostUrl: string;
  /** This plugin's access token at the host gateway. */
  readonly token: string;
  readonly systemPrompt: string;
  readonly maxTokens: number;
  readonly pollWaitMs: number;
  readonly askTimeoutMs: number;
  readonly llm: {
    readonly provider: LlmProvider;
    readonly model: string;
    readonly apiKey: string;
    readonly baseUrl: string;
  };
}

export const AGENT_DEFAULTS = {
  name: 'AI agent',
  systemPrompt:
    "You are an AI agent collaborating with a peer's agent over an end-to-end encrypted link. Answer the peer's question concisely. Never reveal secrets, credentials or file contents. If you need information only the peer's agent has, reply with a single line starting with ASK_PEER: followed by your question; you will then get its answer.",
  maxTokens: DEFAULT_MAX_TOKENS,
  pollWaitMs: DEFAULT_POLL_WAIT_MS,
  askTimeoutMs: DEFAULT_ASK_TIMEOUT_MS,
  models: { anthropic: 'claude-sonnet-4-5', openai: 'gpt-4o-mini', local: 'local-model' },
} as const;

export interface RawAgentConfig {
  name?: string | undefined;
  hostUrl?: string | undefined;
  token?: string | undefined;
  systemPrompt?: string | undefined;
  maxTokens?: number | undefined;
  pollWaitMs?: number | undefined;
  askTimeoutMs?: number | undefined;
  provider?: string | undefined;
  model?: string | undefined;
  apiKey?: string | undefined;
  baseUrl?: string | undefined;
}

function httpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

export function parseAgentConfig(raw: RawAgentConfig): AgentConfig {
  const errors: string[] = [];
  const name = raw.name ?? AGENT_DEFAULTS.name;
  if (name.length === 0 || name.length > 64) errors.push('name: 1..64 characters');
  if (!raw.hostUrl || !httpUrl(raw.hostUrl)) errors.push('hostUrl (P2P_COMM_HOST_URL): http(s) URL required');
  if (!raw.token || raw.token.length < 16) errors.push('token (P2P_COMM_PLUGIN_TOKEN): at least 16 characters');
  const provider = raw.provider ?? 'anthropic';
  if (provider !== 'anthropic' && provider !== 'openai' && provider !== 'local') {
    errors.push('provider (LLM_PROVIDER): anthropic | openai | local');
  }
  const apiKey = raw.apiKey ?? '';
  if ((provider === 'anthropic' || provider === 'openai') && apiKey === '') {
    errors.push(`apiKey: ${provider === 'anthropic' ? 'ANTHROPIC_API_KEY' : 'OPENAI_API_KEY'} required`);
  }
  const baseUrl = raw.baseUrl ?? '';
  if (baseUrl !== '' && !httpUrl(baseUrl)) errors.push('baseUrl (LLM_BASE_URL): http(s) URL');
  if (provider === 'local' && baseUrl === '') errors.push('baseUrl (LLM_BASE_URL): required for the local provider');
  const ints: [string, number | undefined, number, number, number][] = [
    ['maxTokens', raw.maxTokens, AGENT_DEFAULTS.maxTokens, 1, 200_000],
    ['pollWaitMs', raw.pollWaitMs, AGENT_DEFAULTS.pollWaitMs, 0, 30_000],
    ['askTimeoutMs', raw.askTimeoutMs, AGENT_DEFAULTS.askTimeoutMs, 100, 3_600_000],
  ];
  const nums: Record<string, number> = {};
  for (const [key, v, def, min, max] of ints) {
    const n = v ?? def;
    if (!Number.isInteger(n) || n < min || n > max) errors.push(`${key}: integer ${min}..${max}`);
    nums[key] = n;
  }
  if (errors.length > 0) throw new AgentError('AGENT_ERR_CONFIG_INVALID', errors.join('; '));
  const p = provider as LlmProvider;
  return Object.freeze({
    name,
    hostUrl: raw.hostUrl!.replace(/\/+$/, ''),
    token: raw.token!,
    systemPrompt: raw.systemPrompt ?? AGENT_DEFAULTS.systemPrompt,
    maxTokens: nums.maxTokens!,
    pollWaitMs: nums.pollWaitMs!,
    askTimeoutMs: nums.askTimeoutMs!,
    llm: Object.freeze({ provider: p, model: raw.model ?? AGENT_DEFAULTS.models[p], apiKey, baseUrl }),
  });
}

function intEnv(v: string | undefined): number | undefined {
  return v === undefined || v === '' ? undefined : Number(v);
}

/** Maps environment variables to raw config (documented in docs/agents.md). */
export function configFromEnv(env: NodeJS.ProcessEnv): RawAgentConfig {
  const provider = env.LLM_PROVIDER ?? 'anthropic';
  const apiKey =
    env.LLM_API_KEY ??
    (provider === 'anthropic' ? env.ANTHROPIC_API_KEY : provider === 'openai' ? env.OPENAI_API_KEY : undefined);
  return {
    name: env.AGENT_NAME,
    hostUrl: env.P2P_COMM_HOST_URL,
    token: env.P2P_COMM_PLUGIN_TOKEN,
    systemPrompt: env.AGENT_SYSTEM_PROMPT,
    maxTokens: intEnv(env.LLM_MAX_TOKENS),
    pollWaitMs: intEnv(env.AGENT_POLL_WAIT_MS),
    askTimeoutMs: intEnv(env.AGENT_ASK_TIMEOUT_MS),
    provider,
    model: env.LLM_MODEL,
    apiKey,
    baseUrl: env.LLM_BASE_URL,
  };
}
