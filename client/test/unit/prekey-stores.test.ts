/**
 * The client's prekey state on disk: our own bundles (rotation, keeping old secrets for the
 * mailbox TTL, then erasing them, the file's mode), the peers' bundles and send sequences, and
 * the persisted replay guard — each reloaded from its files as after a restart.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { decodePrekeyBundle, encodeKey, generateIdentity, openPrekeyMessage, sealToPrekey } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { PREKEY_KEEP_AFTER_EXPIRY_MS, PREKEY_OWN_LIFETIME_MS, PREKEY_ROTATE_BEFORE_MS } from '../../src/constants.js';
import { PersistentPrekeyReplay } from '../../src/session/prekey-replay-store.js';
import { OwnPrekeys } from '../../src/store/own-prekeys.js';
import { PeerPrekeys } from '../../src/store/peer-prekeys.js';
import { tempHome } from '../helpers/server.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function dir(): string {
  const h = tempHome('p2p-prekeys-');
  cleanups.push(h.cleanup);
  return h.home;
}

const T0 = Date.UTC(2026, 10, 1);

describe('own prekey bundles', () => {
  it('rotates before expiry, keeps the old secrets for the mailbox TTL after expiry, then erases them', () => {
    const home = dir();
    const file = join(home, 'prekeys.json');
    const me = generateIdentity(nodeSuite);
    const own = new OwnPrekeys(file, nodeSuite, me);
    expect(own.refresh(T0)).toBe(true);
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    const first = decodePrekeyBundle(own.current());
    expect(first.expiresAt - first.createdAt).toBe(PREKEY_OWN_LIFETIME_MS);
    expect(own.refresh(T0 + 1_000)).toBe(false);

    // A sender seals to bundle 1 just before we rotate.
    const alice = generateIdentity(nodeSuite);
    const rotateAt = first.expiresAt - PREKEY_ROTATE_BEFORE_MS;
    const { message } = sealToPrekey(nodeSuite, {
      sender: alice,
      recipient: me.publicKey,
      bundle: own.current(),
      now: rotateAt - 1,
      sequence: 0,
      plaintext: Uint8Array.of(1, 2, 3),
    });
    expect(own.refresh(rotateAt)).toBe(true);
    expect(decodePrekeyBundle(own.current()).bundleId).toBe(first.bundleId + 1);

    // After a restart, still openable until PREKEY_KEEP_AFTER_EXPIRY_MS past bundle 1's expiry.
    const reloaded = new OwnPrekeys(file, nodeSuite, me);
    reloaded.refresh(first.expiresAt + PREKEY_KEEP_AFTER_EXPIRY_MS - 1);
    const open = (o: OwnPrekeys) =>
      openPrekeyMessage(nodeSuite, message, { recipient: me, prekeys: (id) => o.secrets(id) }).plaintext;
    expect(open(reloaded)).toEqual(Uint8Array.of(1, 2, 3));
    const secrets = reloaded.secrets(first.bundleId)!;
    reloaded.refresh(first.expiresAt + PREKEY_KEEP_AFTER_EXPIRY_MS);
    expect(reloaded.secrets(first.bundleId)).toBeUndefined();
    expect(secrets.x25519SecretKey.every((b) => b === 0)).toBe(true); // zeroed in memory
    expect(() => open(new OwnPrekeys(file, nodeSuite, me))).toThrow(/PREKEY_UNKNOWN|bundle id/); // and gone from disk
  });
});

describe('peers’ bundles and send sequences', () => {
  it('keeps a verified, newer bundle and a sequence that never repeats across restarts', () => {
    const home = dir();
    const bob = generateIdentity(nodeSuite);
    const bobKey = encodeKey(bob.publicKey);
    const bobOwn = new OwnPrekeys(join(dir(), 'prekeys.json'), nodeSuite, bob);
    bobOwn.refresh(Date.now());
    const peers = new PeerPrekeys(home, nodeSuite);
    expect(peers.bundle(bobKey, Date.now())).toBeNull();
    // Someone else's bundle offered as Bob's is refused.
    const mallory = new OwnPrekeys(join(dir(), 'prekeys.json'), nodeSuite, generateIdentity(nodeSuite));
    mallory.refresh(Date.now());
    expect(peers.offer(bobKey, mallory.current(), Date.now())).toBe(false);
    expect(peers.offer(bobKey, bobOwn.current(), Date.now())).toBe(true);
    expect(peers.offer(bobKey, bobOwn.current(), Date.now())).toBe(false); // the same again
    expect([peers.nextSequence(bobKey), peers.nextSequence(bobKey), peers.nextSequence(bobKey)]).toEqual([0, 1, 2]);

    const again = new PeerPrekeys(home, nodeSuite);
    expect(again.bundle(bobKey, Date.now())).toEqual(bobOwn.current());
    expect(again.nextSequence(bobKey)).toBe(3);
    // An expired bundle is not used.
    expect(again.bundle(bobKey, Date.now() + PREKEY_OWN_LIFETIME_MS + 1)).toBeNull();
  });
});

describe('persisted prekey replay guard', () => {
  it('refuses a sequence accepted before a restart', () => {
    const home = dir();
    const alice = generateIdentity(nodeSuite);
    const replay = new PersistentPrekeyReplay(home);
    replay.guard.commit(alice.publicKey, 7);
    replay.record(encodeKey(alice.publicKey), 7);
    const reloaded = new PersistentPrekeyReplay(home);
    expect(() => reloaded.guard.check(alice.publicKey, 7)).toThrow(/PREKEY_REPLAY|sequence 7/);
    expect(() => reloaded.guard.check(alice.publicKey, 8)).not.toThrow();
  });
});
