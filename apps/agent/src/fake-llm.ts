/**
 * A local stand-in for LLM providers, for tests and offline demos: an HTTP server on 127.0.0.1
 * that speaks the real request/response shapes of the Anthropic Messages API
 * (POST /v1/messages) and OpenAI Chat Completions (POST /v1/chat/completions), checks the
 * headers and body the way the real APIs do, and answers with a deterministic responder.
 * It never reaches the network.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeLlmRequest {
  api: 'anthropic' | 'openai';
  model: string;
  system: string;
  /** Text of the last user turn. */
  prompt: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface FakeLlmOptions {
  /** Keys the server accepts (x-api-key for Anthropic, Bearer for OpenAI); empty = any. */
  apiKeys?: string[];
  /** Produces the answer text; default: `respond`. */
  responder?: (req: FakeLlmRequest) => string;
  /** Largest request body accepted (bytes). */
  maxBodyBytes?: number;
}

export interface FakeLlm {
  url: string;
  requests: FakeLlmRequest[];
  close(): Promise<void>;
}

/** Default responder: sums "What is a + b?" questions, otherwise echoes the question. */
export function respond(req: FakeLlmRequest): string {
  const m = /(-?\d+)\s*\+\s*(-?\d+)/.exec(req.prompt);
  if (m) return `The answer is ${Number(m[1]) + Number(m[2])}.`;
  return `You asked: ${req.prompt}`;
}

const MAX_RECORDED = 1_000;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function anthropicError(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, { type: 'error', error: { type, message } });
}

function openaiError(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, { error: { message, type, param: null, code: null } });
}

function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const parts = content.filter((b) => b?.type === 'text' && typeof b.text === 'string').map((b) => b.text as string);
    return parts.length > 0 ? parts.join('') : undefined;
  }
  return undefined;
}

export async function startFakeLlm(opts: FakeLlmOptions = {}): Promise<FakeLlm> {
  const requests: FakeLlmRequest[] = [];
  const responder = opts.responder ?? respond;
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const keys = opts.apiKeys ?? [];
  let seq = 0;

  const readBody = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      req.on('data', (c: Buffer) => {
        total += c.length;
        if (total > maxBody) {
          reject(new Error('too large'));
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          reject(new Error('invalid JSON'));
        }
      });
      req.on('error', reject);
    });

  const record = (r: FakeLlmRequest) => {
    requests.push(r);
    if (requests.length > MAX_RECORDED) requests.shift();
  };

  const anthropic = async (req: IncomingMessage, res: ServerResponse) => {
    const key = req.headers['x-api-key'];
    if (typeof key !== 'string' || (keys.length > 0 && !keys.includes(key))) {
      return anthropicError(res, 401, 'authentication_error', 'invalid x-api-key');
    }
    if (typeof req.headers['anthropic-version'] !== 'string') {
      return anthropicError(res, 400, 'invalid_request_error', 'anthropic-version header is required');
    }
    let body: Record<string, unknown>;
    try {
      body = (await readBody(req)) as Record<string, unknown>;
    } catch (err) {
      return anthropicError(res, 400, 'invalid_request_error', (err as Error).message);
    }
    if (typeof body?.model !== 'string')
      return anthropicError(res, 400, 'invalid_request_error', 'model: Field required');
    if (!Number.isInteger(body.max_tokens))
      return anthropicError(res, 400, 'invalid_request_error', 'max_tokens: Field required');
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) {
      return anthropicError(res, 400, 'invalid_request_error', 'messages: at least one message is required');
    }
    const last = messages[messages.length - 1] as { role?: unknown; content?: unknown };
    const prompt = textOf(last?.content);
    if (last?.role !== 'user' || prompt === undefined) {
      return anthropicError(res, 400, 'invalid_request_error', 'messages: final message must be a user turn with text');
    }
    const system = typeof body.system === 'string' ? body.system : (textOf(body.system) ?? '');
    const r: FakeLlmRequest = { api: 'anthropic', model: body.model, system, prompt, headers: req.headers };
    record(r);
    const text = responder(r);
    send(res, 200, {
      id: `msg_fake${++seq}`,
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: Math.ceil(prompt.length / 4), output_tokens: Math.ceil(text.length / 4) },
    });
  };

  const openai = async (req: IncomingMessage, res: ServerResponse) => {
    const auth = req.headers.authorization;
    const key = typeof auth === 'string' ? /^Bearer (\S+)$/.exec(auth)?.[1] : undefined;
    if (keys.length > 0 && (!key || !keys.includes(key))) {
      return openaiError(res, 401, 'invalid_request_error', 'Incorrect API key provided');
    }
    let body: Record<string, unknown>;
    try {
      body = (await readBody(req)) as Record<string, unknown>;
    } catch (err) {
      return openaiError(res, 400, 'invalid_request_error', (err as Error).message);
    }
    if (typeof body?.model !== 'string')
      return openaiError(res, 400, 'invalid_request_error', 'you must provide a model parameter');
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0) {
      return openaiError(res, 400, 'invalid_request_error', "'messages' must be a non-empty array");
    }
    const system = messages
      .filter((m: { role?: unknown }) => m?.role === 'system' || m?.role === 'developer')
      .map((m: { content?: unknown }) => textOf(m.content) ?? '')
      .join('\n');
    const last = messages[messages.length - 1] as { role?: unknown; content?: unknown };
    const prompt = textOf(last?.content);
    if (last?.role !== 'user' || prompt === undefined) {
      return openaiError(res, 400, 'invalid_request_error', 'last message must be a user message with text');
    }
    const r: FakeLlmRequest = { api: 'openai', model: body.model, system, prompt, headers: req.headers };
    record(r);
    const text = responder(r);
    send(res, 200, {
      id: `chatcmpl-fake${++seq}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: Math.ceil(prompt.length / 4),
        completion_tokens: Math.ceil(text.length / 4),
        total_tokens: 0,
      },
    });
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'POST' && path === '/v1/messages') return void anthropic(req, res);
    if (req.method === 'POST' && path === '/v1/chat/completions') return void openai(req, res);
    send(res, 404, { error: { type: 'not_found_error', message: 'not found' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
