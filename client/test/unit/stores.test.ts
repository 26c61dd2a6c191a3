import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateIdentity, ReplayGuard } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_COMPACT_LINES, OUTBOX_MAX_MESSAGES } from '../../src/constants.js';
import { InboxState } from '../../src/session/inbox-state.js';
import { Outbox } from '../../src/session/outbox.js';
import { openPersistentReplayGuard } from '../../src/session/replay-store.js';
import { HomeLock } from '../../src/store/home-lock.js';
import { IdentityStore } from '../../src/store/identity-store.js';
import { Journal } from '../../src/store/journal.js';
import { storePaths } from '../../src/store/paths.js';
import { TrustStore } from '../../src/store/trust-store.js';
import { tempHome } from '../helpers/server.js';

const homes: Array<() => void> = [];
afterEach(() => {
  for (const c of homes.splice(0)) c();
});
const home = () => {
  const h = tempHome('p2p-unit-');
  homes.push(h.cleanup);
  return h.home;
};

describe('IdentityStore', () => {
  it('creates once with 0700 dir and 0600 secret, then loads the same key', () => {
    const paths = storePaths(home());
    const a = new IdentityStore(paths).loadOrCreate();
    expect(statSync(paths.identityDir).mode & 0o777).toBe(0o700);
    expect(statSync(paths.secretKeyFile).mode & 0o777).toBe(0o600);
    const b = new IdentityStore(paths).loadOrCreate();
    expect(Buffer.from(b.identity.publicKey).equals(Buffer.from(a.identity.publicKey))).toBe(true);
    new IdentityStore(paths).setName('  Alice  ');
    expect(new IdentityStore(paths).load()!.name).toBe('Alice');
  });

  it('reports a mismatched public key or bad profile with the path', () => {
    const paths = storePaths(home());
    new IdentityStore(paths).loadOrCreate();
    const other = generateIdentity(nodeSuite);
    writeFileSync(paths.publicKeyFile, Buffer.from(other.publicKey).toString('base64url'));
    expect(() => new IdentityStore(paths).load()).toThrow(paths.publicKeyFile);
    const p2 = storePaths(home());
    new IdentityStore(p2).loadOrCreate();
    writeFileSync(p2.profileFile, '{"name": 3}');
    expect(() => new IdentityStore(p2).load()).toThrow(/CLIENT_ERR|profile.json/);
  });
});

describe('TrustStore', () => {
  it('persists atomically and reloads', () => {
    const paths = storePaths(home());
    const key = Buffer.from(generateIdentity(nodeSuite).publicKey).toString('base64url');
    const t = new TrustStore(paths);
    t.put(key, { state: 'trusted', name: 'Bob', addresses: ['h:1'], scopes: ['send'] });
    const again = new TrustStore(paths).get(key)!;
    expect(again).toMatchObject({ key, name: 'Bob', state: 'trusted', addresses: ['h:1'], scopes: ['send'] });
    expect(statSync(paths.trustFile).mode & 0o777).toBe(0o600);
  });

  it('refuses a fingerprint that does not match its key', () => {
    const paths = storePaths(home());
    const key = Buffer.from(generateIdentity(nodeSuite).publicKey).toString('base64url');
    const t = new TrustStore(paths);
    t.put(key, { state: 'trusted', name: 'Bob' });
    const doc = JSON.parse(readFileSync(paths.trustFile, 'utf8'));
    doc.peers[0].fingerprint = '00:11';
    writeFileSync(paths.trustFile, JSON.stringify(doc));
    expect(() => new TrustStore(paths)).toThrow(/fingerprint/);
  });
});

describe('Journal', () => {
  it('ignores a torn last line but refuses corruption in the middle', () => {
    const dir = home();
    const j = new Journal<{ n: number }, { i: number }>(dir, 't');
    j.append({ i: 1 });
    j.append({ i: 2 });
    appendFileSync(join(dir, 't.log'), '{"i":');
    expect(new Journal(dir, 't').load().entries).toEqual([{ i: 1 }, { i: 2 }]);
    appendFileSync(join(dir, 't.log'), '\n{"i":3}\n');
    expect(() => new Journal(dir, 't').load()).toThrow(/CLIENT_ERR|t.log/);
  });

  it('compacts into a snapshot and an empty log', () => {
    const dir = home();
    const j = new Journal<{ n: number }, { i: number }>(dir, 't');
    j.append({ i: 1 });
    j.compact({ n: 1 });
    expect(new Journal(dir, 't').load()).toEqual({ snapshot: { n: 1 }, entries: [] });
  });
});

describe('Outbox', () => {
  it('keeps messages across reopen until a cumulative ack, in sequence per peer', () => {
    const dir = home();
    const o = new Outbox(dir);
    const m = [0, 1, 2].map((i) => o.add('peerA', 'text', new Uint8Array([i])));
    o.add('peerB', 'bytes', new Uint8Array(10));
    expect(m.map((x) => x.seq)).toEqual([0, 1, 2]);
    const o2 = new Outbox(dir);
    expect(o2.pending('peerA').map((x) => x.id)).toEqual(m.map((x) => x.id));
    expect(o2.ack('peerA', m[0]!.stream, 1).map((x) => x.seq)).toEqual([0, 1]);
    expect(o2.ack('peerA', 'other-stream', 5)).toEqual([]);
    const o3 = new Outbox(dir);
    expect(o3.pending('peerA').map((x) => x.seq)).toEqual([2]);
    expect(o3.add('peerA', 'text', new Uint8Array(1)).seq).toBe(3);
    expect(o3.size).toBe(3);
  });

  it('a dropped peer starts a new stream at 0', () => {
    const o = new Outbox(home());
    const a = o.add('p', 'text', new Uint8Array(1));
    expect(o.drop('p')).toHaveLength(1);
    const b = o.add('p', 'text', new Uint8Array(1));
    expect(b.seq).toBe(0);
    expect(b.stream).not.toBe(a.stream);
  });

  it('is bounded: over OUTBOX_MAX_MESSAGES send fails with CLIENT_ERR_OUTBOX_FULL', () => {
    const dir = home();
    const o = new Outbox(dir);
    for (let i = 0; i < OUTBOX_MAX_MESSAGES; i++) o.add(`p${i % 3}`, 'text', new Uint8Array(0));
    expect(() => o.add('p0', 'text', new Uint8Array(0))).toThrowError(
      expect.objectContaining({ code: 'CLIENT_ERR_OUTBOX_FULL' }),
    );
    // Survives compaction (the journal folded several times on the way).
    expect(new Outbox(dir).size).toBe(OUTBOX_MAX_MESSAGES);
  });
});

describe('damaged outbox/inbox files: CLIENT_ERR_STATE_CORRUPT, never a TypeError', () => {
  const good = { peer: 'p', id: 'a'.repeat(32), stream: 'streamid', seq: 0, enc: 'text', body: '', createdAt: 1 };
  const cases: Array<[string, string, string]> = [
    ['outbox', 'outbox.json', '[]'],
    ['outbox', 'outbox.json', '{"version":1,"streams":{"p":null},"messages":[]}'],
    ['outbox', 'outbox.json', '{"version":1,"streams":{},"messages":[null]}'],
    ['outbox', 'outbox.json', JSON.stringify({ version: 1, streams: {}, messages: [{ ...good, body: 5 }] })],
    ['outbox', 'outbox.json', JSON.stringify({ version: 1, streams: {}, messages: [{ ...good, id: 'zz' }] })],
    ['outbox', 'outbox.log', 'null\n'],
    ['outbox', 'outbox.log', '{"op":"add","m":{"peer":"p"}}\n'],
    ['outbox', 'outbox.log', '{"op":"ack","peer":"p","stream":"s","upTo":"x"}\n'],
    ['inbox', 'inbox.json', '{"version":1,"peers":{"p":null}}'],
    ['inbox', 'inbox.json', '"text"'],
    ['inbox', 'inbox.log', 'null\n'],
    ['inbox', 'inbox.log', '{"peer":"p","stream":"s","next":1.5}\n'],
  ];
  it.each(cases)('%s: %s = %s', (kind, file, content) => {
    const dir = home();
    writeFileSync(join(dir, file), content);
    const open = () => (kind === 'outbox' ? new Outbox(dir) : new InboxState(dir));
    expect(open).toThrowError(expect.objectContaining({ code: 'CLIENT_ERR_STATE_CORRUPT' }));
  });

  it('a well-formed stored message still loads', () => {
    const dir = home();
    writeFileSync(join(dir, 'outbox.json'), JSON.stringify({ version: 1, streams: {}, messages: [good] }));
    expect(new Outbox(dir).pending('p').map((m) => m.id)).toEqual([good.id]);
  });
});

describe('InboxState and the persistent replay guard', () => {
  it('positions survive reopen', () => {
    const dir = home();
    const s = new InboxState(dir);
    s.advance('p', 'st', 5);
    s.advance('p', 'st', 6);
    expect(new InboxState(dir).get('p')).toEqual({ stream: 'st', next: 6 });
  });

  it('advanceLater moves the position now and writes it to disk only on persistUpTo, also through compaction', () => {
    const dir = home();
    const s = new InboxState(dir);
    s.advance('p', 'st', 1);
    s.advanceLater('p', 'st', 2);
    expect(s.get('p')).toEqual({ stream: 'st', next: 2 }); // duplicates below 2 are refused now
    expect(new InboxState(dir).get('p')).toEqual({ stream: 'st', next: 1 }); // not on disk yet
    // Many other peers' writes compact the journal: the snapshot holds what is on disk only.
    for (let i = 0; i < JOURNAL_COMPACT_LINES; i++) s.advance(`q${i % 100}`, 'st', i + 1);
    expect(new InboxState(dir).get('p')).toEqual({ stream: 'st', next: 1 });
    s.persistUpTo('p', s.get('p')!);
    expect(new InboxState(dir).get('p')).toEqual({ stream: 'st', next: 2 });
  });

  it('a replay is refused after restart', () => {
    const dir = home();
    const sender = generateIdentity(nodeSuite).publicKey;
    const nonce = new Uint8Array(16).fill(7);
    const now = Date.now();
    openPersistentReplayGuard(dir).checkAndRecord(sender, nonce, now, now);
    const reopened = openPersistentReplayGuard(dir);
    expect(() => reopened.checkAndRecord(sender, nonce, now, now)).toThrow(/already accepted/);
    expect(reopened).toBeInstanceOf(ReplayGuard);
  });
});

describe('HomeLock', () => {
  it('refuses a second live holder and takes over a stale lock', () => {
    const dir = home();
    const a = new HomeLock(dir);
    a.acquire();
    writeFileSync(join(dir, 'lock'), String(process.ppid)); // a live process that is not us
    expect(() => new HomeLock(dir).acquire()).toThrowError(expect.objectContaining({ code: 'CLIENT_ERR_HOME_LOCKED' }));
    writeFileSync(join(dir, 'lock'), '999999999'); // no such pid
    const b = new HomeLock(dir);
    b.acquire();
    b.release();
  });
});
