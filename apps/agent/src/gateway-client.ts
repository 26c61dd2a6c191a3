/**
 * HTTP client for the host gateway's plugin API (/v1/extensions/p2p-comm). Errors carry the
 * gateway's HOST_ERR_* code so the agent can tell a denial from an outage.
 */
import { AgentError } from './errors.js';

export const GATEWAY_PREFIX = '/v1/extensions/p2p-comm';

export type GatewayItem =
  | {
      type: 'message';
      messageId: string;
      from: string;
      fromName?: string;
      fingerprint: string;
      /** Text, or base64 when `encoding` is "base64" (agents only read text). */
      body: string;
      encoding?: 'text' | 'base64';
    }
  | { type: 'delivered'; messageId: string; to?: string };

export class GatewayError extends AgentError {
  constructor(
    readonly hostCode: string,
    readonly status: number,
    message: string,
  ) {
    super('AGENT_ERR_GATEWAY', `${hostCode}: ${message}`);
  }
}

export class GatewayClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  send(to: string, body: string): Promise<{ messageId: string; risk: string }> {
    return this.call('POST', '/send', { to, body }) as Promise<{ messageId: string; risk: string }>;
  }

  async read(waitMs: number, signal?: AbortSignal): Promise<GatewayItem[]> {
    const r = (await this.call('GET', `/messages?wait=${waitMs}`, undefined, signal)) as { items?: unknown };
    return Array.isArray(r.items) ? (r.items as GatewayItem[]) : [];
  }

  peers(): Promise<unknown> {
    return this.call('GET', '/peers');
  }

  private async call(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${GATEWAY_PREFIX}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw new GatewayError('UNREACHABLE', 0, err instanceof Error ? err.message : 'fetch failed');
    }
    const json = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    if (!res.ok)
      throw new GatewayError(json.error?.code ?? `HTTP_${res.status}`, res.status, json.error?.message ?? '');
    return json;
  }
}
