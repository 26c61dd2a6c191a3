import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PREFIX } from '../src/routes/plugin-api.js';
import { launchBrowser } from './support/browser.js';
import { AGENT_TOKEN, makeHost, UI_TOKEN, waitFor } from './support/harness.js';
import { fakeKey } from './support/stub-extension.js';

const ME = fakeKey(1);
const PEER = fakeKey(2);
const host = makeHost({ key: ME, agentPeers: [PEER] });
let base = '';
let browser: Awaited<ReturnType<typeof launchBrowser>>;

beforeAll(async () => {
  base = await host.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await host.app.close();
});

async function readInbox(): Promise<{ type: string; body?: string }[]> {
  const r = await fetch(`${base}${API_PREFIX}/messages`, { headers: { authorization: `Bearer ${AGENT_TOKEN}` } });
  return ((await r.json()) as { items: { type: string; body?: string }[] }).items;
}

describe('approval page (headless Chromium)', () => {
  it('refuses the page and its API without the token', async () => {
    expect((await fetch(`${base}/ui`)).status).toBe(401);
    expect((await fetch(`${base}/ui?token=wrong-token-wrong-token`)).status).toBe(401);
    const r = await fetch(`${base}/ui/api/approvals`);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('HOST_ERR_UI_AUTH');
  });

  it('shows a live request with the fingerprint; Accept delivers, Deny does not', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${base}/ui?token=${UI_TOKEN}`);
    // The token was swapped for a cookie and removed from the address.
    expect(new URL(page.url()).search).toBe('');
    await page.waitForSelector('#conn[data-state="live"]');

    // A message arrives after the page is open: it must appear without a reload.
    host.ext.emit('message', {
      encoding: 'text',
      from: PEER,
      messageId: 'in-1',
      body: 'May I ask you something?',
      fromName: 'Bob',
    });
    const card = page.locator('#pending [data-kind="receive"]');
    await card.waitFor();
    await expect(card.locator('.prompt').textContent()).resolves.toBe(
      'Bob wants to send a message to your AI agent. Allow?',
    );
    const fp = await card.locator('.fp').textContent();
    expect(fp).toMatch(/fingerprint ([0-9a-f]{2}:){15,}[0-9a-f]{2}/);
    expect(await readInbox()).toEqual([]);
    await card.locator('button[data-action="accept"]').click();
    await page.locator('#decided [data-state="accepted"]').waitFor();
    const delivered = await pollInbox(1);
    expect(delivered.map((i) => i.body)).toEqual(['May I ask you something?']);

    host.ext.emit('message', {
      encoding: 'text',
      from: PEER,
      messageId: 'in-2',
      body: '<img src=x onerror=alert(1)> deny me',
      fromName: 'Bob',
    });
    await page.locator('#pending [data-kind="receive"]').waitFor();
    // Peer text is shown as text, never as markup.
    expect(await page.locator('#pending img').count()).toBe(0);
    await page.locator('#pending button[data-action="deny"]').click();
    await page.locator('#decided [data-state="denied"]').waitFor();
    await waitFor(() => host.audit.entries().find((e) => e.messageId === 'in-2' && e.outcome === 'deny'));
    expect(await readInbox()).toEqual([]);
    await page.close();
  });

  it('rejects cookie-authenticated decisions without the page header (no cross-site form posts)', async () => {
    const { id } = host.approvals.ask({
      kind: 'consent',
      prompt: 'x',
      peer: { key: PEER, fingerprint: 'f' },
      reasons: [],
    });
    const page = await browser.context.newPage();
    await page.goto(`${base}/ui?token=${UI_TOKEN}`);
    const status = await page.evaluate(async (approvalId) => {
      const r = await fetch(`/ui/api/approvals/${approvalId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'accept' }),
      });
      return r.status;
    }, id);
    expect(status).toBe(403);
    expect(host.approvals.pending().map((a) => a.id)).toContain(id);
    // A terminal prompt uses the same queue with the bearer token.
    const r = await fetch(`${base}/ui/api/approvals/${id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${UI_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'deny' }),
    });
    expect(r.status).toBe(200);
    const again = await fetch(`${base}/ui/api/approvals/${id}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${UI_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'accept' }),
    });
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('HOST_ERR_APPROVAL_DECIDED');
    await page.close();
  });
});

async function pollInbox(n: number): Promise<{ type: string; body?: string }[]> {
  const got: { type: string; body?: string }[] = [];
  const end = Date.now() + 5_000;
  while (got.length < n && Date.now() < end) {
    got.push(...(await readInbox()));
    if (got.length < n) await new Promise((r) => setTimeout(r, 20));
  }
  return got;
}
