/**
 * Issue 12, item 7: a connect-only plugin replaces a trusted key (medium).
 *
 * Attack reproduced on a9e1cb0: a plugin holding only `ext:p2p-comm:connect` posts
 * `/peers/connect { share: <Mallory's key, name=Bob>, acceptChangedKey: true }`. The host
 * forwarded the whole body to the extension's `peers.connect`, which dropped the trusted "Bob"
 * and put Mallory's key in his place, with no prompt to the local user.
 *
 * What must hold: plugins may ask to connect; only the local user can accept a changed key.
 * - The host forwards only `share` or `key` (apps/host/src/gateway.ts connectTarget); when the
 *   extension answers CLIENT_ERR_KEY_CHANGED, the host asks its user (approval page and
 *   terminal) with both fingerprints, and only an Accept calls `peers.acceptChangedKey`.
 * - The extension's `peers.connect` refuses `acceptChangedKey` (CLIENT_ERR_LOCAL_APPROVAL_REQUIRED);
 *   the separate `peers.acceptChangedKey` must name the new key's fingerprint.
 *
 * Everything is real: a rendezvous server, Alice's host gateway over her extension process,
 * Bob's extension process; Mallory is only a key (she never needs to be online to be trusted).
 */
import { formatFingerprint, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatShare } from '../../client/src/share.js';
import { ExtensionProcess } from '../../client/test/helpers/extension-process.js';
import { startRendezvous, tempHome } from '../../client/test/helpers/server.js';
import { pluginCall, type RealHost, startRealHost, until } from './support/real-host.js';

type Peer = { key: string; name?: string; state?: string; trusted: boolean };

const cleanups: Array<() => Promise<void> | void> = [];
let alice: RealHost;
let bob: ExtensionProcess;
let bobKey: string;
const mallory = generateIdentity(nodeSuite);
const malloryShare = formatShare(mallory.publicKey, { name: 'Bob' });

async function alicePeers(): Promise<Peer[]> {
  return alice.ext.listPeers();
}

beforeAll(async () => {
  const rdv = await startRendezvous();
  cleanups.push(() => rdv.close());
  const a = tempHome('adv7-alice-');
  const b = tempHome('adv7-bob-');
  cleanups.push(a.cleanup, b.cleanup);
  alice = await startRealHost({
    home: a.home,
    server: rdv.url,
    permissions: ['ext:p2p-comm:connect'],
  });
  cleanups.unshift(() => alice.close());
  bob = new ExtensionProcess(b.home, rdv.url);
  cleanups.unshift(async () => {
    await bob.kill();
  });
  await bob.waitConnected();
  const bobId = await bob.call<{ key: string; share: string }>('identity.setName', { name: 'Bob' });
  bobKey = bobId.key;
  // Alice's user connected to Bob (the extension call her host makes for its own user).
  await alice.ext.call('peers.connect', { share: bobId.share });
  const request = await bob.waitNotification('consent.request');
  await bob.call('consent.respond', { requestId: request.requestId, accept: true });
  await until(
    async () => (await alicePeers()).find((p) => p.key === bobKey && p.state === 'trusted'),
    'Alice to trust Bob',
  );
}, 90_000);

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
}, 30_000);

describe('item 7: a plugin cannot replace a trusted key', () => {
  it('the host never forwards acceptChangedKey: the changed key waits for the local user, and Deny keeps Bob', async () => {
    const pending = pluginCall(alice, 'POST', '/peers/connect', { share: malloryShare, acceptChangedKey: true });
    // First the user is asked whether the plugin may connect to this key at all…
    const ask = await until(() => alice.approvals.pending().find((a) => a.kind === 'connect'), 'the connect question');
    expect(ask.reasons).toEqual([]);
    alice.approvals.decide(ask.id, true);
    // …then the extension refuses the key change and the user sees both fingerprints.
    const approval = await until(
      () => alice.approvals.pending().find((a) => a.reasons.includes('key-changed')),
      'an approval for the changed key',
    );
    expect(approval.reasons).toEqual(['key-changed']);
    expect(approval.prompt).toContain('DIFFERENT KEY');
    expect(approval.prompt).toContain(formatFingerprint(mallory.publicKey));
    // While the question waits, nothing changed.
    expect((await alicePeers()).map((p) => [p.key, p.name, p.state])).toEqual([[bobKey, 'Bob', 'trusted']]);
    alice.approvals.decide(approval.id, false);
    const r = await pending;
    expect(r.status).toBe(403);
    expect((r.json.error as { code: string }).code).toBe('HOST_ERR_KEY_CHANGE_DENIED');
    expect((await alicePeers()).map((p) => [p.key, p.name, p.state])).toEqual([[bobKey, 'Bob', 'trusted']]);
  }, 30_000);

  it('a plugin cannot make a new key trusted either: Deny on the connect question asks nobody', async () => {
    const stranger = generateIdentity(nodeSuite);
    const pending = pluginCall(alice, 'POST', '/peers/connect', {
      share: formatShare(stranger.publicKey, { name: 'Carol' }),
    });
    const ask = await until(() => alice.approvals.pending().find((a) => a.kind === 'connect'), 'the connect question');
    expect(ask.prompt).toContain(formatFingerprint(stranger.publicKey));
    alice.approvals.decide(ask.id, false);
    const r = await pending;
    expect((r.json.error as { code: string }).code).toBe('HOST_ERR_CONNECT_DENIED');
    expect((await alicePeers()).map((p) => [p.key, p.name, p.state])).toEqual([[bobKey, 'Bob', 'trusted']]);
  }, 30_000);

  it("the extension's peers.connect refuses acceptChangedKey outright (whoever forwards it)", async () => {
    await expect(alice.ext.call('peers.connect', { share: malloryShare, acceptChangedKey: true })).rejects.toThrow(
      /CLIENT_ERR_LOCAL_APPROVAL_REQUIRED/,
    );
    await expect(
      alice.ext.call('peers.acceptChangedKey', { share: malloryShare, fingerprint: 'aa:bb' }),
    ).rejects.toThrow(/CLIENT_ERR_INVALID_ARGUMENT/);
    expect((await alicePeers()).map((p) => [p.key, p.name, p.state])).toEqual([[bobKey, 'Bob', 'trusted']]);
  }, 30_000);

  it('only the local user’s Accept replaces the key (and then through peers.acceptChangedKey)', async () => {
    const pending = pluginCall(alice, 'POST', '/peers/connect', { share: malloryShare });
    const ask = await until(() => alice.approvals.pending().find((a) => a.kind === 'connect'), 'the connect question');
    alice.approvals.decide(ask.id, true);
    const approval = await until(
      () => alice.approvals.pending().find((a) => a.reasons.includes('key-changed')),
      'an approval for the changed key',
    );
    alice.approvals.decide(approval.id, true);
    const r = await pending;
    expect(r.status).toBe(200);
    const peers = await alicePeers();
    expect(peers.map((p) => p.key)).toEqual([Buffer.from(mallory.publicKey).toString('base64url')]);
    expect(alice.audit.entries().map((e) => e.detail)).toContain('peers.acceptChangedKey');
  }, 30_000);
});
