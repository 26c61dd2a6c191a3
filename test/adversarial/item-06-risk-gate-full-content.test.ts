/**
 * Issue 12, item 6: the risk gate saw only a preview (medium).
 *
 * Attack reproduced on a9e1cb0: with the extension in `--approve` mode, `approval.request`
 * carried only the first 200 characters of a message, and the host's risk review judged those.
 * 200 harmless characters followed by a private key were logged `low` and, under the
 * "high-risk" policy, delivered to the plugin without a prompt.
 *
 * What must hold: the review sees the whole content (`approval.request` carries `text` or
 * `data`; without it the message is "unreviewed" and a person must look), the released
 * message passes every gate (it is bound to the sender and a digest of the content reviewed),
 * and the approval prompt — the page's API and the terminal prompt — shows the flags.
 *
 * Real parts: a rendezvous server, Alice's host gateway over her extension process in
 * `--approve` mode, Bob's extension process sending through the relay.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runApprovalPrompt } from '../../apps/host/src/approvals/prompt.js';
import { ExtensionProcess } from '../../client/test/helpers/extension-process.js';
import { startRendezvous, tempHome } from '../../client/test/helpers/server.js';
import { pluginCall, type RealHost, startRealHost, UI_TOKEN, until } from './support/real-host.js';

const HARMLESS = 'Thanks for the notes from today. '.repeat(7).slice(0, 200);
const PRIVATE_KEY =
  '\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';

const cleanups: Array<() => Promise<void> | void> = [];
let alice: RealHost;
let bob: ExtensionProcess;
let aliceKey: string;

async function read(): Promise<{ body: string }[]> {
  const r = await pluginCall(alice, 'GET', '/messages');
  return (r.json.items as { type: string; body: string }[]).filter((i) => i.type === 'message');
}

beforeAll(async () => {
  const rdv = await startRendezvous();
  cleanups.push(() => rdv.close());
  const a = tempHome('adv6-alice-');
  const b = tempHome('adv6-bob-');
  cleanups.push(a.cleanup, b.cleanup);
  alice = await startRealHost({
    home: a.home,
    server: rdv.url,
    approve: true,
    incomingApproval: 'high-risk',
    permissions: ['ext:p2p-comm:receive', 'ext:p2p-comm:peers'],
  });
  cleanups.unshift(() => alice.close());
  bob = new ExtensionProcess(b.home, rdv.url);
  cleanups.unshift(async () => {
    await bob.kill();
  });
  await bob.waitConnected();
  await bob.call('identity.setName', { name: 'Bob' });
  const aliceId = (await alice.ext.identity()) as { key: string; share: string };
  aliceKey = aliceId.key;
  // Bob asks, Alice's user accepts on her approval queue.
  await bob.call('peers.connect', { share: aliceId.share });
  const consent = await until(() => alice.approvals.pending()[0], 'the consent approval');
  alice.approvals.decide(consent.id, true);
  await until(
    async () =>
      (await bob.call<{ peers: { key: string; state: string }[] }>('peers.list')).peers.find(
        (p) => p.key === aliceKey && p.state === 'trusted',
      ),
    'Bob to trust Alice',
  );
}, 90_000);

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
}, 30_000);

describe('item 6: the risk review judges the whole message', () => {
  it('200 harmless characters then a private key: flagged, held for the user, never delivered on Deny', async () => {
    await bob.call('messages.send', { peer: aliceKey, text: HARMLESS + PRIVATE_KEY });
    const approval = await until(() => alice.approvals.pending()[0], 'an approval for the flagged message');
    expect(approval.kind).toBe('receive');
    expect(approval.reasons).toContain('credentials');
    expect(
      alice.audit
        .entries()
        .filter((e) => e.gate === 'risk')
        .map((e) => e.detail),
    ).toEqual([expect.stringMatching(/^high:.*credentials/)]);

    // The approval page's API and the terminal prompt both show the flags.
    const page = await fetch(`${alice.url}/ui/api/approvals`, { headers: { authorization: `Bearer ${UI_TOKEN}` } });
    const state = (await page.json()) as { pending: { id: string; reasons: string[] }[] };
    expect(state.pending.find((p) => p.id === approval.id)?.reasons).toContain('credentials');
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d: Buffer) => {
      shown += d.toString();
    });
    const stop = new AbortController();
    const prompt = runApprovalPrompt({ hostUrl: alice.url, uiToken: UI_TOKEN, input, output, signal: stop.signal });
    await until(() => shown.includes('Allow?'), 'the terminal prompt');
    expect(shown).toContain('flagged: credentials');
    input.write('n\n');
    await until(() => alice.approvals.decided().find((d) => d.id === approval.id), 'the terminal answer');
    stop.abort();
    input.end();
    await prompt.catch(() => undefined);

    await until(
      () => alice.audit.entries().find((e) => e.gate === 'approval' && e.outcome === 'deny' && e.direction === 'in'),
      'the denial',
    );
    expect(await read()).toEqual([]);
    expect(alice.audit.entries().some((e) => e.gate === 'deliver')).toBe(false);
  }, 60_000);

  it('a harmless message is released without a prompt and delivered once, through every gate', async () => {
    await bob.call('messages.send', { peer: aliceKey, text: HARMLESS });
    await until(() => alice.audit.entries().find((e) => e.gate === 'deliver'), 'delivery', 20_000);
    expect(alice.approvals.pending()).toEqual([]);
    expect((await read()).map((m) => m.body)).toEqual([HARMLESS]);
  }, 30_000);
});
