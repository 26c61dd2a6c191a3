/**
 * `p2p-comm mcp` entry: reads its settings from the environment the CLI passes in and serves
 * MCP over stdio until stdin closes.
 *
 *   P2P_COMM_HOST_URL      host gateway base URL (default http://127.0.0.1:7600)
 *   P2P_COMM_PLUGIN_TOKEN  this MCP client's plugin token at the host gateway (required)
 *
 * @example Claude Code (client installed with npm install -g, see README): claude mcp add p2p-comm --env P2P_COMM_PLUGIN_TOKEN=… -- p2p-comm mcp
 */
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ClientError } from '../errors.js';
import { HostGatewayClient } from './gateway.js';
import { createMcpServer } from './server.js';

export { MCP_ERRORS, type McpErrorCode } from './errors.js';
export { GatewayCallError, HostGatewayClient } from './gateway.js';
export { createMcpServer, MCP_TOOL_NAMES } from './server.js';

export const DEFAULT_HOST_URL = 'http://127.0.0.1:7600';

export interface McpSettings {
  hostUrl: string;
  token: string;
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
  if (problems.length > 0) throw new ClientError('CLIENT_ERR_CONFIG', problems.join('; '));
  return { hostUrl, token };
}

/** Serves MCP on the given streams until the input ends. */
export async function runMcpServer(
  settings: McpSettings,
  io: { input: Readable; output: Writable } = { input: process.stdin, output: process.stdout },
): Promise<void> {
  const server = createMcpServer(new HostGatewayClient(settings.hostUrl, settings.token));
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
