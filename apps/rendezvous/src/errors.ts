/**
 * The rendezvous error registry. Every code travels in ERROR frames (or is logged for config
 * problems) and is documented in docs/errors.md. `close` is the WebSocket close code sent
 * with the error when the connection must end, or null when only the one frame is refused.
 */

export const RDV_ERRORS = Object.freeze({
  RDV_ERR_CONFIG: { close: null, message: 'invalid configuration' },
  RDV_ERR_LISTEN: { close: null, message: 'a configured port cannot be bound' },
  RDV_ERR_NOT_AUTHENTICATED: { close: 4001, message: 'the first frame must be HELLO' },
  RDV_ERR_AUTH_FAILED: { close: 4002, message: 'hello did not verify' },
  RDV_ERR_AUTH_TIMEOUT: { close: 4003, message: 'no valid hello before the auth deadline' },
  RDV_ERR_ADMISSION_DENIED: { close: 4004, message: 'key not admitted to this server' },
  RDV_ERR_ADMISSION_UNAVAILABLE: { close: 1013, message: 'admission cannot be checked now; try again later' },
  RDV_ERR_REPLACED: { close: 4005, message: 'a newer connection for this key took over' },
  RDV_ERR_SLOW_READER: { close: 4006, message: 'send queue over its limit' },
  RDV_ERR_HEARTBEAT_TIMEOUT: { close: 4007, message: 'missed pings' },
  RDV_ERR_AUTH_BLOCKED: { close: 4008, message: 'too many failed hellos from this address' },
  RDV_ERR_TEXT_FRAME: { close: 1003, message: 'text frames are not accepted' },
  RDV_ERR_MALFORMED_FRAME: { close: 1007, message: 'frame does not decode' },
  RDV_ERR_UNKNOWN_FRAME: { close: 1008, message: 'unknown frame type' },
  RDV_ERR_UNEXPECTED_FRAME: { close: 1008, message: 'frame type not accepted in this state' },
  RDV_ERR_FRAME_TOO_LARGE: { close: 1009, message: 'frame over MAX_FRAME_BYTES' },
  RDV_ERR_TOO_MANY_CONNECTIONS: { close: 1013, message: 'too many connections from this address' },
  RDV_ERR_SERVER_FULL: { close: 1013, message: 'instance at MAX_CONNECTIONS' },
  RDV_ERR_DRAINING: { close: 1012, message: 'server restarting' },
  RDV_ERR_INTERNAL: { close: 1011, message: 'internal error' },
  RDV_ERR_BAD_ENVELOPE: { close: null, message: 'peer packet (envelope or v2 packet) does not decode' },
  RDV_ERR_UNSUPPORTED_PEER_PACKET: { close: null, message: 'peer-packet version or type this server does not speak' },
  RDV_ERR_BAD_PREKEY_BUNDLE: { close: null, message: 'prekey bundle does not decode or its signature does not verify' },
  RDV_ERR_PREKEY_OWNER: { close: null, message: 'prekey bundle belongs to another key than the authenticated one' },
  RDV_ERR_PREKEY_EXPIRED: { close: null, message: 'prekey bundle is outside its validity period' },
  RDV_ERR_PREKEY_STALE: { close: null, message: 'a newer prekey bundle of this key is held; not stored' },
  RDV_ERR_SENDER_MISMATCH: { close: null, message: 'envelope sender is not the authenticated key' },
  RDV_ERR_BAD_TTL: { close: null, message: 'RELAY_TTL with a mailbox TTL of 0 s; frame dropped' },
  RDV_ERR_RECIPIENT_MISMATCH: { close: null, message: 'frame recipient differs from the envelope recipient' },
  RDV_ERR_RATE_LIMITED: { close: null, message: 'rate limit exceeded; frame dropped' },
  RDV_ERR_MAILBOX_FULL: { close: null, message: "recipient's mailbox is full" },
  RDV_ERR_UNAVAILABLE: { close: null, message: 'cannot route now (broker unreachable)' },
  RDV_ERR_ROUTE_TIMEOUT: { close: null, message: 'remote instance did not answer in time' },
  RDV_ERR_BUSY: { close: null, message: 'too many frames in flight on this instance' },
  RDV_ERR_BAD_SIGNATURE: { close: null, message: 'envelope signature does not verify; not stored' },
  RDV_ERR_MAILBOX_SENDER_FULL: { close: null, message: "your share of the recipient's mailbox is full" },
  RDV_ERR_MAILBOX_BUDGET: { close: null, message: 'mailbox storage of this server is full' },
  RDV_ERR_RECIPIENT_BUSY: { close: null, message: 'recipient is busy reading; retry later' },
  RDV_ERR_WRONG_ORIGIN: { close: 4002, message: 'hello is for an origin this server does not serve' },
  RDV_ERR_LINK_VERSION: { close: null, message: 'instance link speaks a format version this instance does not' },
  RDV_ERR_LINK_AUTH_FAILED: { close: null, message: 'instance link did not prove the cluster secret' },
  RDV_ERR_LINK_MALFORMED: { close: null, message: 'instance link frame does not decode' },
  RDV_ERR_LINK_LIMIT: {
    close: null,
    message: 'instance link over one of its limits (frame size, unacked bytes, handshakes)',
  },
  RDV_ERR_TOO_MANY_UNAUTHENTICATED: {
    close: 1013,
    message: 'too many connections waiting to authenticate (MAX_UNAUTHENTICATED[_PER_IP]); try again later',
  },
} as const);

export type RendezvousErrorCode = keyof typeof RDV_ERRORS;

/** An error with a stable code; `closeCode` says whether (and how) the socket must close. */
export class RendezvousError extends Error {
  readonly code: RendezvousErrorCode;
  readonly closeCode: number | null;
  constructor(code: RendezvousErrorCode, message: string = RDV_ERRORS[code].message) {
    super(message);
    this.name = 'RendezvousError';
    this.code = code;
    this.closeCode = RDV_ERRORS[code].close;
  }
}

export function isRendezvousError(err: unknown): err is RendezvousError {
  return err instanceof RendezvousError;
}
