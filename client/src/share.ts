import { decodeKey, encodeKey, isProtocolError } from '@p2p-comm/protocol';
import { SHARE_MAX_CHARS } from './constants.js';
import { ClientError } from './errors.js';
import { sanitizePeerName } from './store/display-name.js';

/**
 * Share strings: how a person hands their identity to another.
 *
 *   p2p-comm://<base64url key>[@<host:port>][?name=<display name>]
 *
 * The address is where the peer can be reached (its rendezvous server for the relay path; a
 * direct listener later). A bare 43-character key is accepted too.
 */
export interface ShareTarget {
  readonly key: Uint8Array;
  readonly keyText: string;
  readonly address?: string;
  readonly name?: string;
}

const SCHEME = 'p2p-comm://';
const ADDRESS_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;

function validPort(address: string): boolean {
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return port >= 1 && port <= 65_535;
}

export function formatShare(key: Uint8Array, opts: { address?: string; name?: string } = {}): string {
  const name = opts.name ? `?name=${encodeURIComponent(opts.name)}` : '';
  const address = opts.address ? `@${opts.address}` : '';
  return `${SCHEME}${encodeKey(key)}${address}${name}`;
}

export function parseShare(input: unknown): ShareTarget {
  if (typeof input !== 'string' || input.length === 0 || input.length > SHARE_MAX_CHARS)
    throw new ClientError('CLIENT_ERR_BAD_SHARE_STRING', 'expected a string');
  const text = input.trim();
  const bad = (why: string) => new ClientError('CLIENT_ERR_BAD_SHARE_STRING', why);
  if (!text.startsWith(SCHEME)) {
    try {
      const key = decodeKey(text);
      return Object.freeze({ key, keyText: text });
    } catch (err) {
      throw bad(weakKey(err) ?? `expected ${SCHEME}<key>@<host:port> or a 43-character key`);
    }
  }
  const rest = text.slice(SCHEME.length);
  const q = rest.indexOf('?');
  const main = q >= 0 ? rest.slice(0, q) : rest;
  const query = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
  const at = main.indexOf('@');
  const keyText = at >= 0 ? main.slice(0, at) : main;
  const address = at >= 0 ? main.slice(at + 1) : undefined;
  let key: Uint8Array;
  try {
    key = decodeKey(keyText);
  } catch (err) {
    throw bad(weakKey(err) ?? 'the key part is not 43 base64url characters');
  }
  if (address !== undefined && (!ADDRESS_RE.test(address) || !validPort(address)))
    throw bad(`address ${JSON.stringify(address)} is not host:port`);
  const name = query.has('name') ? sanitizePeerName(query.get('name')) : '';
  return Object.freeze({
    key,
    keyText,
    ...(address ? { address } : {}),
    ...(name ? { name } : {}),
  });
}

/** The reason to give for a key no honest peer has (PROTO_ERR_WEAK_KEY), or undefined. */
function weakKey(err: unknown): string | undefined {
  return isProtocolError(err) && err.code === 'PROTO_ERR_WEAK_KEY'
    ? 'the key is a small-order Ed25519 point (PROTO_ERR_WEAK_KEY): no honest peer has it'
    : undefined;
}
