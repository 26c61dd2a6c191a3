// Server authentication (docs/protocol.md "Client ⇄ server frames v1"): the client answers
// CHALLENGE with HELLO = key ‖ timestamp ‖ Ed25519 signature over
//   lp("p2p-comm/v1/server-auth") ‖ lp(challenge) ‖ lp(origin the client dialed) ‖ lp(timestamp)
// where the timestamp inside lp() is the 8-byte u64 BE and the origin is host:port with the
// port always written (the golden hello signs "rdv.example.org:443"; GAP 2).

import { concat, lp, u64, utf8 } from './bytes.js';
import { PeerError } from './errors.js';
import type { Identity } from './identity.js';
import { sign } from './strict-ed25519.js';

const SERVER_AUTH_DOMAIN = utf8('p2p-comm/v1/server-auth');

/** The origin a client signs: the host it dialed and the port, default port included. */
export function originOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `not a URL: ${url}`);
  }
  const defaultPort = parsed.protocol === 'wss:' || parsed.protocol === 'https:' ? '443' : '80';
  // URL.hostname keeps the brackets of an IPv6 literal, as a Host header would.
  return `${parsed.hostname}:${parsed.port === '' ? defaultPort : parsed.port}`;
}

export function helloSignatureInput(challenge: Uint8Array, origin: string, timestamp: number): Uint8Array {
  return concat(lp(SERVER_AUTH_DOMAIN), lp(challenge), lp(utf8(origin)), lp(u64(timestamp)));
}

export function signHello(identity: Identity, challenge: Uint8Array, origin: string, timestamp: number): Uint8Array {
  return sign(identity.seed, helloSignatureInput(challenge, origin, timestamp));
}
