/** The terminal prompt and the page answer the same queue: first answer wins, the other is told. */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApprovalPrompt } from '../src/approvals/prompt.js';
import { API_PREFIX } from '../src/routes/plugin-api.js';
import { AGENT_TOKEN, makeHost, UI_TOKEN, waitFor } from './support/harness.js';
import { fakeKey } from './support/stub-extension.js';

const PEER = fakeKey(2);
const host = makeHost({ key: fakeKey(1), agentPeers: [PEER] });
const input = new PassThrough();
let out = '';
const output = new PassThrough();
output.on('data', (d: Buffer) => {
  out += d.toString();
});
const abort = new AbortController();
let running: Promise<void>;

beforeAll(async () => {
  const url = await host.app.listen({ host: '127.0.0.1', port: 0 });
  running = runApprovalPrompt({ hostUrl: url, uiToken: UI_TOKEN, input, output, signal: abort.signal });
});

afterAll(async () => {
  abort.abort();
  await running.catch(() => {});
  await host.app.close();
});

const inbox = async () =>
  (
    await host.app.inject({
      url: `${API_PREFIX}/messages`,
      headers: { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}` },
    })
  ).json().items as { body: string }[];

describe('terminal approval prompt', () => {
  it('asks with the fingerprint; "y" delivers', async () => {
    host.ext.emit('message', {
      encoding: 'text',
      from: PEER,
      messageId: 't1',
      body: 'hello from Bob',
      fromName: 'Bob',
    });
    await waitFor(() => out.includes('Allow? [y/N]'));
    expect(out).toContain('Bob wants to send a message to your AI agent. Allow?');
    expect(out).toMatch(/fingerprint ([0-9a-f]{2}:){15,}[0-9a-f]{2}/);
    expect(out).toContain('preview: hello from Bob');
    input.write('y\n');
    await waitFor(() => out.includes('allowed'));
    await waitFor(() => host.audit.entries().find((e) => e.gate === 'deliver' && e.messageId === 't1'));
    expect((await inbox()).map((i) => i.body)).toEqual(['hello from Bob']);
  });

  it('anything but yes denies', async () => {
    out = '';
    host.ext.emit('message', { encoding: 'text', from: PEER, messageId: 't2', body: 'second', fromName: 'Bob' });
    await waitFor(() => out.includes('Allow? [y/N]'));
    input.write('\n');
    await waitFor(() => out.includes('denied'));
    expect(host.approvals.decided()[0]).toMatchObject({ state: 'denied' });
    expect(await inbox()).toEqual([]);
  });

  it('a question answered on the page is withdrawn from the terminal', async () => {
    out = '';
    host.ext.emit('message', { encoding: 'text', from: PEER, messageId: 't3', body: 'third', fromName: 'Bob' });
    await waitFor(() => out.includes('Allow? [y/N]'));
    const pending = host.approvals.pending()[0]!;
    host.approvals.decide(pending.id, true);
    await waitFor(() => out.includes('(accepted elsewhere)'));
    input.write('n\n'); // too late: ignored, nothing is being asked
    await waitFor(() => host.audit.entries().find((e) => e.gate === 'deliver' && e.messageId === 't3'));
    expect((await inbox()).map((i) => i.body)).toEqual(['third']);
  });
});
