/**
 * Invite tokens for `ADMISSION=token`: minted by an admin (`p2p-comm admin invite`) with the
 * server's secret, checked by the server at auth. Format, all base64url:
 *
 *   <claims>.<mac>   claims = JSON { v: 1, id, exp (ms since epoch), key? (bound peer key) }
 *                         or JSON { v: 2, id, exp, key?, once: true }   (single use)
 *                    mac    = HMAC-SHA256(secret, domain tag ‖ claims bytes)
 *
 * A token without `key` admits any key until it expires; with `key`, only that key. A
 * single-use token (`once`) admits the first key that presents it, and after that only that
 * key (its reconnects present the same token); the server records the redemption. It is
 * version 2 so that a server that cannot record redemptions refuses it instead of treating it
 * as reusable. `id` names the token for revocation (the server's INVITE_REVOKED).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, concatBytes, fromBase64url, fromUtf8, randomBytes, toBase64url, utf8 } from './bytes.js';
import { DOMAIN } from './constants.js';
import { ProtocolError } from './errors.js';
import { decodeKey, encodeKey } from './identity.js';

/** Shortest accepted invite secret, bytes of UTF-8. */
export const MIN_INVITE_SECRET_BYTES = 32;
const TAG = utf8(DOMAIN.inviteToken);

export interface InviteClaims {
  readonly id: string;
  /** Expiry, ms since epoch. */
  readonly exp: number;
  /** base64url key the invite is bound to, if any. */
  readonly key?: string;
  /** Single use: only the first key that presents it is admitted (the verifier records it). */
  readonly once?: true;
}

function mac(secret: string, claims: Uint8Array): Uint8Array {
  const key = utf8(secret);
  if (key.length < MIN_INVITE_SECRET_BYTES)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `invite secret must be >= ${MIN_INVITE_SECRET_BYTES} bytes`);
  return hmac(sha256, key, concatBytes(TAG, claims));
}

/**
 * Mint a token. `once` makes it single use (see above).
 *
 * @example mintInviteToken(secret, { ttlMs: 7 * 86_400_000, once: true })
 */
export function mintInviteToken(
  secret: string,
  opts: { ttlMs: number; key?: Uint8Array; now?: number; once?: boolean },
): string {
  if (!Number.isSafeInteger(opts.ttlMs) || opts.ttlMs <= 0)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'ttlMs must be a positive integer');
  const claims: InviteClaims = {
    id: toBase64url(randomBytes(12)),
    exp: (opts.now ?? Date.now()) + opts.ttlMs,
    ...(opts.key ? { key: encodeKey(opts.key) } : {}),
    ...(opts.once === true ? { once: true as const } : {}),
  };
  const claimBytes = utf8(JSON.stringify({ v: claims.once ? 2 : 1, ...claims }));
  return `${toBase64url(claimBytes)}.${toBase64url(mac(secret, claimBytes))}`;
}

/** The claims of a token without checking its MAC (to show an admin the id to revoke). */
export function readInviteClaims(token: string): InviteClaims {
  const claimBytes = fromBase64url(token.split('.')[0] ?? '');
  if (!claimBytes) throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'token is base64url');
  return parseClaims(claimBytes);
}

function parseClaims(claimBytes: Uint8Array): InviteClaims {
  let claims: unknown;
  try {
    claims = JSON.parse(fromUtf8(claimBytes) ?? '');
  } catch {
    throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'token claims');
  }
  const c = claims as { v?: unknown; id?: unknown; exp?: unknown; key?: unknown; once?: unknown };
  // v1: reusable; v2: single use, and says so. Anything else is not a token we understand.
  const version = c?.v === 1 ? c.once === undefined : c?.v === 2 ? c.once === true : false;
  if (!version || typeof c.id !== 'string' || typeof c.exp !== 'number')
    throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'token claims');
  if (c.key !== undefined && typeof c.key !== 'string') throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'token key');
  return {
    id: c.id,
    exp: c.exp,
    ...(c.key !== undefined ? { key: c.key } : {}),
    ...(c.once === true ? { once: true as const } : {}),
  };
}

/**
 * Verify a token for `peerKey`. Throws ProtocolError: PROTO_ERR_BAD_ENCODING (malformed),
 * PROTO_ERR_BAD_SIGNATURE (wrong MAC), PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW (expired),
 * PROTO_ERR_WRONG_RECIPIENT (bound to another key).
 */
export function verifyInviteToken(secret: string, token: string, peerKey: Uint8Array, now = Date.now()): InviteClaims {
  if (typeof token !== 'string' || token.length > 1024) throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'token');
  const parts = token.split('.');
  if (parts.length !== 2) throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'token has two parts');
  const claimBytes = fromBase64url(parts[0]!);
  const tag = fromBase64url(parts[1]!);
  if (!claimBytes || !tag) throw new ProtocolError('PROTO_ERR_BAD_ENCODING', 'token is base64url');
  if (!bytesEqual(tag, mac(secret, claimBytes))) throw new ProtocolError('PROTO_ERR_BAD_SIGNATURE', 'invite MAC');
  const c = parseClaims(claimBytes);
  if (c.exp <= now) throw new ProtocolError('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW', 'invite expired');
  if (c.key !== undefined && !bytesEqual(decodeKey(c.key), peerKey))
    throw new ProtocolError('PROTO_ERR_WRONG_RECIPIENT', 'invite bound to another key');
  return c;
}
