/**
 * Error registry of the host gateway. Every code is stable, documented in docs/errors.md
 * (Host gateway) and carries the HTTP status it maps to. Gate denials each have their own code,
 * and the same code appears in the audit line of the denial.
 */

export const HOST_ERRORS = {
  HOST_ERR_CONFIG_INVALID: { status: 500, message: 'host configuration is invalid' },
  HOST_ERR_AUTH_MISSING: { status: 401, message: 'missing bearer token' },
  HOST_ERR_AUTH_INVALID: { status: 401, message: 'unknown plugin token' },
  HOST_ERR_PERMISSION_DENIED: { status: 403, message: 'plugin lacks the permission for this call' },
  HOST_ERR_SCOPE_DENIED: { status: 403, message: 'peer is not approved for this plugin' },
  HOST_ERR_RISK_DENIED: { status: 403, message: 'the user denied this high-risk message' },
  HOST_ERR_CONNECT_DENIED: {
    status: 403,
    message: 'the user did not allow this connect; nothing was asked of the peer',
  },
  HOST_ERR_KEY_CHANGE_DENIED: { status: 403, message: 'the user did not accept the changed key; nothing was trusted' },
  HOST_ERR_APPROVAL_TIMEOUT: { status: 403, message: 'nobody answered the approval in time; denied' },
  HOST_ERR_APPROVAL_QUEUE_FULL: { status: 503, message: 'too many approvals pending; denied' },
  HOST_ERR_BAD_REQUEST: { status: 400, message: 'request is malformed' },
  HOST_ERR_BODY_TOO_LARGE: { status: 413, message: 'message body exceeds the size limit' },
  HOST_ERR_EXTENSION_UNAVAILABLE: { status: 503, message: 'the p2p-comm extension is not running' },
  HOST_ERR_EXTENSION_ERROR: { status: 502, message: 'the p2p-comm extension returned an error' },
  HOST_ERR_EXTENSION_TIMEOUT: { status: 504, message: 'the p2p-comm extension did not answer in time' },
  HOST_ERR_RPC_PROTOCOL: { status: 502, message: 'the extension wrote a malformed JSON-RPC message' },
  HOST_ERR_UI_AUTH: { status: 401, message: 'approval page token missing or wrong' },
  HOST_ERR_UI_FORBIDDEN: { status: 403, message: 'request not from the local approval page' },
  HOST_ERR_APPROVAL_NOT_FOUND: { status: 404, message: 'no such approval' },
  HOST_ERR_APPROVAL_DECIDED: { status: 409, message: 'approval already decided; decisions are final' },
  HOST_ERR_NOT_FOUND: { status: 404, message: 'no such route' },
  HOST_ERR_TOO_MANY_WAITERS: { status: 429, message: 'too many concurrent reads or streams' },
  HOST_ERR_INBOX_OVERFLOW: { status: 507, message: 'plugin inbox full; oldest item dropped' },
  HOST_ERR_RECEIVE_DENIED: { status: 403, message: 'incoming message denied by the user' },
  HOST_ERR_NO_RECIPIENT: { status: 403, message: 'no plugin may receive from this peer' },
  HOST_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const;

export type HostErrorCode = keyof typeof HOST_ERRORS;

export class HostError extends Error {
  readonly code: HostErrorCode;
  readonly status: number;
  readonly detail: string | undefined;

  constructor(code: HostErrorCode, detail?: string) {
    const entry = HOST_ERRORS[code];
    super(detail ? `${entry.message}: ${detail}` : entry.message);
    this.name = 'HostError';
    this.code = code;
    this.status = entry.status;
    this.detail = detail;
  }

  toJSON(): { error: { code: HostErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isHostError(err: unknown): err is HostError {
  return err instanceof HostError;
}
