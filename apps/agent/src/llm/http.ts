/** POSTs JSON with a timeout and a response-size cap; maps failures to AGENT_ERR_LLM_*. */
import { LLM_TIMEOUT_MS, MAX_LLM_RESPONSE_BYTES } from '../constants.js';
import { AgentError } from '../errors.js';

export async function postJson(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  timeoutMs = LLM_TIMEOUT_MS,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new AgentError('AGENT_ERR_LLM_FAILED', err instanceof Error ? err.message : 'fetch failed');
  }
  const text = await readCapped(res);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new AgentError(res.ok ? 'AGENT_ERR_LLM_BAD_RESPONSE' : 'AGENT_ERR_LLM_FAILED', `HTTP ${res.status}`);
  }
  if (!res.ok) {
    // Both Anthropic and OpenAI put { error: { type|code, message } } in error bodies.
    const e = (json as { error?: { message?: unknown; type?: unknown } }).error;
    const msg = typeof e?.message === 'string' ? e.message.slice(0, 200) : '';
    throw new AgentError(
      'AGENT_ERR_LLM_FAILED',
      `HTTP ${res.status} ${typeof e?.type === 'string' ? e.type : ''} ${msg}`.trim(),
    );
  }
  return json;
}

async function readCapped(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_LLM_RESPONSE_BYTES) {
      await reader.cancel();
      throw new AgentError('AGENT_ERR_LLM_BAD_RESPONSE', 'response too large');
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
