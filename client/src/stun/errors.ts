/**
 * Errors of the STUN client's transactions. Stable codes (`CLIENT_ERR_STUN_*`), documented in
 * docs/errors.md. Malformed datagrams are the shared codec's business (ProtocolError
 * `PROTO_ERR_STUN_*`); a transaction ignores them and keeps waiting for a valid answer.
 */
export const STUN_ERROR_CODES = {
  CLIENT_ERR_STUN_INVALID_ARGUMENT: 'an argument has the wrong type or range (programming error at a call site)',
  CLIENT_ERR_STUN_ERROR_RESPONSE: 'the server answered with a Binding error response',
  CLIENT_ERR_STUN_TIMEOUT: 'no valid response before the transaction timeout (UDP blocked or server down)',
  CLIENT_ERR_STUN_SOCKET: 'the UDP socket failed or was closed during the transaction',
} as const;

export type StunErrorCode = keyof typeof STUN_ERROR_CODES;

export class StunError extends Error {
  readonly code: StunErrorCode;
  constructor(code: StunErrorCode, detail?: string) {
    super(detail ? `${STUN_ERROR_CODES[code]}: ${detail}` : STUN_ERROR_CODES[code]);
    this.name = 'StunError';
    this.code = code;
  }
}
