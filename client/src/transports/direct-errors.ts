/**
 * Error registry of the path transports (direct WebSocket, WebRTC, mDNS). Every failure a path
 * reports is a PathError with a stable code from this table; each code is documented in
 * docs/errors.md (client section) and a test keeps the two in sync. The session layer shows
 * `reason` strings such as "webrtc: ice failed" to people; codes are for programs.
 */
export const PATH_ERRORS = Object.freeze({
  CLIENT_ERR_PATH_TOO_LARGE: 'the envelope or frame exceeds the path size limit',
  CLIENT_ERR_PATH_BACKPRESSURE: 'the peer does not read fast enough; the send buffer limit was reached',
  CLIENT_ERR_DIRECT_CONNECT_FAILED: 'the direct address could not be reached',
  CLIENT_ERR_DIRECT_HANDSHAKE_TIMEOUT: 'the direct handshake did not finish within its deadline',
  CLIENT_ERR_DIRECT_BAD_FRAME: 'a direct handshake frame is malformed or unexpected',
  CLIENT_ERR_DIRECT_WRONG_KEY: 'the key at the direct address is not the expected one',
  CLIENT_ERR_DIRECT_BAD_PROOF: 'the direct handshake signature does not verify',
  CLIENT_ERR_DIRECT_REJECTED: 'the direct listener refused our key',
  CLIENT_ERR_DIRECT_LISTENER: 'the direct listener could not start (bad host/port or address in use)',
  CLIENT_ERR_WEBRTC_TIMEOUT: 'the WebRTC data channel did not open within its deadline',
  CLIENT_ERR_WEBRTC_ICE_FAILED: 'ICE found no working candidate pair',
  CLIENT_ERR_WEBRTC_FAILED: 'the WebRTC stack reported an error',
  CLIENT_ERR_WEBRTC_BAD_SIGNAL: 'a WebRTC signal message is malformed or too large',
  CLIENT_ERR_WEBRTC_UNAVAILABLE: 'no WebRTC implementation could be loaded',
} as const);

// A closed link throws the client registry's CLIENT_ERR_LINK_CLOSED (../errors.ts), like every Link.

export type PathErrorCode = keyof typeof PATH_ERRORS;

export class PathError extends Error {
  readonly code: PathErrorCode;
  constructor(code: PathErrorCode, detail?: string) {
    super(detail ? `${PATH_ERRORS[code]}: ${detail}` : PATH_ERRORS[code]);
    this.name = 'PathError';
    this.code = code;
  }
}

export function isPathError(err: unknown): err is PathError {
  return err instanceof PathError;
}
