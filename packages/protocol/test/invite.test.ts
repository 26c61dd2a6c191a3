/** Invite tokens: reusable (v1) and single-use (v2) claims, ids, and what the verifier refuses. */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, toBase64url, utf8 } from '../src/bytes.js';
import { DOMAIN } from '../src/constants.js';
import { generateIdentity } from '../src/identity.js';
import { mintInviteToken, readInviteClaims, verifyInviteToken } from '../src/invite.js';
import { nodeSuite } from '../src/node.js';

const SECRET = 'k'.repeat(40);
const key = generateIdentity(nodeSuite).publicKey;

/** A token with arbitrary claims under SECRET (to test what the verifier refuses). */
function forge(claims: unknown): string {
  const bytes = utf8(JSON.stringify(claims));
  return `${toBase64url(bytes)}.${toBase64url(hmac(sha256, utf8(SECRET), concatBytes(utf8(DOMAIN.inviteToken), bytes)))}`;
}

describe('invite tokens', () => {
  it('a reusable token is v1 without `once`; a single-use one is v2 with once: true', () => {
    const reusable = mintInviteToken(SECRET, { ttlMs: 60_000 });
    const once = mintInviteToken(SECRET, { ttlMs: 60_000, once: true });
    expect(verifyInviteToken(SECRET, reusable, key).once).toBeUndefined();
    expect(verifyInviteToken(SECRET, once, key).once).toBe(true);
    expect(JSON.parse(Buffer.from(once.split('.')[0]!, 'base64url').toString())).toMatchObject({ v: 2, once: true });
    expect(JSON.parse(Buffer.from(reusable.split('.')[0]!, 'base64url').toString()).v).toBe(1);
  });

  it('readInviteClaims shows the id an admin revokes; ids differ per token', () => {
    const t1 = mintInviteToken(SECRET, { ttlMs: 60_000 });
    const t2 = mintInviteToken(SECRET, { ttlMs: 60_000 });
    expect(readInviteClaims(t1).id).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(readInviteClaims(t1).id).toBe(verifyInviteToken(SECRET, t1, key).id);
    expect(readInviteClaims(t1).id).not.toBe(readInviteClaims(t2).id);
  });

  it('refuses a version/flag mismatch, so `once` cannot be stripped or smuggled into v1', () => {
    const exp = Date.now() + 60_000;
    expect(verifyInviteToken(SECRET, forge({ v: 1, id: 'a', exp }), key).once).toBeUndefined();
    expect(() => verifyInviteToken(SECRET, forge({ v: 1, id: 'a', exp, once: true }), key)).toThrow(/claims/);
    expect(() => verifyInviteToken(SECRET, forge({ v: 2, id: 'a', exp }), key)).toThrow(/claims/);
    expect(() => verifyInviteToken(SECRET, forge({ v: 2, id: 'a', exp, once: false }), key)).toThrow(/claims/);
    expect(() => verifyInviteToken(SECRET, forge({ v: 3, id: 'a', exp }), key)).toThrow(/claims/);
    expect(() => verifyInviteToken(SECRET, forge({ v: 1, id: 'a', exp, key: 5 }), key)).toThrow(/key/);
    // Changing the claims breaks the MAC.
    const once = mintInviteToken(SECRET, { ttlMs: 60_000, once: true });
    const stripped = Buffer.from(
      JSON.stringify({
        ...JSON.parse(Buffer.from(once.split('.')[0]!, 'base64url').toString()),
        v: 1,
        once: undefined,
      }),
    ).toString('base64url');
    expect(() => verifyInviteToken(SECRET, `${stripped}.${once.split('.')[1]}`, key)).toThrow(/MAC/);
  });
});
