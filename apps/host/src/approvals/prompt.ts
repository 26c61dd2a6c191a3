/**
 * Terminal face of the approval queue: the same questions as the approval page, answered at a
 * prompt. Follows /ui/api/events with the page token and posts the answer; whichever face
 * answers first wins, the other is told. Entry point: src/approvals-cli.ts.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Approval } from './queue.js';

export interface PromptOptions {
  hostUrl: string;
  uiToken: string;
  input: Readable;
  output: Writable;
  signal?: AbortSignal;
}

function describe(a: Approval): string {
  const lines = [`\n${a.prompt}`, `  peer: ${a.peer.name ? `${a.peer.name} — ` : ''}fingerprint ${a.peer.fingerprint}`];
  if (a.plugin) lines.push(`  plugin: ${a.plugin.name} (${a.plugin.id})`);
  if (a.reasons.length > 0) lines.push(`  flagged: ${a.reasons.join(', ')}`);
  if (a.preview) lines.push(`  preview: ${a.preview.replace(/\n/g, '\n           ')}`);
  return `${lines.join('\n')}\nAllow? [y/N] `;
}

/** Runs until the event stream ends or `signal` aborts. */
export async function runApprovalPrompt(opts: PromptOptions): Promise<void> {
  const { output } = opts;
  const auth = { authorization: `Bearer ${opts.uiToken}` };
  let queue: Approval[] = [];
  let asking: Approval | undefined;

  const askNext = () => {
    if (asking && queue.some((a) => a.id === asking!.id)) return;
    asking = queue[0];
    if (asking) output.write(describe(asking));
  };

  const rl = createInterface({ input: opts.input });
  rl.on('line', (line) => {
    const current = asking;
    if (!current) return;
    const accept = /^\s*y(es)?\s*$/i.test(line);
    asking = undefined;
    queue = queue.filter((a) => a.id !== current.id);
    void fetch(`${opts.hostUrl}/ui/api/approvals/${encodeURIComponent(current.id)}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: accept ? 'accept' : 'deny' }),
    })
      .then(async (r) => {
        const body = (await r.json()) as { error?: { code: string } };
        output.write(r.ok ? `${accept ? 'allowed' : 'denied'}\n` : `not recorded: ${body.error?.code}\n`);
      })
      .catch((err: Error) => output.write(`not recorded: ${err.message}\n`))
      .finally(askNext);
  });

  const res = await fetch(`${opts.hostUrl}/ui/api/events`, {
    headers: auth,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (!res.ok || !res.body) {
    rl.close();
    throw new Error(`approval events refused: HTTP ${res.status}`);
  }
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      for (let i = buf.indexOf('\n\n'); i !== -1; i = buf.indexOf('\n\n')) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = event.split('\n').find((l) => l.startsWith('data: '));
        if (!event.startsWith('event: state') || !data) continue;
        const state = JSON.parse(data.slice(6)) as { pending: Approval[]; decided: Approval[] };
        if (asking && !state.pending.some((a) => a.id === asking!.id)) {
          const done = state.decided.find((a) => a.id === asking!.id);
          output.write(`\n(${done ? done.state : 'gone'} elsewhere)\n`);
          asking = undefined;
        }
        queue = state.pending;
        askNext();
      }
    }
  } catch (err) {
    if (!opts.signal?.aborted) throw err;
  } finally {
    rl.close();
  }
}
