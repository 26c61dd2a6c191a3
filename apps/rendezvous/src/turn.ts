/**
 * TURN REST credentials (the coturn `use-auth-secret` scheme): username = "<expiry s>:<key>",
 * credential = base64(HMAC-SHA1(TURN_SECRET, username)). coturn recomputes the HMAC, so the
 * server never stores per-peer TURN passwords; credentials die at expiry.
 */
import { createHmac } from 'node:crypto';

export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export function turnCredentials(
  secret: string,
  urls: readonly string[],
  ttlS: number,
  keyB64: string,
  nowMs: number,
): IceServer {
  const username = `${Math.floor(nowMs / 1000) + ttlS}:${keyB64}`;
  const credential = createHmac('sha1', secret).update(username).digest('base64');
  return { urls: [...urls], username, credential };
}
