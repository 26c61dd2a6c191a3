// The one error type of the minimal peer. Its `code` is always a code from docs/errors.md,
// so the stdio interface can answer `{ok:false, code}` or emit `refused {code}` unchanged.

export class PeerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

/** The code of any thrown value: our own codes pass through, anything else is a bug. */
export function codeOf(error: unknown): string {
  if (error instanceof PeerError) return error.code;
  return 'PROTO_ERR_INVALID_ARGUMENT';
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
