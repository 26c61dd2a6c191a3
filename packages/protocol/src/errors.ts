/**
 * The protocol package's error registry. Every failure a parser or verifier can report is a
 * ProtocolError with a stable code from this table; the code travels on the wire and is
 * documented in docs/errors.md (a test keeps the two in sync).
 */

export const PROTOCOL_ERRORS = Object.freeze({
  PROTO_ERR_INVALID_ARGUMENT: 'an argument has the wrong type or length',
  PROTO_ERR_TRUNCATED: 'input ends before the structure it declares',
  PROTO_ERR_TOO_LARGE: 'input exceeds its size limit',
  PROTO_ERR_TRAILING_BYTES: 'input has bytes after the structure it declares',
  PROTO_ERR_BAD_VERSION: 'unsupported protocol or envelope version',
  PROTO_ERR_BAD_TYPE: 'unknown envelope or frame type',
  PROTO_ERR_BAD_KEY: 'a public key is not a valid Ed25519 point or has a bad encoding',
  PROTO_ERR_BAD_SIGNATURE: 'signature does not verify',
  PROTO_ERR_WRONG_RECIPIENT: 'envelope is addressed to another key',
  PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW: 'timestamp is outside the accepted clock window',
  PROTO_ERR_REPLAY: 'this (sender, nonce) was already accepted',
  PROTO_ERR_STALE: 'timestamp is older than what the replay guard can still vouch for',
  PROTO_ERR_REPLAY_BUDGET:
    "the sender's replay-guard budget holds only pairs dated in the future: not recorded, retry later",
  PROTO_ERR_DECRYPT_FAILED: 'payload does not decrypt (tampered, or sealed for another key)',
  PROTO_ERR_WEAK_KEY: 'a public key is a small-order point, or key agreement produced an all-zero secret',
  PROTO_ERR_BAD_ENCODING: 'a text field is not valid UTF-8 / base64url / expected format',
  PROTO_ERR_SESSION_REPLAY: 'this session counter was already accepted in its epoch',
  PROTO_ERR_SESSION_TOO_OLD: "session counter is below the epoch's replay window",
  PROTO_ERR_SESSION_UNKNOWN_EPOCH: 'session packet names an epoch whose key is not held (erased or too far ahead)',
  PROTO_ERR_SESSION_EXHAUSTED: 'the session used its last epoch or counter; a new handshake is needed',
  PROTO_ERR_SESSION_CLOSED: 'the session was closed and its keys erased',
  PROTO_ERR_HANDSHAKE_IDENTITY: 'the handshake names an identity that is not the expected or an accepted peer',
  PROTO_ERR_HANDSHAKE_STATE: 'handshake message or call out of order for this handshake state',
  PROTO_ERR_PREKEY_EXPIRED: 'prekey bundle is outside its validity period (expired, or created in the future)',
  PROTO_ERR_PREKEY_UNKNOWN: 'prekey message names a bundle id whose secrets are not held (rotated out and erased)',
  PROTO_ERR_STUN_MALFORMED: 'a datagram is not a well-formed STUN message (RFC 5389 / RFC 8489)',
  PROTO_ERR_STUN_BAD_FINGERPRINT: 'the STUN FINGERPRINT attribute does not match the message',
  PROTO_ERR_STUN_NO_MAPPED_ADDRESS: 'a STUN Binding success response carries no (XOR-)MAPPED-ADDRESS',
  PROTO_ERR_PREKEY_REPLAY: 'prekey message sequence number already accepted from this sender, or below its window',
} as const);

export type ProtocolErrorCode = keyof typeof PROTOCOL_ERRORS;

export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  constructor(code: ProtocolErrorCode, detail?: string) {
    super(detail ? `${PROTOCOL_ERRORS[code]}: ${detail}` : PROTOCOL_ERRORS[code]);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

export function isProtocolError(err: unknown): err is ProtocolError {
  return err instanceof ProtocolError;
}

/** Throws PROTO_ERR_INVALID_ARGUMENT naming the parameter unless it is a Uint8Array of `length`. */
export function assertBytes(value: unknown, length: number | undefined, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array))
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `${name} must be a Uint8Array`);
  if (length !== undefined && value.length !== length)
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `${name} must be ${length} bytes, got ${value.length}`);
}
