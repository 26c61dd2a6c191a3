import { DEFAULT_TIMESTAMP_WINDOW_MS } from './constants.js';
import type { CryptoSuite } from './crypto/suite.js';
import { ProtocolError } from './errors.js';
import { type Frame, FrameType, serverAuthMessage } from './frames.js';
import type { Identity } from './identity.js';

/**
 * Build the HELLO answering a server CHALLENGE. `origin` is what the client dialed
 * (host[:port] of the rendezvous URL), never what the server claims, so a hello captured by a
 * malicious server cannot be replayed to another one.
 */
export function buildHello(
  suite: CryptoSuite,
  identity: Identity,
  challenge: Uint8Array,
  origin: string,
  opts: { token?: string; now?: number } = {},
): Frame & { type: typeof FrameType.HELLO } {
  const timestamp = opts.now ?? Date.now();
  return {
    type: FrameType.HELLO,
    key: identity.publicKey,
    timestamp,
    signature: suite.sign(identity.secretKey, serverAuthMessage(challenge, origin, timestamp)),
    token: opts.token ?? '',
  };
}

/**
 * Server side: verify a HELLO against the challenge this connection was sent and the origins
 * the server answers to. Throws PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW or PROTO_ERR_BAD_SIGNATURE.
 */
export function verifyHello(
  suite: CryptoSuite,
  hello: { key: Uint8Array; timestamp: number; signature: Uint8Array },
  challenge: Uint8Array,
  origins: readonly string[],
  opts: { now?: number; windowMs?: number } = {},
): void {
  const now = opts.now ?? Date.now();
  if (Math.abs(hello.timestamp - now) > (opts.windowMs ?? DEFAULT_TIMESTAMP_WINDOW_MS))
    throw new ProtocolError('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW', 'hello timestamp');
  for (const origin of origins) {
    if (suite.verify(hello.key, serverAuthMessage(challenge, origin, hello.timestamp), hello.signature)) return;
  }
  throw new ProtocolError('PROTO_ERR_BAD_SIGNATURE', 'hello');
}
