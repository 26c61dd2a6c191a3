import { describe, expect, it } from 'vitest';
import { ProtocolError, toBase64url } from '../src/index.js';
import { REPLAY_GUARD_STATE_VERSION, ReplayGuard } from '../src/replay-guard.js';

const NOW = 1_800_000_000_000;
const key = (n: number) => new Uint8Array(32).fill(n);
let nonceSeq = 0;
const freshNonce = () => {
  const n = new Uint8Array(16);
  new DataView(n.buffer).setUint32(0, ++nonceSeq);
  return n;
};
const ALICE = key(1);
const MALLORY = key(2);
const trustedOnly =
  (...keys: Uint8Array[]) =>
  (k: string) =>
    keys.some((t) => toBase64url(t) === k);

function outcome(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
}

describe('ReplayGuard: per-sender state in two pools', () => {
  it('a trusted sender over its budget loses only its own oldest pair; another trusted sender is untouched', () => {
    const guard = new ReplayGuard({ trusted: { maxEntriesPerSender: 4 } });
    const aliceNonce = freshNonce();
    guard.checkAndRecord(ALICE, aliceNonce, NOW - 1000, NOW);
    for (let i = 0; i < 50; i++) guard.checkAndRecord(MALLORY, freshNonce(), NOW - 500 + i, NOW);
    // Alice's old pair is still remembered exactly; her next message, dated before all of
    // Mallory's, is accepted: Mallory's floor is Mallory's.
    expect(outcome(() => guard.checkAndRecord(ALICE, aliceNonce, NOW - 1000, NOW))).toBe('PROTO_ERR_REPLAY');
    expect(outcome(() => guard.checkAndRecord(ALICE, freshNonce(), NOW - 900, NOW))).toBe('ok');
    // Mallory's evicted pairs are covered by its own floor.
    expect(outcome(() => guard.checkAndRecord(MALLORY, freshNonce(), NOW - 490, NOW))).toBe('PROTO_ERR_STALE');
  });

  it('with pairs out of order, the budget forgets the truly oldest one, and refuses a newcomer older still', () => {
    const guard = new ReplayGuard({ trusted: { maxEntriesPerSender: 3 } });
    const n30 = freshNonce();
    for (const [n, ts] of [
      [n30, 30],
      [freshNonce(), 10],
      [freshNonce(), 20],
      [freshNonce(), 40],
    ] as const)
      guard.checkAndRecord(ALICE, n, NOW - 100 + ts, NOW);
    const [, floor, pairs] = guard.snapshot().trusted.senders[0]!;
    expect(floor).toBe(NOW - 90);
    expect(pairs.map((p) => p[1] - NOW + 100)).toEqual([30, 20, 40]);
    // 15 is above the floor but older than every pair left: it would be the one to forget.
    expect(outcome(() => guard.checkAndRecord(ALICE, freshNonce(), NOW - 85, NOW))).toBe('PROTO_ERR_STALE');
    expect(outcome(() => guard.checkAndRecord(ALICE, n30, NOW - 70, NOW))).toBe('PROTO_ERR_REPLAY');
  });

  it('pairs dated in the future never raise a floor: the flooding sender is refused, not the others', () => {
    const guard = new ReplayGuard({ trusted: { maxEntriesPerSender: 4 } });
    for (let i = 0; i < 4; i++) guard.checkAndRecord(MALLORY, freshNonce(), NOW + 290_000 + i, NOW);
    expect(outcome(() => guard.checkAndRecord(MALLORY, freshNonce(), NOW + 290_100, NOW))).toBe(
      'PROTO_ERR_REPLAY_BUDGET',
    );
    expect(outcome(() => guard.checkAndRecord(ALICE, freshNonce(), NOW - 10, NOW))).toBe('ok');
    const snap = guard.snapshot();
    const floors = [snap.trusted.floor, snap.untrusted.floor, ...snap.trusted.senders.map((s) => s[1])];
    for (const f of floors) expect(f).toBeLessThanOrEqual(NOW);
    // Once time has passed the flood's dates, Mallory's own budget frees up again.
    expect(outcome(() => guard.checkAndRecord(MALLORY, freshNonce(), NOW + 291_000, NOW + 290_500))).toBe('ok');
  });

  it('an untrusted flood (one key or many) fills only the untrusted pool', () => {
    const guard = new ReplayGuard({
      isTrusted: trustedOnly(ALICE),
      untrusted: { maxSenders: 4, maxEntriesPerSender: 2 },
      trusted: { maxSenders: 2 },
    });
    const codes = new Set<string>();
    for (let i = 0; i < 200; i++)
      codes.add(outcome(() => guard.checkAndRecord(key(100 + (i % 50)), freshNonce(), NOW + 290_000 + i, NOW)));
    expect([...codes].sort()).toEqual(['PROTO_ERR_REPLAY_BUDGET', 'ok']);
    expect(guard.senders).toEqual({ trusted: 0, untrusted: 4 });
    expect(outcome(() => guard.checkAndRecord(ALICE, freshNonce(), NOW - 60_000, NOW))).toBe('ok');
  });

  it('an idle untrusted sender makes room for a new one; the pool floor never passes now', () => {
    const guard = new ReplayGuard({ isTrusted: () => false, untrusted: { maxSenders: 2, maxEntriesPerSender: 2 } });
    const oldNonce = freshNonce();
    guard.checkAndRecord(key(10), oldNonce, NOW - 5000, NOW);
    guard.checkAndRecord(key(11), freshNonce(), NOW - 4000, NOW);
    guard.checkAndRecord(key(12), freshNonce(), NOW - 3000, NOW); // key(10) forgotten
    expect(guard.snapshot().untrusted.floor).toBe(NOW - 5000);
    // key(10)'s forgotten pair is covered by the pool floor.
    expect(outcome(() => guard.checkAndRecord(key(10), oldNonce, NOW - 5000, NOW))).toBe('PROTO_ERR_STALE');
  });

  it('a sender that becomes trusted keeps its pairs (no replay through the pool change)', () => {
    let trusted = false;
    const guard = new ReplayGuard({ isTrusted: () => trusted });
    const nonce = freshNonce();
    guard.checkAndRecord(ALICE, nonce, NOW, NOW);
    trusted = true;
    expect(outcome(() => guard.checkAndRecord(ALICE, nonce, NOW, NOW))).toBe('PROTO_ERR_REPLAY');
    expect(outcome(() => guard.checkAndRecord(ALICE, freshNonce(), NOW, NOW))).toBe('ok');
    expect(guard.senders).toEqual({ trusted: 1, untrusted: 0 });
    expect(outcome(() => guard.checkAndRecord(ALICE, nonce, NOW, NOW))).toBe('PROTO_ERR_REPLAY');
    trusted = false;
    expect(outcome(() => guard.checkAndRecord(ALICE, nonce, NOW, NOW))).toBe('PROTO_ERR_REPLAY');
  });

  it('prunes pairs older than the window, and refuses anything that old', () => {
    const guard = new ReplayGuard({ windowMs: 10_000 });
    guard.checkAndRecord(ALICE, freshNonce(), NOW, NOW);
    expect(guard.size).toBe(1);
    expect(outcome(() => guard.checkAndRecord(ALICE, freshNonce(), NOW + 12_000, NOW + 21_000))).toBe('ok');
    expect(guard.size).toBe(1);
    expect(outcome(() => guard.checkAndRecord(MALLORY, freshNonce(), NOW + 10_500, NOW + 21_000))).toBe(
      'PROTO_ERR_STALE',
    );
  });

  it('checks its budgets once, naming the bad one', () => {
    expect(() => new ReplayGuard({ untrusted: { maxSenders: 0 } })).toThrow(/untrusted.maxSenders/);
    expect(() => new ReplayGuard({ trusted: { maxEntriesPerSender: 1.5 } })).toThrow(/trusted.maxEntriesPerSender/);
  });
});

describe('ReplayGuard: persisted state', () => {
  it('round-trips through JSON (version 2) with pools, floors and pairs', () => {
    const guard = new ReplayGuard({ isTrusted: trustedOnly(ALICE), untrusted: { maxEntriesPerSender: 2 } });
    const a = freshNonce();
    const m = freshNonce();
    guard.checkAndRecord(ALICE, a, NOW - 10, NOW);
    guard.checkAndRecord(MALLORY, m, NOW - 9, NOW);
    for (let i = 0; i < 3; i++) guard.checkAndRecord(MALLORY, freshNonce(), NOW - 5 + i, NOW);
    const state = JSON.parse(JSON.stringify(guard.snapshot()));
    expect(state.version).toBe(REPLAY_GUARD_STATE_VERSION);
    const restored = ReplayGuard.restore(
      state,
      { isTrusted: trustedOnly(ALICE), untrusted: { maxEntriesPerSender: 2 } },
      NOW,
    );
    expect(outcome(() => restored.checkAndRecord(ALICE, a, NOW - 10, NOW))).toBe('PROTO_ERR_REPLAY');
    expect(outcome(() => restored.checkAndRecord(MALLORY, m, NOW - 9, NOW))).toBe('PROTO_ERR_STALE');
    expect(outcome(() => restored.checkAndRecord(ALICE, freshNonce(), NOW - 20, NOW))).toBe('ok');
  });

  it('refuses an unknown version with PROTO_ERR_BAD_VERSION and a malformed one with PROTO_ERR_BAD_ENCODING', () => {
    expect(outcome(() => ReplayGuard.restore({ version: 3, trusted: {}, untrusted: {} }))).toBe(
      'PROTO_ERR_BAD_VERSION',
    );
    expect(outcome(() => ReplayGuard.restore({ version: '2' }))).toBe('PROTO_ERR_BAD_VERSION');
    expect(outcome(() => ReplayGuard.restore(null))).toBe('PROTO_ERR_BAD_ENCODING');
    expect(outcome(() => ReplayGuard.restore({ version: 2, trusted: { floor: 0 }, untrusted: {} }))).toBe(
      'PROTO_ERR_BAD_ENCODING',
    );
    expect(
      outcome(() =>
        ReplayGuard.restore({ version: 2, trusted: { floor: 0, senders: [['k', 0, [['n', 'x']]]] }, untrusted: {} }),
      ),
    ).toBe('PROTO_ERR_BAD_ENCODING');
  });

  it('migrates a version-1 state: its pairs and its floor are kept', () => {
    const a = freshNonce();
    const v1 = { version: 1, floor: NOW - 1000, entries: [[`${toBase64url(ALICE)}.${toBase64url(a)}`, NOW - 100]] };
    const guard = ReplayGuard.restore(v1, {}, NOW);
    expect(outcome(() => guard.checkAndRecord(ALICE, a, NOW - 100, NOW))).toBe('PROTO_ERR_REPLAY');
    expect(outcome(() => guard.checkAndRecord(ALICE, freshNonce(), NOW - 50, NOW))).toBe('ok');
    // What v1 forgot (at or below its floor) stays refused, for every sender.
    expect(outcome(() => guard.checkAndRecord(MALLORY, freshNonce(), NOW - 1000, NOW))).toBe('PROTO_ERR_STALE');
  });

  it('migrates a poisoned version-1 state: a floor in the future is capped at the migration time', () => {
    const v1 = {
      version: 1,
      floor: NOW + 290_000,
      entries: Array.from({ length: 20 }, (_, i) => [
        `${toBase64url(MALLORY)}.${toBase64url(freshNonce())}`,
        NOW + 290_001 + i,
      ]),
    };
    const guard = ReplayGuard.restore(v1, { isTrusted: trustedOnly(ALICE) }, NOW);
    expect(outcome(() => guard.checkAndRecord(ALICE, freshNonce(), NOW + 10, NOW + 10))).toBe('ok');
    expect(guard.senders).toEqual({ trusted: 1, untrusted: 1 });
  });

  it('rebuilds the same state from the onAccept log as from a snapshot', () => {
    const log: Array<[string, string, number]> = [];
    const guard = new ReplayGuard({ onAccept: (s, n, t) => log.push([s, n, t]) });
    const nonces = Array.from({ length: 5 }, freshNonce);
    for (const [i, n] of nonces.entries()) guard.checkAndRecord(i % 2 ? ALICE : MALLORY, n, NOW - 100 + i, NOW);
    const fromLog = new ReplayGuard();
    for (const [s, n, t] of log) fromLog.replay(s, n, t, NOW);
    expect(fromLog.snapshot()).toEqual(guard.snapshot());
  });
});
