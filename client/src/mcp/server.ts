/**
 * `p2p-comm mcp`: a Model Context Protocol server over stdio, so Claude Code and other MCP
 * clients can use peers. Each tool is one call to the host gateway; refusals come back as tool
 * errors that name the gate's HOST_ERR_* code, so the model can tell "denied" from "down".
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { namesCollide } from '../store/display-name.js';
import { MCP_MAX_READ_ITEMS, MCP_MAX_READ_WAIT_S, MCP_MAX_TEXT_CHARS } from './constants.js';
import { GatewayCallError, type HostGatewayClient } from './gateway.js';

const PEER_KEY = /^[A-Za-z0-9_-]{43}$/;

export const MCP_TOOL_NAMES = ['list_peers', 'connect_peer', 'send_message', 'read_messages', 'peer_status'] as const;

function ok(value: unknown): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
    structuredContent: value as Record<string, unknown>,
  };
}

function fail(err: unknown): CallToolResult {
  const code = err instanceof GatewayCallError ? err.code : 'MCP_ERR_TOOL_FAILED';
  const message = err instanceof Error ? err.message : String(err);
  return { isError: true, content: [{ type: 'text', text: `${code}: ${message}` }] };
}

async function guard(fn: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    const value = await fn();
    return ok(value);
  } catch (err) {
    return fail(err);
  }
}

interface PeerEntry {
  key: string;
  name?: string;
}

/** A peer named by key, or by a display name that matches exactly one listed peer. */
async function resolvePeer(gateway: HostGatewayClient, peer: string): Promise<string> {
  if (PEER_KEY.test(peer)) return peer;
  const { peers } = (await gateway.get('/peers')) as { peers: PeerEntry[] };
  const matches = peers.filter((p) => p.name === peer);
  // A name an agent could confuse with another listed peer's (case, homoglyphs) picks nobody.
  const alike = peers.filter((p) => p.name && namesCollide(p.name, peer));
  if (matches.length !== 1 || alike.some((p) => p.key !== matches[0]!.key)) {
    throw new GatewayCallError(
      'MCP_ERR_PEER_UNKNOWN',
      0,
      `no single peer named "${peer}"; use its key or its label with the fingerprint (list_peers)`,
    );
  }
  return matches[0]!.key;
}

/** Builds the MCP server with the p2p-comm tools bound to a gateway client. */
export function createMcpServer(gateway: HostGatewayClient, version = '0.1.0'): McpServer {
  const server = new McpServer({ name: 'p2p-comm', version });

  server.registerTool(
    'list_peers',
    {
      title: 'List peers',
      description:
        'List peers known to this machine: key, display name, fingerprint, trust state, path, and whether this client may talk to them (inScope).',
      inputSchema: {},
    },
    () => guard(() => gateway.get('/peers')),
  );

  server.registerTool(
    'connect_peer',
    {
      title: 'Ask a peer to connect',
      description:
        "Ask a new peer for consent, given its share string (p2p-comm://KEY@host:port?name=…) or key. The peer's user must accept before anything flows.",
      inputSchema: {
        share: z.string().max(1024).optional().describe('share string from `p2p-comm share`'),
        key: z.string().regex(PEER_KEY).optional().describe('peer public key (base64url, 43 characters)'),
      },
    },
    ({ share, key }) =>
      guard(async () => {
        if ((share === undefined) === (key === undefined)) {
          throw new GatewayCallError('MCP_ERR_BAD_ARGUMENT', 0, 'give exactly one of share or key');
        }
        return gateway.post('/peers/connect', share !== undefined ? { share } : { key });
      }),
  );

  server.registerTool(
    'send_message',
    {
      title: 'Send a message to a peer',
      description:
        'Send text to a trusted peer, end-to-end encrypted. High-risk content (file listings, paths, credentials, large payloads) waits for the local user to allow it.',
      inputSchema: {
        peer: z.string().min(1).max(256).describe('peer key, or its display name if unique'),
        text: z.string().max(MCP_MAX_TEXT_CHARS),
      },
    },
    ({ peer, text }) => guard(async () => gateway.post('/send', { to: await resolvePeer(gateway, peer), body: text })),
  );

  server.registerTool(
    'read_messages',
    {
      title: 'Read received messages',
      description:
        'Return messages peers sent to this client (after the local user allowed them) and delivery receipts, oldest first. Each item is returned once.',
      inputSchema: {
        wait_seconds: z
          .number()
          .int()
          .min(0)
          .max(MCP_MAX_READ_WAIT_S)
          .optional()
          .describe('wait up to this long for the first message (default 0)'),
        max: z.number().int().min(1).max(MCP_MAX_READ_ITEMS).optional(),
      },
    },
    ({ wait_seconds, max }) =>
      guard(() => gateway.get(`/messages?wait=${(wait_seconds ?? 0) * 1000}&max=${max ?? MCP_MAX_READ_ITEMS}`)),
  );

  server.registerTool(
    'peer_status',
    {
      title: 'Peer and connection status',
      description: "This machine's identity and rendezvous status, and optionally one peer's trust state and path.",
      inputSchema: { peer: z.string().min(1).max(256).optional().describe('peer key or unique display name') },
    },
    ({ peer }) =>
      guard(async () => {
        const status = (await gateway.get('/status')) as Record<string, unknown>;
        if (peer === undefined) return status;
        const key = await resolvePeer(gateway, peer);
        const { peers } = (await gateway.get('/peers')) as { peers: PeerEntry[] };
        return { ...status, peer: peers.find((p) => p.key === key) ?? null };
      }),
  );

  return server;
}
