/**
 * Files through the JSON-RPC surface: two real `p2p-comm extension` processes and a real
 * rendezvous server. The recipient's host answers `file.offer` with `files.respond`; the file
 * lands in its inbox (or P2P_COMM_INBOX) with the offered SHA-256, and a declined offer ends
 * cleanly on both sides with nothing in the inbox.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtensionProcess } from './helpers/extension-process.js';
import { startRendezvous, tempHome } from './helpers/server.js';

interface Id {
  key: string;
  share: string;
}

describe('files through the extension (JSON-RPC)', () => {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let alice: ExtensionProcess;
  let bob: ExtensionProcess;
  let a: Id;
  let b: Id;
  let bobInbox: string;
  let work: string;

  beforeAll(async () => {
    const srv = await startRendezvous();
    cleanups.push(() => srv.close());
    const ha = tempHome();
    const hb = tempHome();
    work = mkdtempSync(join(tmpdir(), 'p2p-files-'));
    bobInbox = join(work, 'bob-inbox');
    cleanups.push(ha.cleanup, hb.cleanup, () => rmSync(work, { recursive: true, force: true }));
    alice = new ExtensionProcess(ha.home, srv.url);
    bob = new ExtensionProcess(hb.home, srv.url, [], { P2P_COMM_INBOX: bobInbox });
    cleanups.push(
      () => alice.kill(),
      () => bob.kill(),
    );
    await Promise.all([alice.waitConnected(), bob.waitConnected()]);
    await alice.call('identity.setName', { name: 'Alice' });
    await bob.call('identity.setName', { name: 'Bob' });
    a = await alice.call<Id>('identity.get');
    b = await bob.call<Id>('identity.get');
    await alice.call('peers.connect', { share: b.share });
    const req = await bob.waitNotification('consent.request', (p) => p.key === a.key);
    await bob.call('consent.respond', { requestId: req.requestId, accept: true });
    await alice.waitNotification('peer.status', (p) => p.key === b.key && p.state === 'trusted');
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('offer → the host accepts → the file lands in the configured inbox with the right hash', async () => {
    const content = randomBytes(700_000); // 15 chunks: several credit rounds
    const sha256 = createHash('sha256').update(content).digest('hex');
    const src = join(work, 'report.bin');
    writeFileSync(src, content);
    const sent = await alice.call<{ id: string; to: string; name: string }>('files.send', {
      peer: 'Bob',
      path: src,
      note: 'the Q3 numbers',
    });
    expect(sent).toMatchObject({ to: b.key, name: 'report.bin' });
    expect(sent.id).toMatch(/^[0-9a-f]{32}$/);

    const offer = await bob.waitNotification('file.offer', (p) => p.id === sent.id);
    expect(offer).toMatchObject({
      peer: a.key,
      from: 'Alice',
      name: 'report.bin',
      size: content.length,
      mediaType: 'application/octet-stream',
      sha256,
      note: 'the Q3 numbers',
    });
    const listed = await bob.call<{ incoming: Array<{ id: string; state: string }> }>('files.list');
    expect(listed.incoming).toContainEqual(expect.objectContaining({ id: sent.id, state: 'pending' }));
    expect(await bob.call('files.respond', { id: sent.id, accept: true })).toEqual({ id: sent.id, accepted: true });

    const done = await bob.waitNotification('file.done', (p) => p.id === sent.id, 30_000);
    expect(done).toMatchObject({ direction: 'in', size: content.length, sha256, name: 'report.bin' });
    const path = done.path as string;
    expect(path).toBe(join(bobInbox, a.key, 'report.bin'));
    expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(sha256);
    await alice.waitNotification('file.accepted', (p) => p.id === sent.id);
    await alice.waitNotification('file.done', (p) => p.id === sent.id && p.direction === 'out', 15_000);
    const progress = bob.notifications.filter((n) => n.method === 'file.progress' && n.params?.id === sent.id);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)?.params).toMatchObject({ bytes: content.length, total: content.length });
    // Answering the same offer again is a typed error, not a second transfer.
    const again = await bob.request('files.respond', { id: sent.id, accept: true });
    expect(again.error?.data?.code).toBe('CLIENT_ERR_FILE_UNKNOWN_TRANSFER');
  }, 60_000);

  it('a declined offer ends cleanly on both sides and nothing lands', async () => {
    const src = join(work, 'secret.txt');
    writeFileSync(src, 'do not want');
    const sent = await alice.call<{ id: string }>('files.send', { peer: b.key, path: src });
    const offer = await bob.waitNotification('file.offer', (p) => p.id === sent.id);
    expect(offer.mediaType).toBe('text/plain');
    await bob.call('files.respond', { id: sent.id, accept: false });
    const failed = await alice.waitNotification('file.failed', (p) => p.id === sent.id, 15_000);
    expect(failed).toMatchObject({ direction: 'out', code: 'CLIENT_ERR_FILE_DECLINED' });
    await bob.waitNotification('file.failed', (p) => p.id === sent.id && p.code === 'CLIENT_ERR_FILE_DECLINED');
    expect(existsSync(join(bobInbox, a.key, 'secret.txt'))).toBe(false);
    expect(readdirSync(join(bobInbox, '.partial'))).toEqual([]);
    const listed = await alice.call<{ outgoing: unknown[] }>('files.list');
    expect(listed.outgoing).toEqual([]);
  }, 60_000);

  it('bad params are typed errors: a relative path, a missing file, a bad id, a stranger', async () => {
    const rel = await alice.request('files.send', { peer: 'Bob', path: 'report.bin' });
    expect(rel.error?.data?.code).toBe('CLIENT_ERR_INVALID_ARGUMENT');
    const missing = await alice.request('files.send', { peer: 'Bob', path: join(work, 'nope.bin') });
    expect(missing.error?.data?.code).toBe('CLIENT_ERR_INVALID_ARGUMENT');
    const badId = await bob.request('files.respond', { id: '../x', accept: true });
    expect(badId.error?.data?.code).toBe('CLIENT_ERR_INVALID_ARGUMENT');
    const cancel = await bob.request('files.cancel', { id: 'ab'.repeat(16) });
    expect(cancel.error?.data?.code).toBe('CLIENT_ERR_FILE_UNKNOWN_TRANSFER');
    const stranger = await alice.request('files.send', { peer: 'Z'.repeat(43), path: join(work, 'report.bin') });
    expect(stranger.error?.data?.code).toMatch(/CLIENT_ERR_(UNKNOWN_PEER|NOT_TRUSTED|INVALID_ARGUMENT)/);
  }, 30_000);
});
