/**
 * peer.status on a path change: emitted for a peer we talk to (its path is part of its status),
 * never for a revoked one (its status stays "revoked" whatever its links do; the CLI used to
 * filter the repeats).
 */
import { generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { InboxState } from '../../src/session/inbox-state.js';
import { Outbox } from '../../src/session/outbox.js';
import { openPersistentReplayGuard } from '../../src/session/replay-store.js';
import { Session } from '../../src/session/session.js';
import { storePaths } from '../../src/store/paths.js';
import { TrustStore } from '../../src/store/trust-store.js';
import { tempHome } from '../helpers/server.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function session() {
  const h = tempHome('p2p-path-status-');
  cleanups.push(h.cleanup);
  const paths = storePaths(h.home);
  const trust = new TrustStore(paths);
  let path = 'relay: connected';
  const s = new Session({
    suite: nodeSuite,
    identity: generateIdentity(nodeSuite),
    localName: () => 'Me',
    trust,
    outbox: new Outbox(paths.stateDir),
    inbox: new InboxState(paths.stateDir),
    replayGuard: openPersistentReplayGuard(paths.stateDir),
    transmit: () => 'relay',
    pathStatus: () => path,
    requireApproval: false,
  });
  const statuses: Array<{ key: string; state: string; path: string }> = [];
  s.on('peer.status', (e) => statuses.push({ key: e.key, state: e.state, path: e.path }));
  return { s, trust, statuses, setPath: (p: string) => (path = p) };
}

describe('peer.status on path changes', () => {
  it('a revoked peer: two path changes emit no status', () => {
    const t = session();
    const peer = generateIdentity(nodeSuite).publicKey;
    const key = Buffer.from(peer).toString('base64url');
    t.trust.put(key, { state: 'revoked', name: 'Eve' });
    t.setPath('direct: 127.0.0.1:9000');
    t.s.pathChanged(key);
    t.setPath('relay: connected');
    t.s.pathChanged(key);
    expect(t.statuses).toEqual([]);
  });

  it('a trusted peer: each path change is reported with the new path', () => {
    const t = session();
    const key = Buffer.from(generateIdentity(nodeSuite).publicKey).toString('base64url');
    t.trust.put(key, { state: 'trusted', name: 'Bob' });
    t.setPath('direct: 127.0.0.1:9000');
    t.s.pathChanged(key);
    t.setPath('relay: connected');
    t.s.pathChanged(key);
    expect(t.statuses).toEqual([
      { key, state: 'trusted', path: 'direct: 127.0.0.1:9000' },
      { key, state: 'trusted', path: 'relay: connected' },
    ]);
  });
});
