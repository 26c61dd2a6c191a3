/**
 * The client refuses a small-order peer key wherever it reads one: share strings (`p2p-comm
 * trust add`, invites), and the trust store itself. Such a key makes signatures verify for
 * many messages and its X25519 form yields an all-zero shared secret.
 */
import { fromHex, SMALL_ORDER_ENCODINGS, toBase64url } from '@p2p-comm/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { parseShare } from '../../src/share.js';
import { storePaths } from '../../src/store/paths.js';
import { TrustStore } from '../../src/store/trust-store.js';
import { tempHome } from '../helpers/server.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

// Canonical torsion points, plus y = p + 1 (a non-canonical identity) and a "negative zero" identity.
const WEAK = [
  ...SMALL_ORDER_ENCODINGS,
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0100000000000000000000000000000000000000000000000000000000000080',
].map((hex) => toBase64url(fromHex(hex)!));

describe('small-order peer keys in the client', () => {
  it('share strings with a small-order key are refused and say why', () => {
    for (const key of WEAK) {
      for (const text of [key, `p2p-comm://${key}@host:1`]) {
        expect(() => parseShare(text), text).toThrowError(/small-order/);
      }
    }
  });

  it('the trust store refuses to add one', () => {
    const h = tempHome('p2p-weak-');
    cleanups.push(h.cleanup);
    const trust = new TrustStore(storePaths(h.home));
    for (const key of WEAK) {
      expect(() => trust.put(key, { state: 'trusted', name: 'Mallory' }), key).toThrowError(
        expect.objectContaining({ code: 'PROTO_ERR_WEAK_KEY' }),
      );
    }
    expect(trust.list()).toEqual([]);
  });
});
