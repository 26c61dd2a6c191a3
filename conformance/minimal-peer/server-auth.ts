// Server authentication (docs/protocol.md "Client ⇄ server frames v1"): the client answers
// CHALLENGE with HELLO = key ‖ timestamp ‖ Ed25519 signature over
//   lp("p2p-comm/v1/server-auth") ‖ lp(challenge) ‖ lp(origin the client dialed) ‖ lp(timestamp)
// where the timestamp inside lp() is the 8-byte u64 BE, taken from the client's own clock, and
// the origin is the WHATWG `url.host` of the URL dialed ("Authentication"; GAP 2, SETTLED 2).

import { concat, lp, u64, utf8 } from './bytes.js';
import { PeerError } from './errors.js';
import type { Identity } from './identity.js';
import { sign } from './strict-ed25519.js';

const SERVER_AUTH_DOMAIN = utf8('p2p-comm/v1/server-auth');

/**
 * The origin a client signs: WHATWG `url.host` — lower-case host, IPv6 in brackets, and the
 * port omitted when it is the scheme's default (80 for ws:, 443 for wss:).
 */
export function originOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `not a URL: ${url}`);
  }
  return parsed.host;
}

export function helloSignatureInput(challenge: Uint8Array, origin: string, timestamp: number): Uint8Array {
  return concat(lp(SERVER_AUTH_DOMAIN), lp(challenge), lp(utf8(origin)), lp(u64(timestamp)));
}

export function signHello(identity: Identity, challenge: Uint8Array, origin: string, timestamp: number): Uint8Array {
  return sign(identity.seed, helloSignatureInput(challenge, origin, timestamp));
}
