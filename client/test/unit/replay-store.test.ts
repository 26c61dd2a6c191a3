import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKey, generateIdentity, toBase64url } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_COMPACT_LINES } from '../../src/constants.js';
import { openPersistentReplayGuard } from '../../src/session/replay-store.js';
import { tempHome } from '../helpers/server.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});
function stateDir(): string {
  const h = tempHome('p2p-replay-');
  cleanups.push(h.cleanup);
  const dir = join(h.home, 'state');
  mkdirSync(dir, { recursive: true });
  return dir;
}
const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code;
  }
};

describe('persistent replay guard: format versions', () => {
  it('refuses a state file of an unknown version with CLIENT_ERR_STATE_VERSION and leaves it as it is', () => {
    const dir = stateDir();
    const text = JSON.stringify({ version: 3, future: true });
    writeFileSync(join(dir, 'replay.json'), text);
    expect(code(() => openPersistentReplayGuard(dir))).toBe('CLIENT_ERR_STATE_VERSION');
    expect(readFileSync(join(dir, 'replay.json'), 'utf8')).toBe(text);
    writeFileSync(join(dir, 'replay.json'), JSON.stringify({ version: 2, trusted: 'x' }));
    expect(code(() => openPersistentReplayGuard(dir))).toBe('CLIENT_ERR_STATE_CORRUPT');
  });

  it('migrates version-1 state (snapshot and log lines): what it remembered stays refused', () => {
    const dir = stateDir();
    const now = Date.now();
    const sender = generateIdentity(nodeSuite).publicKey;
    const [a, b] = [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)];
    const id = (n: Uint8Array) => `${toBase64url(sender)}.${toBase64url(n)}`;
    writeFileSync(
      join(dir, 'replay.json'),
      JSON.stringify({ version: 1, floor: now - 60_000, entries: [[id(a), now - 1000]] }),
    );
    writeFileSync(join(dir, 'replay.log'), `${JSON.stringify([id(b), now - 500])}\n`);
    const guard = openPersistentReplayGuard(dir);
    expect(code(() => guard.checkAndRecord(sender, a, now - 1000, now))).toBe('PROTO_ERR_REPLAY');
    expect(code(() => guard.checkAndRecord(sender, b, now - 500, now))).toBe('PROTO_ERR_REPLAY');
    expect(code(() => guard.checkAndRecord(sender, new Uint8Array(16).fill(3), now - 60_001, now))).toBe(
      'PROTO_ERR_STALE',
    );
  });

  it('writes version 2 and restores both pools from snapshot plus log, strangers in their own', () => {
    const dir = stateDir();
    const friend = generateIdentity(nodeSuite).publicKey;
    const isTrusted = (k: string) => k === encodeKey(friend);
    const now = Date.now();
    const guard = openPersistentReplayGuard(dir, { isTrusted });
    const nonces: Uint8Array[] = [];
    // Enough accepts to fold the log into a snapshot once, and a few more after it.
    for (let i = 0; i < JOURNAL_COMPACT_LINES + 3; i++) {
      const n = new Uint8Array(16);
      new DataView(n.buffer).setUint32(0, i);
      nonces.push(n);
      guard.checkAndRecord(i % 2 ? friend : new Uint8Array(32).fill(i % 200), n, now - 10_000 + i, now);
    }
    expect(JSON.parse(readFileSync(join(dir, 'replay.json'), 'utf8')).version).toBe(2);
    const reopened = openPersistentReplayGuard(dir, { isTrusted });
    expect(reopened.senders).toEqual(guard.senders);
    expect(reopened.size).toBe(guard.size);
    expect(code(() => reopened.checkAndRecord(friend, nonces.at(-2)!, now - 10_000 + nonces.length - 2, now))).toBe(
      'PROTO_ERR_REPLAY',
    );
  });
});
