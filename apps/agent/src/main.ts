/**
 * Entry point of the agent plugin.
 *   serve (default)        answer the peer agents' questions with the LLM until SIGTERM
 *   ask <peerKey> <text…>  ask a peer's agent one question, print its answer, exit
 *   fake-llm               run the local fake LLM server (offline demos); prints its URL
 * Env: see docs/agents.md.
 */
import { Agent } from './agent.js';
import { configFromEnv, parseAgentConfig } from './config.js';
import { AgentError } from './errors.js';
import { startFakeLlm } from './fake-llm.js';
import { GatewayClient } from './gateway-client.js';
import { createLlmClient } from './llm/index.js';

function log(event: string, fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ ts: new Date().toISOString(), event, ...fields })}\n`);
}

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  if (command === 'fake-llm') {
    const llm = await startFakeLlm();
    process.stdout.write(`${JSON.stringify({ event: 'listening', url: llm.url })}\n`);
    await new Promise<void>((resolve) => process.once('SIGTERM', resolve).once('SIGINT', resolve));
    await llm.close();
    return 0;
  }
  const config = parseAgentConfig(configFromEnv(process.env));
  const agent = new Agent({
    config,
    gateway: new GatewayClient(config.hostUrl, config.token),
    llm: createLlmClient(config.llm),
    log,
  });
  if (command === 'ask') {
    const [peer, ...words] = rest;
    if (!peer || words.length === 0)
      throw new AgentError('AGENT_ERR_CONFIG_INVALID', 'usage: ask <peerKey> <question…>');
    agent.start();
    try {
      const answer = await agent.ask(peer, words.join(' '));
      process.stdout.write(`${JSON.stringify(answer)}\n`);
      return 0;
    } finally {
      await agent.stop();
    }
  }
  if (command !== 'serve') throw new AgentError('AGENT_ERR_CONFIG_INVALID', `unknown command ${command}`);
  agent.start();
  process.stdout.write(`${JSON.stringify({ event: 'ready', name: config.name, provider: config.llm.provider })}\n`);
  await new Promise<void>((resolve) => process.once('SIGTERM', resolve).once('SIGINT', resolve));
  await agent.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    const code = err instanceof AgentError ? err.code : 'AGENT_ERR_GATEWAY';
    process.stderr.write(`${code}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
