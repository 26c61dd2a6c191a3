/**
 * @p2p-comm/agent: an AI agent plugin that talks to its peer's agent through the host gateway.
 *
 * @example
 * const config = parseAgentConfig({ hostUrl: 'http://127.0.0.1:7600', token, provider: 'openai', apiKey });
 * const agent = new Agent({ config, gateway: new GatewayClient(config.hostUrl, config.token), llm: createLlmClient(config.llm) });
 * agent.start();
 * const answer = await agent.ask(peerKey, 'What is 2 + 3?');
 */
export { Agent, type AgentDeps } from './agent.js';
export { type AgentConfig, configFromEnv, parseAgentConfig } from './config.js';
export * from './constants.js';
export { AGENT_ERRORS, AgentError, type AgentErrorCode } from './errors.js';
export { type FakeLlm, type FakeLlmRequest, respond, startFakeLlm } from './fake-llm.js';
export { GatewayClient, GatewayError, type GatewayItem } from './gateway-client.js';
export { createAnthropicClient } from './llm/anthropic.js';
export { createLlmClient, type LlmClient } from './llm/index.js';
export { createOpenAiClient } from './llm/openai.js';
export { type AgentMessage, decodeAgentMessage, encodeAgentMessage } from './messages.js';
