/**
 * The client's error registry. Every failure crossing an interface (SDK, JSON-RPC, CLI) is a
 * ClientError with a stable code, documented in docs/errors.md (Client section; a test keeps
 * them in sync). `rpc` is the JSON-RPC error code the extension answers with.
 */

const entry = (rpc: number, message: string) => Object.freeze({ rpc, message });

export const CLIENT_ERRORS = Object.freeze({
  CLIENT_ERR_INVALID_ARGUMENT: entry(-32602, 'a parameter is missing, has the wrong type or is out of range'),
  CLIENT_ERR_CONFIG: entry(-32001, 'configuration is invalid'),
  CLIENT_ERR_IDENTITY_CORRUPT: entry(-32002, 'the identity files are unreadable or corrupt'),
  CLIENT_ERR_TRUST_CORRUPT: entry(-32003, 'trusted_peers.json is unreadable or corrupt'),
  CLIENT_ERR_STATE_CORRUPT: entry(-32004, 'a persisted state file is unreadable or corrupt'),
  CLIENT_ERR_BAD_SHARE_STRING: entry(-32005, 'not a p2p-comm share string or key'),
  CLIENT_ERR_UNKNOWN_PEER: entry(-32006, 'no such peer'),
  CLIENT_ERR_NOT_TRUSTED: entry(-32007, 'both sides have not consented yet'),
  CLIENT_ERR_KEY_CHANGED: entry(-32008, 'a known display name arrived with a different key'),
  CLIENT_ERR_REVOKED: entry(-32009, 'trust was revoked; nothing flows'),
  CLIENT_ERR_CONSENT_DENIED: entry(-32010, 'the peer denied the connection'),
  CLIENT_ERR_NO_PENDING_REQUEST: entry(-32011, 'no pending request with that id'),
  CLIENT_ERR_MESSAGE_TOO_LARGE: entry(-32012, 'message exceeds maxLongMessageBytes (or a path frame limit)'),
  CLIENT_ERR_OUTBOX_FULL: entry(-32013, 'outbox is at its bound; retry when messages are delivered'),
  CLIENT_ERR_LINK_CLOSED: entry(-32014, 'the link is closed'),
  CLIENT_ERR_NO_PATH: entry(-32015, 'no open path to the peer'),
  CLIENT_ERR_NO_SERVER: entry(-32016, 'no rendezvous server configured'),
  CLIENT_ERR_SERVER_REJECTED: entry(-32017, 'the rendezvous server refused this client'),
  CLIENT_ERR_REPLACED: entry(-32018, 'another client with this key connected to the server'),
  CLIENT_ERR_NOT_STARTED: entry(-32019, 'the client is not started'),
  CLIENT_ERR_LINE_TOO_LONG: entry(-32600, 'input line exceeds RPC_MAX_LINE_BYTES'),
  CLIENT_ERR_BUSY: entry(-32020, 'too many requests in flight'),
  CLIENT_ERR_SERVE_UNAVAILABLE: entry(-32021, '@p2p-comm/rendezvous is not installed'),
  CLIENT_ERR_BAD_PAYLOAD: entry(-32022, 'a peer sent a payload that does not parse'),
  CLIENT_ERR_SELF: entry(-32023, 'that is this client’s own key'),
  CLIENT_ERR_STOPPED: entry(-32024, 'the client stopped before the operation finished'),
  CLIENT_ERR_HOME_LOCKED: entry(-32025, 'another p2p-comm process is using this NEXUS_HOME'),
  CLIENT_ERR_TIMEOUT: entry(-32026, 'the peer did not answer in time'),
  CLIENT_ERR_CONSENT_RATE_LIMITED: entry(-32027, 'a consent request from an unknown key was dropped by the rate limit'),
  CLIENT_ERR_SERVER_UNREACHABLE: entry(-32028, 'cannot reach the rendezvous server'),
  CLIENT_ERR_HOME_UNUSABLE: entry(-32029, 'NEXUS_HOME cannot be used'),
  CLIENT_ERR_LOCAL_APPROVAL_REQUIRED: entry(
    -32040,
    'only the local user can accept a changed key (peers.acceptChangedKey)',
  ),
  CLIENT_ERR_NAME_TAKEN: entry(-32041, 'that display name looks like another peer’s name'),
  CLIENT_ERR_AMBIGUOUS_NAME: entry(
    -32042,
    'several peers have names that look alike; use the key or the name with its fingerprint',
  ),
  CLIENT_ERR_NO_SESSION: entry(
    -32051,
    'no session with the peer yet and no prekey bundle of it; waiting for the handshake',
  ),
  CLIENT_ERR_HANDSHAKE_RATE_LIMITED: entry(-32052, 'a session handshake from a peer was dropped by the rate limit'),
  CLIENT_ERR_HANDSHAKE_UNEXPECTED: entry(-32053, 'a session handshake packet that no handshake of ours waits for'),
  CLIENT_ERR_STATE_VERSION: entry(-32050, 'a persisted state file has a format version this build does not read'),
  // Files and streams (client/src/files): -32060 … -32072.
  CLIENT_ERR_FILE_BAD_MESSAGE: entry(-32060, 'a peer sent a file-transfer message that does not parse'),
  CLIENT_ERR_FILE_DECLINED: entry(-32061, 'the recipient declined the file'),
  CLIENT_ERR_FILE_OFFER_TIMEOUT: entry(-32062, 'the file offer was not answered in time'),
  CLIENT_ERR_FILE_CANCELLED: entry(-32063, 'the file transfer was cancelled'),
  CLIENT_ERR_FILE_HASH_MISMATCH: entry(-32064, 'the received file does not match its SHA-256; nothing was kept'),
  CLIENT_ERR_FILE_DISK_FULL: entry(-32065, 'no space left for the received file'),
  CLIENT_ERR_FILE_QUOTA: entry(-32066, 'the file would exceed the inbox quota'),
  CLIENT_ERR_FILE_TOO_LARGE: entry(-32067, 'the file exceeds the largest size accepted'),
  CLIENT_ERR_FILE_BAD_NAME: entry(-32068, 'the offered file name leaves nothing usable after sanitising'),
  CLIENT_ERR_FILE_UNKNOWN_TRANSFER: entry(-32069, 'no such file transfer'),
  CLIENT_ERR_FILE_SOURCE_CHANGED: entry(-32070, 'the file being sent changed before it was sent whole'),
  CLIENT_ERR_FILE_TOO_MANY: entry(-32071, 'too many file transfers at once'),
  CLIENT_ERR_FILE_FAILED: entry(-32072, 'the peer reported that the file transfer failed'),
  // Prekey bundles on the rendezvous server (transports/rendezvous-connection.ts): -32080 … -32081.
  CLIENT_ERR_PREKEY_REFUSED: entry(-32080, 'the rendezvous server refused the prekey request'),
  CLIENT_ERR_PREKEY_TIMEOUT: entry(-32081, 'the rendezvous server did not answer the prekey request in time'),
} as const);

export type ClientErrorCode = keyof typeof CLIENT_ERRORS;

export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** Extra machine-readable context (never secrets), sent as JSON-RPC error data. */
  readonly data: Readonly<Record<string, unknown>> | undefined;
  constructor(code: ClientErrorCode, detail?: string, data?: Record<string, unknown>) {
    super(detail ? `${CLIENT_ERRORS[code].message}: ${detail}` : CLIENT_ERRORS[code].message);
    this.name = 'ClientError';
    this.code = code;
    this.data = data ? Object.freeze({ ...data }) : undefined;
  }
  get rpcCode(): number {
    return CLIENT_ERRORS[this.code].rpc;
  }
}

export function isClientError(err: unknown): err is ClientError {
  return err instanceof ClientError;
}
