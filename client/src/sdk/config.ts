import { isAbsolute } from 'node:path';
import { MAILBOX_RESEND_AFTER_MS, MAX_MESSAGE_BYTES, PENDING_CONSENT_TTL_MS } from '../constants.js';
import { ClientError } from '../errors.js';
import { LONG_MESSAGE_CEILING_BYTES, MAX_LONG_MESSAGE_BYTES } from '../files/long-message.js';
import type { PeerSessionTimings } from '../session/peer-sessions.js';
import { normalizeServerUrl, type ReplacedPolicy } from '../transports/rendezvous-connection.js';

/** Everything a client needs; validated once (all problems reported together), then frozen. */
export interface ClientInit {
  /** The Nexus home (what `~/.nexus` or NEXUS_HOME names). */
  home: string;
  /** Rendezvous server URL (ws://host:port or wss://…); none = offline (stores only). */
  server?: string;
  /** Invite token for servers with ADMISSION=token. */
  token?: string;
  /** Ask the host (approval.request) before any incoming message is delivered. Default false. */
  requireApproval?: boolean;
  /** Unanswered incoming consent requests expire after this, ms. Default PENDING_CONSENT_TTL_MS (10 min). */
  consentTtlMs?: number;
  /**
   * Messages the server stored in an offline peer's mailbox are resent after this at the
   * latest (sooner when the peer shows up), ms. Default MAILBOX_RESEND_AFTER_MS (10 min).
   */
  mailboxResendAfterMs?: number;
  /**
   * How long the server keeps our messages in an offline peer's mailbox, ms (PREKEY packets,
   * sent as RELAY_TTL, clamped to the server's WELCOME mailboxTtlMs). Default: the server's.
   */
  mailboxTtlMs?: number;
  /** Paths beyond the relay (client/src/transports/direct-paths.ts). */
  paths?: PathsInit;
  /** Reconnects after the server says another connection with our key took over (tests shorten them). */
  replaced?: Partial<ReplacedPolicy>;
  /** Clock of the sessions and prekeys, ms since the epoch (tests move it days ahead). Default Date.now. */
  now?: () => number;
  /** v2 handshake timings (tests shorten them); defaults PEER_HANDSHAKE_* in constants.ts. */
  sessionTimings?: Partial<PeerSessionTimings>;
  /** Where received files land (`<dir>/<peer>/<name>`), an absolute path. Default `<home>/inbox`. */
  filesInbox?: string;
  /**
   * Largest message `send` accepts, bytes: one over MAX_MESSAGE_BYTES travels as a long
   * message (files/long-message.ts), and a peer's long message above it is declined. Default
   * MAX_LONG_MESSAGE_BYTES (16 MiB); from MAX_MESSAGE_BYTES to LONG_MESSAGE_CEILING_BYTES.
   */
  maxLongMessageBytes?: number;
}

/** Direct listener (off by default), WebRTC (on by default), mDNS (off by default). */
export interface PathsInit {
  /** Listen for direct WebSocket links on host:port (port 0 = any free port). */
  listen?: { host: string; port: number; advertise?: { host: string; port: number }[] } | null;
  webrtc?: boolean;
  /** mDNS on the LAN; `{ interface: '127.0.0.1', port }` confines it to loopback. */
  mdns?: boolean | { interface?: string; port?: number };
  /** Shorter upgrade timers (tests, benchmarks), ms; defaults in transports/*-constants.ts. */
  timings?: PathTimings;
  /**
   * Dial loopback addresses (127.0.0.0/8, ::1, IPv4-mapped ::ffff:127.x) that a peer, mDNS or
   * addAddress hands the client. Default false: a peer must never make us connect to services
   * on our own host. For tests and labs on one machine (transports/address-policy.ts).
   */
  allowLoopbackAddresses?: boolean;
  /** Dial link-local addresses (169.254.0.0/16, fe80::/10): LANs without DHCP. Default false. */
  allowLinkLocalAddresses?: boolean;
}

export interface PathTimings {
  tickMs?: number;
  retryBaseMs?: number;
  webrtcConnectTimeoutMs?: number;
  webrtcPingIntervalMs?: number;
  webrtcDeadAfterMs?: number;
}

export interface ClientConfig {
  readonly home: string;
  readonly server: string | null;
  readonly token: string;
  readonly requireApproval: boolean;
  readonly consentTtlMs: number;
  readonly mailboxResendAfterMs: number;
  /** null: the server's mailbox TTL. */
  readonly mailboxTtlMs: number | null;
  readonly paths: Readonly<PathsInit>;
  readonly replaced: Readonly<Partial<ReplacedPolicy>>;
  readonly now: () => number;
  readonly sessionTimings: Readonly<Partial<PeerSessionTimings>>;
  readonly filesInbox: string | null;
  readonly maxLongMessageBytes: number;
}

export function validateClientInit(init: unknown): ClientConfig {
  const problems: string[] = [];
  const i = (typeof init === 'object' && init !== null ? init : {}) as Record<string, unknown>;
  if (typeof init !== 'object' || init === null) problems.push('init must be an object');
  if (typeof i.home !== 'string' || i.home.length === 0) problems.push('home must be a non-empty path');
  let server: string | null = null;
  if (i.server !== undefined && i.server !== null && i.server !== '') {
    if (typeof i.server !== 'string') problems.push('server must be a string');
    else {
      try {
        server = normalizeServerUrl(i.server).href;
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
  }
  if (i.token !== undefined && (typeof i.token !== 'string' || i.token.length > 1024))
    problems.push('token must be a string of at most 1024 characters');
  if (i.requireApproval !== undefined && typeof i.requireApproval !== 'boolean')
    problems.push('requireApproval must be a boolean');
  if (
    i.consentTtlMs !== undefined &&
    (typeof i.consentTtlMs !== 'number' ||
      !Number.isInteger(i.consentTtlMs) ||
      i.consentTtlMs < 1_000 ||
      i.consentTtlMs > 7 * 86_400_000)
  )
    problems.push('consentTtlMs must be an integer number of ms in [1000, 604800000]');
  if (
    i.mailboxResendAfterMs !== undefined &&
    (typeof i.mailboxResendAfterMs !== 'number' ||
      !Number.isInteger(i.mailboxResendAfterMs) ||
      i.mailboxResendAfterMs < 1_000 ||
      i.mailboxResendAfterMs > 7 * 86_400_000)
  )
    problems.push('mailboxResendAfterMs must be an integer number of ms in [1000, 604800000]');
  if (
    i.mailboxTtlMs !== undefined &&
    (typeof i.mailboxTtlMs !== 'number' ||
      !Number.isInteger(i.mailboxTtlMs) ||
      i.mailboxTtlMs < 1_000 ||
      i.mailboxTtlMs > 365 * 86_400_000)
  )
    problems.push('mailboxTtlMs must be an integer number of ms in [1000, 31536000000]');
  if (i.now !== undefined && typeof i.now !== 'function') problems.push('now must be a function returning ms');
  if (
    i.sessionTimings !== undefined &&
    (typeof i.sessionTimings !== 'object' ||
      i.sessionTimings === null ||
      Object.values(i.sessionTimings).some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 1))
  )
    problems.push('sessionTimings must be an object of positive integer ms');
  if (
    i.filesInbox !== undefined &&
    (typeof i.filesInbox !== 'string' || !isAbsolute(i.filesInbox) || i.filesInbox.length > 4096)
  )
    problems.push('filesInbox must be an absolute path');
  if (
    i.maxLongMessageBytes !== undefined &&
    (typeof i.maxLongMessageBytes !== 'number' ||
      !Number.isInteger(i.maxLongMessageBytes) ||
      i.maxLongMessageBytes < MAX_MESSAGE_BYTES ||
      i.maxLongMessageBytes > LONG_MESSAGE_CEILING_BYTES)
  )
    problems.push(
      `maxLongMessageBytes must be an integer number of bytes in [${MAX_MESSAGE_BYTES}, ${LONG_MESSAGE_CEILING_BYTES}]`,
    );
  const paths = validatePaths(i.paths, problems);
  const replaced = validateReplaced(i.replaced, problems);
  if (problems.length > 0) throw new ClientError('CLIENT_ERR_CONFIG', problems.join('; '), { problems });
  return Object.freeze({
    home: i.home as string,
    server,
    token: (i.token as string | undefined) ?? '',
    requireApproval: (i.requireApproval as boolean | undefined) ?? false,
    consentTtlMs: (i.consentTtlMs as number | undefined) ?? PENDING_CONSENT_TTL_MS,
    mailboxResendAfterMs: (i.mailboxResendAfterMs as number | undefined) ?? MAILBOX_RESEND_AFTER_MS,
    mailboxTtlMs: (i.mailboxTtlMs as number | undefined) ?? null,
    paths,
    replaced,
    now: (i.now as (() => number) | undefined) ?? Date.now,
    sessionTimings: Object.freeze({ ...(i.sessionTimings as Partial<PeerSessionTimings> | undefined) }),
    filesInbox: (i.filesInbox as string | undefined) ?? null,
    maxLongMessageBytes: (i.maxLongMessageBytes as number | undefined) ?? MAX_LONG_MESSAGE_BYTES,
  });
}

function validateReplaced(v: unknown, problems: string[]): Readonly<Partial<ReplacedPolicy>> {
  if (v === undefined || v === null) return Object.freeze({});
  const r = v as Record<string, unknown>;
  const ok = (n: unknown, min: number, max: number) =>
    n === undefined || (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max);
  if (
    typeof v !== 'object' ||
    !ok(r.delayMs, 1, 3_600_000) ||
    !ok(r.maxReconnects, 0, 100) ||
    !ok(r.windowMs, 1, 86_400_000)
  ) {
    problems.push('replaced must be { delayMs?: 1..3600000, maxReconnects?: 0..100, windowMs?: 1..86400000 }');
    return Object.freeze({});
  }
  return Object.freeze({
    ...(r.delayMs !== undefined ? { delayMs: r.delayMs as number } : {}),
    ...(r.maxReconnects !== undefined ? { maxReconnects: r.maxReconnects as number } : {}),
    ...(r.windowMs !== undefined ? { windowMs: r.windowMs as number } : {}),
  });
}

const isPort = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65_535;

function validatePaths(v: unknown, problems: string[]): Readonly<PathsInit> {
  if (v === undefined || v === null)
    return Object.freeze({
      listen: null,
      webrtc: true,
      mdns: false,
      allowLoopbackAddresses: false,
      allowLinkLocalAddresses: false,
    });
  if (typeof v !== 'object') {
    problems.push('paths must be an object');
    return {};
  }
  const p = v as Record<string, unknown>;
  const listen = p.listen as Record<string, unknown> | null | undefined;
  if (listen !== undefined && listen !== null) {
    if (typeof listen !== 'object' || typeof listen.host !== 'string' || !isPort(listen.port))
      problems.push('paths.listen must be { host: string, port: 0..65535 }');
    else if (
      listen.advertise !== undefined &&
      (!Array.isArray(listen.advertise) ||
        !listen.advertise.every((a: unknown) => {
          const r = a as Record<string, unknown> | null;
          return typeof r === 'object' && r !== null && typeof r.host === 'string' && isPort(r.port);
        }))
    )
      problems.push('paths.listen.advertise must be [{ host, port }]');
  }
  if (p.webrtc !== undefined && typeof p.webrtc !== 'boolean') problems.push('paths.webrtc must be a boolean');
  for (const flag of ['allowLoopbackAddresses', 'allowLinkLocalAddresses'] as const)
    if (p[flag] !== undefined && typeof p[flag] !== 'boolean') problems.push(`paths.${flag} must be a boolean`);
  const m = p.mdns as Record<string, unknown> | boolean | undefined;
  if (
    m !== undefined &&
    typeof m !== 'boolean' &&
    (typeof m !== 'object' ||
      m === null ||
      (m.interface !== undefined && typeof m.interface !== 'string') ||
      (m.port !== undefined && !isPort(m.port)))
  )
    problems.push('paths.mdns must be a boolean or { interface?, port? }');
  const t = p.timings as Record<string, unknown> | undefined;
  if (
    t !== undefined &&
    (typeof t !== 'object' ||
      t === null ||
      !Object.values(t).every((n) => typeof n === 'number' && Number.isFinite(n) && n > 0 && n <= 3_600_000))
  )
    problems.push('paths.timings must map timer names to ms in (0, 3600000]');
  return Object.freeze({
    ...(t ? { timings: Object.freeze({ ...t }) as PathTimings } : {}),
    listen: (listen as PathsInit['listen']) ?? null,
    webrtc: (p.webrtc as boolean | undefined) ?? true,
    mdns: (m as PathsInit['mdns']) ?? false,
    allowLoopbackAddresses: (p.allowLoopbackAddresses as boolean | undefined) ?? false,
    allowLinkLocalAddresses: (p.allowLinkLocalAddresses as boolean | undefined) ?? false,
  });
}
