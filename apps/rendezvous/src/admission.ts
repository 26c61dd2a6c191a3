/**
 * Admission: who may use this server once their hello verifies. `open` admits everyone;
 * `allowlist` admits keys listed in ALLOWLIST_FILE and/or the Redis set ALLOWLIST_REDIS_KEY;
 * `token` admits holders of an unexpired invite token minted with INVITE_SECRET whose id is not
 * in INVITE_REVOKED; a single-use token admits only the first key that presents it (recorded
 * in the broker, so it holds cluster-wide when Redis is used).
 * Fails closed: any error while checking denies (as RDV_ERR_ADMISSION_UNAVAILABLE, so the
 * client knows to retry rather than give up).
 */
import { readFileSync } from 'node:fs';
import { decodeKey, isProtocolError, verifyInviteToken } from '@p2p-comm/protocol';
import type { Broker } from './broker/broker.js';
import type { Config } from './config.js';
import { ALLOWLIST_CACHE_MAX_ENTRIES, ALLOWLIST_CACHE_TTL_MS, ALLOWLIST_MAX_KEYS } from './constants.js';
import { RendezvousError } from './errors.js';

/** Parse an allowlist file: one base64url key a line, `#` starts a comment. Throws RDV_ERR_CONFIG listing bad lines. */
export function parseAllowlist(text: string): Set<string> {
  const keys = new Set<string>();
  const bad: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const s = line.replace(/#.*/, '').trim();
    if (s === '') return;
    try {
      decodeKey(s);
      keys.add(s);
    } catch {
      bad.push(`line ${i + 1}`);
    }
  });
  if (bad.length > 0)
    throw new RendezvousError('RDV_ERR_CONFIG', `allowlist: not a base64url key at ${bad.slice(0, 20).join(', ')}`);
  if (keys.size > ALLOWLIST_MAX_KEYS)
    throw new RendezvousError('RDV_ERR_CONFIG', `allowlist over ${ALLOWLIST_MAX_KEYS} keys`);
  return keys;
}

export type AdmissionResult = 'ok' | 'denied' | 'unavailable';

export class Admission {
  private fileKeys: Set<string> | null = null;
  // Short-lived cache of Redis allowlist answers so a reconnect storm is not a SISMEMBER storm.
  private readonly cache = new Map<string, { ok: boolean; expires: number }>();
  /** INVITE_REVOKED (bounded by INVITE_REVOKED_MAX_IDS in config). */
  private readonly revoked: ReadonlySet<string>;

  constructor(
    private readonly config: Config,
    private readonly broker: Broker,
  ) {
    this.revoked = new Set(config.inviteRevoked);
  }

  /** Read ALLOWLIST_FILE (at start, and again whenever the operator asks for a reload). */
  load(): void {
    if (this.config.admission !== 'allowlist' || this.config.allowlistFile === null) return;
    let text: string;
    try {
      text = readFileSync(this.config.allowlistFile, 'utf8');
    } catch (err) {
      throw new RendezvousError('RDV_ERR_CONFIG', `ALLOWLIST_FILE unreadable: ${(err as Error).message}`);
    }
    this.fileKeys = parseAllowlist(text); // replaced only when the whole file parses
  }

  /** Decide for a verified key. Synchronous for open/token/file; a promise when Redis is asked. */
  check(keyB64: string, keyBytes: Uint8Array, token: string): AdmissionResult | Promise<AdmissionResult> {
    try {
      switch (this.config.admission) {
        case 'open':
          return 'ok';
        case 'token':
          return this.checkToken(keyB64, keyBytes, token);
        case 'allowlist':
          return this.checkAllowlist(keyB64);
      }
    } catch (err) {
      return isProtocolError(err) ? 'denied' : 'unavailable';
    }
  }

  private checkToken(keyB64: string, keyBytes: Uint8Array, token: string): AdmissionResult | Promise<AdmissionResult> {
    const claims = verifyInviteToken(this.config.inviteSecret ?? '', token, keyBytes);
    if (this.revoked.has(claims.id)) return 'denied';
    if (claims.once !== true) return 'ok';
    // Fails closed: if the redemption cannot be recorded, nobody is admitted on this token now.
    return this.broker.redeemInvite(claims.id, keyB64, claims.exp, Date.now()).then(
      (mine) => (mine ? 'ok' : 'denied'),
      () => 'unavailable',
    );
  }

  private checkAllowlist(keyB64: string): AdmissionResult | Promise<AdmissionResult> {
    if (this.fileKeys?.has(keyB64)) return 'ok';
    const setKey = this.config.allowlistRedisKey;
    if (setKey === null) return this.fileKeys === null ? 'unavailable' : 'denied';
    const now = Date.now();
    const hit = this.cache.get(keyB64);
    if (hit !== undefined && hit.expires > now) return hit.ok ? 'ok' : 'denied';
    return this.broker.isMember(setKey, keyB64).then(
      (ok) => {
        if (this.cache.size >= ALLOWLIST_CACHE_MAX_ENTRIES) this.cache.clear();
        this.cache.set(keyB64, { ok, expires: now + ALLOWLIST_CACHE_TTL_MS });
        return ok ? 'ok' : 'denied';
      },
      () => 'unavailable',
    );
  }
}
