/**
 * Agent-to-agent messages (docs/agent-messages.md): a small JSON-RPC-like schema carried as
 * the body of a p2p-comm message. Every field is checked here; anything else is rejected with
 * AGENT_ERR_BAD_MESSAGE and never reaches the LLM.
 *
 *   { "v": "p2p-agent/1", "kind": "ask", "id": "…", "text": "…", "depth": 0 }
 *   { "v": "p2p-agent/1", "kind": "answer", "id": "…", "re": "<ask id>", "text": "…" }
 *   { "v": "p2p-agent/1", "kind": "error", "id": "…", "re": "<id>", "code": "AGENT_ERR_…", "text": "…" }
 */
import { randomUUID } from 'node:crypto';
import {
  AGENT_MESSAGE_VERSION,
  MAX_AGENT_DEPTH,
  MAX_AGENT_ID_CHARS,
  MAX_AGENT_MESSAGE_BYTES,
  MAX_AGENT_TEXT_CHARS,
} from './constants.js';
import { AgentError } from './errors.js';

/** Requests expect a reply; replies carry `re`, the id of the request they answer. */
export const REQUEST_KINDS = ['ask', 'task'] as const;
export const REPLY_KINDS = ['answer', 'result', 'error'] as const;
export const AGENT_KINDS = [...REQUEST_KINDS, ...REPLY_KINDS, 'note'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

export interface AgentMessage {
  v: typeof AGENT_MESSAGE_VERSION;
  kind: AgentKind;
  id: string;
  /** Id of the request this replies to (replies only). */
  re?: string;
  text: string;
  /** Hops this request has already been passed on (requests only). */
  depth?: number;
  /** Error code (kind "error" only). */
  code?: string;
  /** Sender agent's display name. */
  from?: string;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;
const CODE = /^[A-Z][A-Z0-9_]{0,63}$/;

function fail(detail: string): never {
  throw new AgentError('AGENT_ERR_BAD_MESSAGE', detail);
}

export function newMessageId(): string {
  return randomUUID();
}

export function isRequest(m: AgentMessage): boolean {
  return (REQUEST_KINDS as readonly string[]).includes(m.kind);
}

export function isReply(m: AgentMessage): boolean {
  return (REPLY_KINDS as readonly string[]).includes(m.kind);
}

/** Parses and validates a body received from a peer. */
export function decodeAgentMessage(body: string): AgentMessage {
  if (Buffer.byteLength(body) > MAX_AGENT_MESSAGE_BYTES) fail('too large');
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    fail('not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('not an object');
  const r = raw as Record<string, unknown>;
  if (r.v !== AGENT_MESSAGE_VERSION) fail('v');
  if (typeof r.kind !== 'string' || !(AGENT_KINDS as readonly string[]).includes(r.kind)) fail('kind');
  if (typeof r.id !== 'string' || r.id.length > MAX_AGENT_ID_CHARS || !ID.test(r.id)) fail('id');
  if (typeof r.text !== 'string' || r.text.length > MAX_AGENT_TEXT_CHARS) fail('text');
  const msg: AgentMessage = { v: AGENT_MESSAGE_VERSION, kind: r.kind as AgentKind, id: r.id, text: r.text };
  const reply = (REPLY_KINDS as readonly string[]).includes(r.kind);
  if (reply) {
    if (typeof r.re !== 'string' || !ID.test(r.re)) fail('re');
    msg.re = r.re;
  } else if (r.re !== undefined) fail('re on a non-reply');
  if ((REQUEST_KINDS as readonly string[]).includes(r.kind)) {
    const depth = r.depth ?? 0;
    if (!Number.isInteger(depth) || (depth as number) < 0 || (depth as number) > MAX_AGENT_DEPTH) fail('depth');
    msg.depth = depth as number;
  }
  if (r.kind === 'error') {
    if (typeof r.code !== 'string' || !CODE.test(r.code)) fail('code');
    msg.code = r.code;
  }
  if (r.from !== undefined) {
    if (typeof r.from !== 'string' || r.from.length > 64) fail('from');
    msg.from = r.from;
  }
  return msg;
}

/** Encodes a message we send; checks our own output against the same rules. */
export function encodeAgentMessage(m: Omit<AgentMessage, 'v' | 'id'> & { id?: string }): string {
  const msg = { ...m, v: AGENT_MESSAGE_VERSION, id: m.id ?? newMessageId() };
  const body = JSON.stringify(msg);
  decodeAgentMessage(body);
  return body;
}
