/**
 * `p2p-comm mcp`: a Model Context Protocol server over stdio, so Claude Code and other MCP
 * clients can use peers. Each tool is one call to the host gateway; refusals come back as tool
 * errors that name the gate's HOST_ERR_* code, so the model can tell "denied" from "down".
 */

import { randomUUID } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { namesCollide } from '../store/display-name.js';
import {
  MCP_MAX_READ_ITEMS,
  MCP_MAX_READ_WAIT_S,
  MCP_MAX_SEND_ID_CHARS,
  MCP_MAX_TEXT_CHARS,
  MCP_SEND_ANSWER_WAIT_MS,
  MCP_SEND_TIMEOUT_MS,
} from './constants.js';
import { GatewayCallError, type HostGatewayClient } from './gateway.js';
import { SendLedger, type SendState } from './send-ledger.js';

const PEER_KEY = /^[A-Za-z0-9_-]{43}$/;

export const MCP_TOOL_NAMES = [
  'list_peers',
  'connect_peer',
  'send_message',
  'message_status',
  'read_messages',
  'peer_status',
  'send_file',
  'list_files',
  'fetch_file',
] as const;

/** Transfer ids: 16 random bytes in hex. */
const TRANSFER_ID = /^[0-9a-f]{32}$/;

const SEND_ID = new RegExp(`^[A-Za-z0-9_-]{1,${MCP_MAX_SEND_ID_CHARS}}$`);

/** A send's state as a tool result: waiting and sent are answers, failed is a tool error. */
function sendOutcome(id: string, state: SendState): CallToolResult {
  if (state.status === 'failed')
    return fail(
      new GatewayCallError(
        state.code,
        0,
        // A gateway that stopped answering may have sent it; a refusal by a gate never did.
        `${state.message} (send id ${id}; ${state.code.startsWith('MCP_ERR_GATEWAY') ? 'whether it was sent is unknown' : 'nothing was sent'})`,
      ),
    );
  if (state.status === 'sent') return ok({ ...state.result, id, status: 'sent' });
  return ok({
    id,
    status: 'waiting_for_approval',
    message:
      "Waiting for the user's approval on the host. Call message_status with this id to learn the outcome (it can wait up to 30 s per call). Do not send the text again under a new id: that would send it twice; send_message with the same id is safe.",
  });
}

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

export interface McpServerOptions {
  version?: string;
  /** How long send_message waits for the outcome before answering "waiting" (ms); tests shorten it. */
  sendAnswerWaitMs?: number;
}

/** Builds the MCP server with the p2p-comm tools bound to a gateway client. */
export function createMcpServer(gateway: HostGatewayClient, opts: McpServerOptions = {}): McpServer {
  const server = new McpServer({ name: 'p2p-comm', version: opts.version ?? '0.1.0' });
  const answerWaitMs = opts.sendAnswerWaitMs ?? MCP_SEND_ANSWER_WAIT_MS;
  const sends = new SendLedger();

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
        "Send text to a trusted peer, end-to-end encrypted. High-risk content (file listings, paths, credentials, large payloads) waits for the local user to allow it: then the answer is status 'waiting_for_approval' and message_status tells the outcome. Pass your own id to make retries safe: a send_message with an id already used never sends twice.",
      inputSchema: {
        peer: z.string().min(1).max(256).describe('peer key, or its display name if unique'),
        text: z
          .string()
          .max(MCP_MAX_TEXT_CHARS)
          .describe("the message; up to 16 MiB (the host's maxMessageBytes bounds its UTF-8 bytes)"),
        id: z
          .string()
          .regex(SEND_ID)
          .optional()
          .describe(
            `your id for this message (1-${MCP_MAX_SEND_ID_CHARS} of A-Z a-z 0-9 _ -); one is made up if absent`,
          ),
      },
    },
    async ({ peer, text, id }) => {
      const sendId = id ?? randomUUID();
      try {
        const to = await resolvePeer(gateway, peer);
        const entry = sends.begin(sendId, to, text, () =>
          gateway.post('/send', { to, body: text }, { timeoutMs: MCP_SEND_TIMEOUT_MS }),
        );
        return sendOutcome(sendId, await sends.wait(entry, answerWaitMs));
      } catch (err) {
        return fail(err);
      }
    },
  );

  server.registerTool(
    'message_status',
    {
      title: 'Outcome of a send',
      description:
        "The outcome of a send_message by its id: 'waiting_for_approval', 'sent' (with the message id) or an error (denied, timed out). Waits up to wait_seconds for a decision.",
      inputSchema: {
        id: z.string().regex(SEND_ID).describe('the id send_message answered with'),
        wait_seconds: z
          .number()
          .int()
          .min(0)
          .max(MCP_MAX_READ_WAIT_S)
          .optional()
          .describe('wait up to this long for the outcome (default 0)'),
      },
    },
    async ({ id, wait_seconds }) => {
      const entry = sends.get(id);
      if (!entry)
        return fail(
          new GatewayCallError('MCP_ERR_UNKNOWN_ID', 0, `no send with id ${JSON.stringify(id)} in this MCP server`),
        );
      return sendOutcome(id, await sends.wait(entry, (wait_seconds ?? 0) * 1000));
    },
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

  server.registerTool(
    'send_file',
    {
      title: 'Send a file to a peer',
      description:
        "Offer a file of any size on this machine to a trusted peer, end-to-end encrypted. The peer's user decides before a byte flows; a large or sensitive-looking file first waits for the local user to allow it. Answers with the transfer id; read_messages later shows a 'delivered' receipt, list_files the progress.",
      inputSchema: {
        path: z.string().min(1).max(4096).describe('absolute path of the file to send'),
        peer: z.string().min(1).max(256).describe('peer key, or its display name if unique'),
        note: z.string().max(1024).optional().describe('a short note shown to the peer with the offer'),
      },
    },
    ({ path, peer, note }) =>
      guard(async () => {
        if (!isAbsolute(path)) throw new GatewayCallError('MCP_ERR_BAD_ARGUMENT', 0, 'path must be absolute');
        const to = await resolvePeer(gateway, peer);
        return gateway.post(
          '/files/send',
          { to, path, ...(note !== undefined ? { note } : {}) },
          { timeoutMs: MCP_SEND_TIMEOUT_MS },
        );
      }),
  );

  server.registerTool(
    'list_files',
    {
      title: 'File transfers in progress',
      description:
        "File transfers of this machine, both directions: offers waiting for an answer and transfers in progress (bytes of total). Files that arrived show up in read_messages as type 'file'; fetch_file tells where one landed.",
      inputSchema: {},
    },
    () => guard(() => gateway.get('/files')),
  );

  server.registerTool(
    'fetch_file',
    {
      title: 'Where a received file is',
      description:
        'Where a received file landed on this machine and its SHA-256 (checked again now), by the transferId read_messages gave. Only files this client was cleared to receive; the content is not returned: read the file at that path.',
      inputSchema: { id: z.string().regex(TRANSFER_ID).describe('the transferId of a received file') },
    },
    ({ id }) => guard(() => gateway.get(`/files/${id}`)),
  );

  return server;
}
