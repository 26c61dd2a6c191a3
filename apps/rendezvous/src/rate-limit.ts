/**
 * Token buckets: per key (the session) and per IP (shared by that IP's sessions on this
 * instance), for frames and for bytes. Plain arithmetic on fields: called for every frame.
 */
import type { Config } from './config.js';
import { PREKEY_REQUESTS_BURST, PREKEY_REQUESTS_PER_S } from './constants.js';
import type { Session } from './session.js';

/** Refill both buckets for the time elapsed, then take one frame of `bytes`; false = over a limit. */
export function takeTokens(s: Session, c: Config, bytes: number, now: number): boolean {
  const dt = now - s.lastRefill;
  if (dt > 0) {
    s.msgTokens = Math.min(c.rateBurstMsgs, s.msgTokens + (dt * c.rateMsgsPerS) / 1000);
    s.byteTokens = Math.min(c.rateBurstBytes, s.byteTokens + (dt * c.rateBytesPerS) / 1000);
    s.lastRefill = now;
  }
  const ip = s.ipState;
  const dti = now - ip.last;
  if (dti > 0) {
    ip.msgTokens = Math.min(c.rateIpMsgsPerS * 2, ip.msgTokens + (dti * c.rateIpMsgsPerS) / 1000);
    ip.byteTokens = Math.min(c.rateIpBytesPerS * 2, ip.byteTokens + (dti * c.rateIpBytesPerS) / 1000);
    ip.last = now;
  }
  if (s.msgTokens < 1 || s.byteTokens < bytes || ip.msgTokens < 1 || ip.byteTokens < bytes) return false;
  s.msgTokens -= 1;
  s.byteTokens -= bytes;
  ip.msgTokens -= 1;
  ip.byteTokens -= bytes;
  return true;
}

/** Take one prekey request (PUBLISH or FETCH) from the session's own bucket; false = over PREKEY_REQUESTS_PER_S. */
export function takePrekeyToken(s: Session, now: number): boolean {
  const dt = now - s.prekeyRefill;
  if (dt > 0) {
    s.prekeyTokens = Math.min(PREKEY_REQUESTS_BURST, s.prekeyTokens + (dt * PREKEY_REQUESTS_PER_S) / 1000);
    s.prekeyRefill = now;
  }
  if (s.prekeyTokens < 1) return false;
  s.prekeyTokens -= 1;
  return true;
}
