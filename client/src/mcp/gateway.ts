/**
 * The MCP server's client for the host gateway's plugin API. The MCP server is a plugin like
 * any other: it holds its own token and only the permissions and peer scopes the host gave it,
 * so every tool call passes the same gates (auth → permission → scope → risk → approval).
 */
import { MCP_GATEWAY_TIMEOUT_MS, MCP_MAX_RESPONSE_BYTES } from './constants.js';

export const GATEWAY_PREFIX = '/v1/extensions/p2p-comm';

/** A refusal or failure from the gateway, carrying its HOST_ERR_* code (or an MCP_ERR_* one). */
export class GatewayCallError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayCallError';
  }
}

export class HostGatewayClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  get(path: string): Promise<unknown> {
    return this.call('GET', path);
  }

  /** `timeoutMs`: for calls the host may hold open longer (a send waiting for its user). */
  post(path: string, body: unknown, opts: { timeoutMs?: number } = {}): Promise<unknown> {
    return this.call('POST', path, body, opts.timeoutMs);
  }

  private async call(
    method: string,
    path: string,
    body?: unknown,
    timeoutMs = MCP_GATEWAY_TIMEOUT_MS,
  ): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${GATEWAY_PREFIX}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new GatewayCallError(
        'MCP_ERR_GATEWAY_UNREACHABLE',
        0,
        `host gateway unreachable: ${(err as Error).message}`,
      );
    }
    const text = await readBounded(res);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new GatewayCallError(
        'MCP_ERR_GATEWAY_BAD_RESPONSE',
        res.status,
        `host gateway answered HTTP ${res.status} without JSON`,
      );
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
      throw new GatewayCallError(
        typeof e?.code === 'string' ? e.code : 'MCP_ERR_GATEWAY_BAD_RESPONSE',
        res.status,
        typeof e?.message === 'string' ? e.message : `HTTP ${res.status}`,
      );
    }
    return json;
  }
}

/**
 * The response body as text, never holding more than MCP_MAX_RESPONSE_BYTES: a larger body is
 * cut off as soon as it passes the limit; a body that breaks off midway is a bad response.
 */
async function readBounded(res: Response): Promise<string> {
  const tooLarge = () =>
    new GatewayCallError('MCP_ERR_GATEWAY_BAD_RESPONSE', res.status, 'host gateway response too large');
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > MCP_MAX_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MCP_MAX_RESPONSE_BYTES) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof GatewayCallError) throw err;
    throw new GatewayCallError(
      'MCP_ERR_GATEWAY_UNREACHABLE',
      res.status,
      `host gateway response broke off: ${(err as Error).message}`,
    );
  }
  return Buffer.concat(chunks, size).toString('utf8');
}
