/**
 * Per-connection state. Kept to plain fields (no closures, no per-connection maps) because an
 * idle authenticated connection must cost only a few KB: the socket, ws's objects and this.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { PREKEY_REQUESTS_BURST } from './constants.js';

export const SessionState = Object.freeze({ PENDING: 0, AUTHING: 1, OPEN: 2, CLOSED: 3 } as const);
export type SessionState = (typeof SessionState)[keyof typeof SessionState];

/** Per-IP state shared by that IP's connections on this instance. */
export class IpState {
  connections = 0;
  /** This IP's sockets that have not authenticated yet (bounded by MAX_UNAUTHENTICATED_PER_IP). */
  unauthenticated = 0;
  msgTokens: number;
  byteTokens: number;
  last: number;
  constructor(msgBurst: number, byteBurst: number, now: number) {
    this.msgTokens = msgBurst;
    this.byteTokens = byteBurst;
    this.last = now;
  }
}

export class Session {
  state: SessionState = SessionState.PENDING;
  /** 32-byte challenge sent in CHALLENGE; verified against the hello. */
  challenge: Buffer;
  /** Origins the signed hello may name (PUBLIC_ORIGINS, or this request's Host header). */
  origins: readonly string[];
  /** Hostname the client dialed (for the STUN URL in WELCOME). */
  hostname: string;
  openedAt: number;
  /** Pings sent since the last sign of life. */
  missed = 0;
  key: Buffer | null = null;
  /** The key as a latin1 string: the local routing map key (cheaper than base64url). */
  keyId = '';
  keyB64 = '';
  claim = '';
  since = 0;
  msgTokens: number;
  byteTokens: number;
  lastRefill: number;
  /** Prekey request bucket (PREKEY_REQUESTS_PER_S, PREKEY_REQUESTS_BURST) and its last refill, ms. */
  prekeyTokens = PREKEY_REQUESTS_BURST;
  prekeyRefill = 0;
  /** True while the socket is corked to coalesce this tick's frames into one write. */
  corked = false;
  /**
   * Mailbox envelopes taken for this session and not yet sent (paced by the socket's drain), from
   * `mailNext` on; null when none. Put back into the mailbox if the session ends first.
   */
  mail: Buffer[] | null = null;
  mailNext = 0;
  /** A paced mailbox delivery waits for the socket to drain. */
  mailWaiting = false;
  /** Holds a relay-allowance grant: relayed frames are accepted up to RELAY_ALLOWANCE_BYTES queued (hub/sender.ts). */
  allowanceGranted = false;
  /** When the queue was last seen over RECIPIENT_BUSY_BYTES without progress, ms; 0 = not watched. */
  stallSince = 0;
  /** Bytes the socket had handed to the network at `stallSince` (progress = this grows). */
  stallFlushed = 0;

  constructor(
    readonly ws: WebSocket,
    /** The raw socket under `ws` (corked/uncorked around a tick's writes). */
    readonly sock: Duplex,
    readonly ip: string,
    readonly ipState: IpState,
    challenge: Buffer,
    origins: readonly string[],
    hostname: string,
    now: number,
    msgBurst: number,
    byteBurst: number,
  ) {
    this.challenge = challenge;
    this.origins = origins;
    this.hostname = hostname;
    this.openedAt = now;
    this.msgTokens = msgBurst;
    this.byteTokens = byteBurst;
    this.lastRefill = now;
  }
}
