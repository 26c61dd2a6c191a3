import { encodeKey, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { NAME_CHANGE_PENDING_MAX } from '../../src/constants.js';
import { NameChanges } from '../../src/session/name-changes.js';
import { storePaths } from '../../src/store/paths.js';
import { TrustStore } from '../../src/store/trust-store.js';
import { tempHome } from '../helpers/server.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup() {
  const h = tempHome('p2p-names-');
  cleanups.push(h.cleanup);
  const trust = new TrustStore(storePaths(h.home));
  const add = (name: string) => {
    const key = encodeKey(generateIdentity(nodeSuite).publicKey);
    trust.put(key, { state: 'trusted', name });
    return key;
  };
  return { trust, names: new NameChanges(trust), add };
}

describe('name changes proposed by peers', () => {
  it('one question per peer at a time; the same refused name is not asked again; accept applies it', () => {
    const { trust, names, add } = setup();
    const bob = add('Bob');
    const first = names.propose(bob, 'Robert');
    expect(first).toMatchObject({ kind: 'asked', event: { key: bob, name: 'Bob', proposedName: 'Robert' } });
    expect(names.propose(bob, 'Bobby')).toEqual({ kind: 'unchanged' }); // one at a time
    names.respond(bob, false);
    expect(trust.get(bob)?.name).toBe('Bob');
    expect(names.propose(bob, 'Robert')).toEqual({ kind: 'unchanged' }); // refused before
    const second = names.propose(bob, 'Bobby');
    expect(second.kind).toBe('asked');
    names.respond((second as { event: { requestId: string } }).event.requestId, true);
    expect(trust.get(bob)?.name).toBe('Bobby');
  });

  it('a name that looks like another peer’s is never proposed, nor accepted if another took it meanwhile', () => {
    const { trust, names, add } = setup();
    const alice = add('Alice');
    const mallory = add('Mallory');
    expect(names.propose(mallory, 'ALICE')).toEqual({ kind: 'dropped', code: 'CLIENT_ERR_NAME_TAKEN' });
    expect(names.propose(mallory, 'Mal').kind).toBe('asked');
    trust.put(alice, { name: 'Mal' }); // the user renamed Alice while the question waited
    expect(() => names.respond(mallory, true)).toThrow(/looks like/);
    expect(trust.get(mallory)?.name).toBe('Mallory');
  });

  it(`at most NAME_CHANGE_PENDING_MAX (${NAME_CHANGE_PENDING_MAX}) questions wait in all`, () => {
    const { names, add } = setup();
    const keys = Array.from({ length: NAME_CHANGE_PENDING_MAX + 1 }, (_, i) => add(`Peer ${i}`));
    const outcomes = keys.map((k, i) => names.propose(k, `Renamed ${i}`).kind);
    expect(outcomes.filter((o) => o === 'asked')).toHaveLength(NAME_CHANGE_PENDING_MAX);
    expect(outcomes.at(-1)).toBe('dropped');
    expect(names.pending()).toHaveLength(NAME_CHANGE_PENDING_MAX);
  });
});
