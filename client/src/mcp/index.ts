/**
 * `p2p-comm mcp` entry: reads its settings from the environment the CLI passes in and serves
 * MCP over stdio until stdin closes.
 *
 *   P2P_COMM_HOST_URL      host gateway base URL (default http://127.0.0.1:7600)
 *   P2P_COMM_PLUGIN_TOKEN  this MCP client's plugin token at the host gateway (required)
 *   P2P_COMM_MCP_SEND_WAIT_S  how long send_message waits for the user's approval before it
 *                          answers "waiting_for_approval" (0..30 s, default 25)
 *
 * @example Claude Code (client installed with npm install -g, see README): claude mcp add p2p-comm --env P2P_COMM_PLUGIN_TOKEN=… -- p2p-comm mcp
 */
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ClientError } from '../errors.js';
import { MCP_MAX_READ_WAIT_S, MCP_SEND_ANSWER_WAIT_MS } from './constants.js';
import { HostGatewayClient } from './gateway.js';
import { createMcpServer } from './server.js';

export { MCP_ERRORS, type McpErrorCode } from './errors.js';
export { GatewayCallError, HostGatewayClient } from './gateway.js';
export { createMcpServer, MCP_TOOL_NAMES, type McpServerOptions } from './server.js';

export const DEFAULT_HOST_URL = 'http://127.0.0.1:7600';

export interface McpSettings {
  hostUrl: string;
  token: string;
  /** send_message's wait for an outcome before answering "waiting_for_approval", ms. */
  sendAnswerWaitMs: number;
}

/** Validates the MCP settings (all problems at once); throws CLIENT_ERR_CONFIG. */
export function mcpSettingsFromEnv(env: NodeJS.ProcessEnv): McpSettings {
  const problems: string[] = [];
  const hostUrl = (env.P2P_COMM_HOST_URL ?? DEFAULT_HOST_URL).replace(/\/+$/, '');
  try {
    const u = new URL(hostUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push('P2P_COMM_HOST_URL must be http(s)');
  } catch {
    problems.push('P2P_COMM_HOST_URL is not a URL');
  }
  const token = env.P2P_COMM_PLUGIN_TOKEN ?? '';
  if (token.length < 16)
    problems.push('P2P_COMM_PLUGIN_TOKEN is required (the plugin token the host gave this client)');
  let sendAnswerWaitMs = MCP_SEND_ANSWER_WAIT_MS;
  const wait = env.P2P_COMM_MCP_SEND_WAIT_S;
  if (wait !== undefined) {
    const n = /^\d{1,2}$/.test(wait) ? Number(wait) : Number.NaN;
    if (!(n <= MCP_MAX_READ_WAIT_S))
      problems.push(`P2P_COMM_MCP_SEND_WAIT_S must be 0..${MCP_MAX_READ_WAIT_S} (seconds)`);
    else sendAnswerWaitMs = n * 1000;
  }
  if (problems.length > 0) throw new ClientError('CLIENT_ERR_CONFIG', problems.join('; '));
  return Object.freeze({ hostUrl, token, sendAnswerWaitMs });
}

/** Serves MCP on the given streams until the input ends. */
export async function runMcpServer(
  settings: McpSettings,
  io: { input: Readable; output: Writable } = { input: process.stdin, output: process.stdout },
): Promise<void> {
  const server = createMcpServer(new HostGatewayClient(settings.hostUrl, settings.token), {
    sendAnswerWaitMs: settings.sendAnswerWaitMs,
  });
  const transport = new StdioServerTransport(io.input, io.output);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    io.input.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close();
}

/** What the CLI's `mcp` command calls. */
export function runMcpFromEnv(env: NodeJS.ProcessEnv, io?: { input: Readable; output: Writable }): Promise<void> {
  return runMcpServer(mcpSettingsFromEnv(env), io);
}
