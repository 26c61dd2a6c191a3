/**
 * The session layer alone, two instances wired through a deliberately bad "path" that drops,
 * duplicates and reorders envelopes (seeded, so a failure replays). Whatever the path does,
 * every message must reach the app exactly once and in order, and every ack must come back.
 * And one refusal the relay reports (busy): the ack it may have eaten goes again soon.
 */
import { generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ACK_AFTER_BUSY_MS, RETRANSMIT_INITIAL_MS } from '../../src/constants.js';
import { InboxState } from '../../src/session/inbox-state.js';
import { Outbox } from '../../src/session/outbox.js';
import { openPersistentReplayGuard } from '../../src/session/replay-store.js';
import { Session } from '../../src/session/session.js';
import { storePaths } from '../../src/store/paths.js';
import { TrustStore } from '../../src/store/trust-store.js';
import { tempHome } from '../helpers/server.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0)) c();
});

interface Net {
  queue: Array<{ to: 'a' | 'b'; from: Uint8Array; env: Uint8Array }>;
}

function makeSession(name: string, side: 'a' | 'b', net: Net) {
  const h = tempHome('p2p-sess-');
  cleanups.push(h.cleanup);
  const paths = storePaths(h.home);
  const identity = generateIdentity(nodeSuite);
  const session = new Session({
    suite: nodeSuite,
    identity,
    localName: () => name,
    trust: new TrustStore(paths),
    outbox: new Outbox(paths.stateDir),
    inbox: new InboxState(paths.stateDir),
    replayGuard: openPersistentReplayGuard(paths.stateDir),
    transmit: (_peer, env) => {
      net.queue.push({ to: side === 'a' ? 'b' : 'a', from: identity.publicKey, env });
      return 'relay';
    },
    pathStatus: () => 'relay: connected',
    requireApproval: false,
  });
  return { session, identity };
}

describe('session over a lossy, duplicating, reordering path', () => {
  it('delivers exactly once, in order, and acks everything', () => {
    fc.assert(
      fc.property(
        fc.record({
          seed: fc.integer(),
          drop: fc.double({ min: 0, max: 0.4, noNaN: true }),
          dup: fc.double({ min: 0, max: 0.3, noNaN: true }),
          count: fc.integer({ min: 1, max: 30 }),
        }),
        ({ seed, drop, dup, count }) => {
          vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
          let state = seed >>> 0 || 1;
          const rand = () => {
            state ^= state << 13;
            state ^= state >>> 17;
            state ^= state << 5;
            return (state >>> 0) / 0x100000000;
          };
          const net: Net = { queue: [] };
          const a = makeSession('A', 'a', net);
          const b = makeSession('B', 'b', net);
          const got: string[] = [];
          const acked = new Set<string>();
          b.session.on('message.received', (m) => got.push(m.text!));
          b.session.on('consent.request', (r) => b.session.respondConsent(r.requestId, true));
          a.session.on('message.delivered', (d) => acked.add(d.id));
          a.session.start();
          b.session.start();
          const bKey = b.identity.publicKey;
          const deliver = (bad: boolean) => {
            // Drain the network once; on "bad" rounds, drop/duplicate/reorder.
            const batch = net.queue.splice(0);
            if (bad) batch.sort(() => rand() - 0.5);
            for (const f of batch) {
              if (bad && rand() < drop) continue;
              const target = f.to === 'a' ? a.session : b.session;
              target.receive(f.from, f.env, 'relay');
              if (bad && rand() < dup) target.receive(f.from, f.env, 'relay');
            }
          };
          a.session.connect({ key: bKey, name: 'B' });
          for (
            let i = 0;
            i < 5 && a.session.peerInfo(Buffer.from(bKey).toString('base64url')).state !== 'trusted';
            i++
          ) {
            deliver(false);
            vi.advanceTimersByTime(10);
          }
          expect(a.session.peerInfo(Buffer.from(bKey).toString('base64url')).state).toBe('trusted');
          const ids: string[] = [];
          for (let i = 0; i < count; i++) ids.push(a.session.send('B', { text: `m${i}` }).id);
          for (let round = 0; round < 400 && acked.size < count; round++) {
            deliver(true);
            vi.advanceTimersByTime(round % 10 === 9 ? 35_000 : 10); // now and then, a retransmit timeout
          }
          a.session.stop();
          b.session.stop();
          vi.useRealTimers();
          expect(got).toEqual(Array.from({ length: count }, (_, i) => `m${i}`));
          expect([...acked].sort()).toEqual([...ids].sort());
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('an ack the relay refused as busy', () => {
  it('goes again ACK_AFTER_BUSY_MS later, so the sender does not wait out its retransmit timeout', () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 0, 1) });
    const net: Net = { queue: [] };
    const a = makeSession('A', 'a', net);
    const b = makeSession('B', 'b', net);
    b.session.on('consent.request', (r) => b.session.respondConsent(r.requestId, true));
    const acked: string[] = [];
    a.session.on('message.delivered', (d) => acked.push(d.id));
    a.session.start();
    b.session.start();
    cleanups.push(
      () => a.session.stop(),
      () => b.session.stop(),
    );
    const aKey = Buffer.from(a.identity.publicKey).toString('base64url');
    const deliver = (drop: (f: Net['queue'][number]) => boolean = () => false) => {
      for (const f of net.queue.splice(0)) {
        if (drop(f)) continue;
        (f.to === 'a' ? a.session : b.session).receive(f.from, f.env, 'relay');
      }
    };
    a.session.connect({ key: b.identity.publicKey, name: 'B' });
    for (let i = 0; i < 10; i++) {
      deliver();
      vi.advanceTimersByTime(10);
    }
    let received = 0;
    b.session.on('message.received', () => received++);
    const { id } = a.session.send('B', { text: 'hello' });
    // Until B's packets flow, the handshake and the message cross; then B's ack is refused.
    let refused = 0;
    for (let i = 0; i < 10 && refused === 0; i++) {
      deliver((f) => {
        if (f.to !== 'a' || received === 0) return false;
        refused++;
        b.session.recipientBusy(aKey); // what the relay's RDV_ERR_RECIPIENT_BUSY reports to B
        return true;
      });
      vi.advanceTimersByTime(10);
    }
    expect(refused).toBeGreaterThan(0);
    expect(acked).toEqual([]);
    vi.advanceTimersByTime(ACK_AFTER_BUSY_MS);
    deliver();
    // Well inside A's first retransmit timeout (RETRANSMIT_INITIAL_MS).
    expect(ACK_AFTER_BUSY_MS + 100).toBeLessThan(RETRANSMIT_INITIAL_MS);
    expect(acked).toEqual([id]);
  });
});
