/**
 * Configuration: one table (CONFIG_SPEC) of env variable → field, kind, default and meaning.
 * `loadConfig(env)` validates every entry, reports every problem in one RDV_ERR_CONFIG error,
 * and returns a frozen Config. Only server.ts passes process.env here.
 */
import { randomBytes } from 'node:crypto';
import { MIN_INVITE_SECRET_BYTES } from '@p2p-comm/protocol';
import * as C from './constants.js';
import { RendezvousError } from './errors.js';
import { isWildcardHost, parseHostPort } from './link/address.js';

export type AdmissionMode = 'open' | 'allowlist' | 'token';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly host: string;
  readonly port: number;
  readonly stunPort: number;
  readonly stunAltPort: number;
  readonly stunHost: string;
  readonly stunPublicHost: string | null;
  readonly redisUrl: string | null;
  readonly redisClusterNodes: readonly string[];
  readonly redisKeyPrefix: string;
  readonly instanceId: string;
  /** PUBLIC_ORIGINS; empty = derive from the bind address at listen (origins.ts). */
  readonly publicOrigins: readonly string[];
  /** NODE_ENV; "production" refuses to start without PUBLIC_ORIGINS. */
  readonly nodeEnv: string | null;
  readonly admission: AdmissionMode;
  readonly allowlistFile: string | null;
  readonly allowlistRedisKey: string | null;
  readonly inviteSecret: string | null;
  /** Invite token ids refused even when their MAC and expiry are good. */
  readonly inviteRevoked: readonly string[];
  /** Bearer token /metrics requires; null = /metrics is open (protect it at the proxy). */
  readonly metricsToken: string | null;
  readonly turnSecret: string | null;
  readonly turnUrls: readonly string[];
  readonly turnTtlS: number;
  readonly logLevel: LogLevel;
  readonly trustProxy: boolean;
  readonly maxFrameBytes: number;
  readonly rateMsgsPerS: number;
  readonly rateBurstMsgs: number;
  readonly rateBytesPerS: number;
  readonly rateBurstBytes: number;
  readonly rateIpMsgsPerS: number;
  readonly rateIpBytesPerS: number;
  readonly maxConnsPerIp: number;
  readonly maxConnections: number;
  readonly maxUnauthenticated: number;
  readonly maxUnauthenticatedPerIp: number;
  readonly ipv6PrefixBits: number;
  readonly authDeadlineMs: number;
  readonly heartbeatIntervalMs: number;
  readonly sendQueueMaxBytes: number;
  readonly mailboxMaxMessages: number;
  readonly mailboxMaxBytes: number;
  readonly mailboxTtlS: number;
  readonly mailboxMaxKeys: number;
  readonly mailboxMaxMessagesPerSender: number;
  readonly mailboxMaxBytesPerSender: number;
  readonly mailboxTotalMaxBytes: number;
  readonly recipientBusyBytes: number;
  readonly relayAllowanceBytes: number;
  readonly relayAllowanceTotalBytes: number;
  readonly slowReaderTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly restartRetryAfterMs: number;
  readonly routeTimeoutMs: number;
  readonly maxPendingRoutes: number;
  readonly routeCacheTtlMs: number;
  readonly routeCacheMaxEntries: number;
  readonly presenceTtlS: number;
  readonly authFailuresPerIpPerMin: number;
  /** INSTANCE_LINK_LISTEN host:port; null = no instance links (routing through Redis only). */
  readonly instanceLinkListen: string | null;
  /** INSTANCE_LINK_ADDR host:port other instances dial; null = derived from INSTANCE_LINK_LISTEN. */
  readonly instanceLinkAddr: string | null;
  /** INSTANCE_LINK_SECRET: the cluster secret both ends of a link prove (HMAC). */
  readonly instanceLinkSecret: string | null;
}

type Kind =
  | { t: 'string'; nonEmpty?: boolean }
  | { t: 'int'; min: number; max: number }
  | { t: 'bool' }
  | { t: 'list' }
  | { t: 'enum'; values: readonly string[] };

export interface ConfigEntry {
  /** Env variable name. */
  readonly env: string;
  readonly key: keyof Config;
  readonly kind: Kind;
  /** Default when the variable is absent or empty; null = unset; a string describes a computed default. */
  readonly default: string | number | boolean | null;
  readonly doc: string;
}

const PORT = { t: 'int', min: 0, max: 65535 } as const;
/** Shortest INSTANCE_LINK_SECRET, bytes: 256 bits, like the HMAC-SHA256 key it becomes. */
export const MIN_INSTANCE_LINK_SECRET_BYTES = 32;
const POS = (max = 2 ** 31 - 1) => ({ t: 'int', min: 1, max }) as const;

/** The single table of every setting: env name → default. docs/limits.md and the operator docs follow it. */
export const CONFIG_SPEC: readonly ConfigEntry[] = Object.freeze([
  {
    env: 'HOST',
    key: 'host',
    kind: { t: 'string', nonEmpty: true },
    default: '0.0.0.0',
    doc: 'HTTP/WebSocket bind address',
  },
  { env: 'PORT', key: 'port', kind: PORT, default: 8080, doc: 'HTTP/WebSocket port (0 = any free port)' },
  { env: 'STUN_PORT', key: 'stunPort', kind: PORT, default: 3478, doc: 'STUN UDP port; 0 disables STUN' },
  {
    env: 'STUN_ALT_PORT',
    key: 'stunAltPort',
    kind: PORT,
    default: 3479,
    doc: 'second STUN UDP port for NAT-behaviour discovery; 0 disables it',
  },
  {
    env: 'STUN_HOST',
    key: 'stunHost',
    kind: { t: 'string' },
    default: '(HOST)',
    doc: 'STUN bind address; defaults to HOST',
  },
  {
    env: 'STUN_PUBLIC_HOST',
    key: 'stunPublicHost',
    kind: { t: 'string' },
    default: null,
    doc: 'host name clients use for STUN when it differs from the one they dial (e.g. a UDP load balancer beside an HTTP one); absent = the dialed host',
  },
  {
    env: 'REDIS_URL',
    key: 'redisUrl',
    kind: { t: 'string' },
    default: null,
    doc: 'redis://… of a single Redis; absent = in-memory broker',
  },
  {
    env: 'REDIS_CLUSTER_NODES',
    key: 'redisClusterNodes',
    kind: { t: 'list' },
    default: null,
    doc: 'comma list of host:port seeds; switches to Redis Cluster mode',
  },
  {
    env: 'REDIS_KEY_PREFIX',
    key: 'redisKeyPrefix',
    kind: { t: 'string', nonEmpty: true },
    default: 'p2pc:',
    doc: 'prefix of every Redis key and channel',
  },
  {
    env: 'INSTANCE_ID',
    key: 'instanceId',
    kind: { t: 'string', nonEmpty: true },
    default: '(random)',
    doc: 'this instance’s id in presence and routing (must be unique)',
  },
  {
    env: 'PUBLIC_ORIGINS',
    key: 'publicOrigins',
    kind: { t: 'list' },
    default: '(from HOST and PORT)',
    doc: 'comma list of host[:port] accepted in signed hellos; absent = derived from what the server binds (HOST, the bound port; for a wildcard HOST also the hostname and interface addresses), never from the Host header',
  },
  {
    env: 'NODE_ENV',
    key: 'nodeEnv',
    kind: { t: 'string' },
    default: null,
    doc: '"production" makes PUBLIC_ORIGINS required (the server refuses to start without it)',
  },
  {
    env: 'ADMISSION',
    key: 'admission',
    kind: { t: 'enum', values: ['open', 'allowlist', 'token'] },
    default: 'open',
    doc: 'who may connect: open, allowlist or token',
  },
  {
    env: 'ALLOWLIST_FILE',
    key: 'allowlistFile',
    kind: { t: 'string' },
    default: null,
    doc: 'file of base64url keys, one a line, # comments',
  },
  {
    env: 'ALLOWLIST_REDIS_KEY',
    key: 'allowlistRedisKey',
    kind: { t: 'string' },
    default: null,
    doc: 'Redis set of base64url keys',
  },
  {
    env: 'INVITE_SECRET',
    key: 'inviteSecret',
    kind: { t: 'string' },
    default: null,
    doc: `invite-token HMAC secret (≥${MIN_INVITE_SECRET_BYTES} bytes); required for ADMISSION=token`,
  },
  {
    env: 'INVITE_REVOKED',
    key: 'inviteRevoked',
    kind: { t: 'list' },
    default: null,
    doc: `comma list of revoked invite token ids (at most ${C.INVITE_REVOKED_MAX_IDS})`,
  },
  {
    env: 'METRICS_TOKEN',
    key: 'metricsToken',
    kind: { t: 'string' },
    default: null,
    doc: 'bearer token /metrics requires (≥16 bytes); absent = /metrics answers anyone who reaches it',
  },
  {
    env: 'TURN_SECRET',
    key: 'turnSecret',
    kind: { t: 'string' },
    default: null,
    doc: 'coturn static-auth-secret; with TURN_URLS enables TURN credentials',
  },
  { env: 'TURN_URLS', key: 'turnUrls', kind: { t: 'list' }, default: null, doc: 'comma list of turn:/turns: URLs' },
  {
    env: 'TURN_TTL_S',
    key: 'turnTtlS',
    kind: POS(7 * 24 * 3600),
    default: C.DEFAULT_TURN_TTL_S,
    doc: 'TURN credential lifetime, s',
  },
  {
    env: 'LOG_LEVEL',
    key: 'logLevel',
    kind: { t: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    default: 'info',
    doc: 'pino log level',
  },
  {
    env: 'TRUST_PROXY',
    key: 'trustProxy',
    kind: { t: 'bool' },
    default: false,
    doc: 'honour X-Forwarded-For for per-IP limits',
  },
  {
    env: 'MAX_FRAME_BYTES',
    key: 'maxFrameBytes',
    kind: POS(16 * 1024 * 1024),
    default: C.DEFAULT_MAX_FRAME_BYTES,
    doc: 'largest client frame, bytes',
  },
  {
    env: 'RATE_MSGS_PER_S',
    key: 'rateMsgsPerS',
    kind: POS(),
    default: C.DEFAULT_RATE_MSGS_PER_S,
    doc: 'per-key frames/s',
  },
  {
    env: 'RATE_BURST_MSGS',
    key: 'rateBurstMsgs',
    kind: POS(),
    default: C.DEFAULT_RATE_BURST_MSGS,
    doc: 'per-key frame burst, frames',
  },
  {
    env: 'RATE_BYTES_PER_S',
    key: 'rateBytesPerS',
    kind: POS(),
    default: C.DEFAULT_RATE_BYTES_PER_S,
    doc: 'per-key bytes/s',
  },
  {
    env: 'RATE_BURST_BYTES',
    key: 'rateBurstBytes',
    kind: POS(),
    default: C.DEFAULT_RATE_BURST_BYTES,
    doc: 'per-key byte burst, bytes',
  },
  {
    env: 'RATE_IP_MSGS_PER_S',
    key: 'rateIpMsgsPerS',
    kind: POS(),
    default: C.DEFAULT_RATE_IP_MSGS_PER_S,
    doc: 'per-IP frames/s over all its connections (burst = 2 s worth)',
  },
  {
    env: 'RATE_IP_BYTES_PER_S',
    key: 'rateIpBytesPerS',
    kind: POS(),
    default: C.DEFAULT_RATE_IP_BYTES_PER_S,
    doc: 'per-IP bytes/s over all its connections (burst = 2 s worth)',
  },
  {
    env: 'MAX_CONNS_PER_IP',
    key: 'maxConnsPerIp',
    kind: POS(),
    default: C.DEFAULT_MAX_CONNS_PER_IP,
    doc: 'concurrent connections per IP per instance',
  },
  {
    env: 'MAX_CONNECTIONS',
    key: 'maxConnections',
    kind: POS(),
    default: C.DEFAULT_MAX_CONNECTIONS,
    doc: 'concurrent connections per instance',
  },
  {
    env: 'MAX_UNAUTHENTICATED',
    key: 'maxUnauthenticated',
    kind: POS(),
    default: C.DEFAULT_MAX_UNAUTHENTICATED,
    doc: 'sockets per instance that have not authenticated yet (the rest of MAX_CONNECTIONS stays for peers)',
  },
  {
    env: 'MAX_UNAUTHENTICATED_PER_IP',
    key: 'maxUnauthenticatedPerIp',
    kind: POS(),
    default: C.DEFAULT_MAX_UNAUTHENTICATED_PER_IP,
    doc: 'sockets from one IP (one IPv6 prefix) per instance that have not authenticated yet',
  },
  {
    env: 'IPV6_PREFIX_BITS',
    key: 'ipv6PrefixBits',
    kind: { t: 'int', min: 1, max: 128 },
    default: C.DEFAULT_IPV6_PREFIX_BITS,
    doc: 'IPv6 addresses sharing this prefix count as one IP for per-IP limits, bits (IPv4 is per address)',
  },
  {
    env: 'AUTH_DEADLINE_MS',
    key: 'authDeadlineMs',
    kind: POS(600_000),
    default: C.DEFAULT_AUTH_DEADLINE_MS,
    doc: 'upgrade → verified hello, ms',
  },
  {
    env: 'HEARTBEAT_INTERVAL_MS',
    key: 'heartbeatIntervalMs',
    kind: POS(3_600_000),
    default: C.DEFAULT_HEARTBEAT_INTERVAL_MS,
    doc: 'ping interval, ms; after 2 missed pings the socket is closed with 4007',
  },
  {
    env: 'SEND_QUEUE_MAX_BYTES',
    key: 'sendQueueMaxBytes',
    kind: POS(),
    default: C.DEFAULT_SEND_QUEUE_MAX_BYTES,
    doc: 'bytes buffered towards one socket before it is closed as a slow reader (4006)',
  },
  {
    env: 'MAILBOX_MAX_MESSAGES',
    key: 'mailboxMaxMessages',
    kind: POS(1_000_000),
    default: C.DEFAULT_MAILBOX_MAX_MESSAGES,
    doc: 'envelopes held per offline recipient',
  },
  {
    env: 'MAILBOX_MAX_BYTES',
    key: 'mailboxMaxBytes',
    kind: POS(),
    default: C.DEFAULT_MAILBOX_MAX_BYTES,
    doc: 'bytes held per offline recipient',
  },
  {
    env: 'MAILBOX_TTL_S',
    key: 'mailboxTtlS',
    kind: POS(365 * 24 * 3600),
    default: C.DEFAULT_MAILBOX_TTL_S,
    doc: 'lifetime of a mailboxed envelope, s',
  },
  {
    env: 'MAILBOX_MAX_KEYS',
    key: 'mailboxMaxKeys',
    kind: POS(),
    default: C.DEFAULT_MAILBOX_MAX_KEYS,
    doc: 'recipients with a mailbox (memory broker only)',
  },
  {
    env: 'MAILBOX_MAX_MESSAGES_PER_SENDER',
    key: 'mailboxMaxMessagesPerSender',
    kind: POS(1_000_000),
    default: C.DEFAULT_MAILBOX_MAX_MESSAGES_PER_SENDER,
    doc: 'envelopes one sender may hold in one recipient’s mailbox',
  },
  {
    env: 'MAILBOX_MAX_BYTES_PER_SENDER',
    key: 'mailboxMaxBytesPerSender',
    kind: POS(),
    default: C.DEFAULT_MAILBOX_MAX_BYTES_PER_SENDER,
    doc: 'bytes one sender may hold in one recipient’s mailbox (at least MAX_FRAME_BYTES)',
  },
  {
    env: 'MAILBOX_TOTAL_MAX_BYTES',
    key: 'mailboxTotalMaxBytes',
    kind: { t: 'int', min: 1, max: Number.MAX_SAFE_INTEGER },
    default: C.DEFAULT_MAILBOX_TOTAL_MAX_BYTES,
    doc: 'bytes held by all mailboxes together: per instance (memory broker) or per cluster (Redis); keep it well under Redis maxmemory',
  },
  {
    env: 'RECIPIENT_BUSY_BYTES',
    key: 'recipientBusyBytes',
    kind: POS(),
    default: '(SEND_QUEUE_MAX_BYTES / 2)',
    doc: `bytes queued towards a recipient above which frames for it are refused to their sender (RDV_ERR_RECIPIENT_BUSY); default SEND_QUEUE_MAX_BYTES / ${C.RECIPIENT_BUSY_QUEUE_SHARE}, at most SEND_QUEUE_MAX_BYTES − MAX_FRAME_BYTES`,
  },
  {
    env: 'RELAY_ALLOWANCE_BYTES',
    key: 'relayAllowanceBytes',
    kind: POS(),
    default: `(RECIPIENT_BUSY_BYTES × ${C.RELAY_ALLOWANCE_BUSY_MULTIPLE})`,
    doc: 'bytes queued towards a recipient up to which relayed frames are accepted while the instance has a grant to give (RELAY_ALLOWANCE_TOTAL_BYTES); advertised in WELCOME as relayAllowanceBytes; at least RECIPIENT_BUSY_BYTES',
  },
  {
    env: 'RELAY_ALLOWANCE_TOTAL_BYTES',
    key: 'relayAllowanceTotalBytes',
    kind: { t: 'int', min: 0, max: Number.MAX_SAFE_INTEGER },
    default: C.DEFAULT_RELAY_ALLOWANCE_TOTAL_BYTES,
    doc: 'bytes all relay-allowance grants may add above RECIPIENT_BUSY_BYTES on one instance together (0: no grants, RECIPIENT_BUSY_BYTES is advertised)',
  },
  {
    env: 'SLOW_READER_TIMEOUT_MS',
    key: 'slowReaderTimeoutMs',
    kind: POS(600_000),
    default: C.DEFAULT_SLOW_READER_TIMEOUT_MS,
    doc: 'a socket whose queue stays over RECIPIENT_BUSY_BYTES with nothing sent for this long is closed as a slow reader (4006), ms',
  },
  {
    env: 'DRAIN_TIMEOUT_MS',
    key: 'drainTimeoutMs',
    kind: POS(600_000),
    default: C.DEFAULT_DRAIN_TIMEOUT_MS,
    doc: 'SIGTERM → exit, ms',
  },
  {
    env: 'RESTART_RETRY_AFTER_MS',
    key: 'restartRetryAfterMs',
    kind: { t: 'int', min: 0, max: 3_600_000 },
    default: C.DEFAULT_RESTART_RETRY_AFTER_MS,
    doc: 'retry hint in RESTARTING, ms',
  },
  {
    env: 'ROUTE_TIMEOUT_MS',
    key: 'routeTimeoutMs',
    kind: POS(600_000),
    default: C.DEFAULT_ROUTE_TIMEOUT_MS,
    doc: 'wait for a remote instance’s answer, ms',
  },
  {
    env: 'MAX_PENDING_ROUTES',
    key: 'maxPendingRoutes',
    kind: POS(),
    default: C.DEFAULT_MAX_PENDING_ROUTES,
    doc: 'cross-instance frames awaiting an answer',
  },
  {
    env: 'ROUTE_CACHE_TTL_MS',
    key: 'routeCacheTtlMs',
    kind: { t: 'int', min: 0, max: 600_000 },
    default: C.DEFAULT_ROUTE_CACHE_TTL_MS,
    doc: 'key→instance cache lifetime, ms (0 disables)',
  },
  {
    env: 'ROUTE_CACHE_MAX_ENTRIES',
    key: 'routeCacheMaxEntries',
    kind: POS(),
    default: C.DEFAULT_ROUTE_CACHE_MAX_ENTRIES,
    doc: 'key→instance cache entries',
  },
  {
    env: 'PRESENCE_TTL_S',
    key: 'presenceTtlS',
    kind: POS(86_400),
    default: C.DEFAULT_PRESENCE_TTL_S,
    doc: 'presence key lifetime, s (refreshed every heartbeat)',
  },
  {
    env: 'AUTH_FAILURES_PER_IP_PER_MIN',
    key: 'authFailuresPerIpPerMin',
    kind: POS(),
    default: C.DEFAULT_AUTH_FAILURES_PER_IP_PER_MIN,
    doc: 'failed hellos per IP per minute before it is refused',
  },
  {
    env: 'INSTANCE_LINK_LISTEN',
    key: 'instanceLinkListen',
    kind: { t: 'string' },
    default: null,
    doc: 'host:port of this instance’s link listener (docs/instance-links.md); set = route batches to other instances over direct links, Redis as the fallback; absent = Redis only. Needs INSTANCE_LINK_SECRET and Redis',
  },
  {
    env: 'INSTANCE_LINK_ADDR',
    key: 'instanceLinkAddr',
    kind: { t: 'string' },
    default: '(from INSTANCE_LINK_LISTEN)',
    doc: 'host:port other instances dial to reach INSTANCE_LINK_LISTEN (port 0 = the bound port); required when it binds every interface',
  },
  {
    env: 'INSTANCE_LINK_SECRET',
    key: 'instanceLinkSecret',
    kind: { t: 'string' },
    default: null,
    doc: `cluster secret (≥${MIN_INSTANCE_LINK_SECRET_BYTES} bytes, the same on every instance) both ends of a link prove with HMAC-SHA256 challenge-response`,
  },
] satisfies ConfigEntry[]);

function parse(entry: ConfigEntry, raw: string, problems: string[]): unknown {
  const k = entry.kind;
  switch (k.t) {
    case 'string':
      if (k.nonEmpty && raw.trim() === '') problems.push(`${entry.env} must not be empty`);
      return raw;
    case 'int': {
      const n = /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < k.min || n > k.max) {
        problems.push(`${entry.env} must be an integer in [${k.min}, ${k.max}], got ${JSON.stringify(raw)}`);
        return undefined;
      }
      return n;
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      problems.push(`${entry.env} must be true or false, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    case 'list':
      return Object.freeze(
        raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== ''),
      );
    case 'enum':
      if (!k.values.includes(raw.trim())) {
        problems.push(`${entry.env} must be one of ${k.values.join('|')}, got ${JSON.stringify(raw)}`);
        return undefined;
      }
      return raw.trim();
  }
}

function defaultFor(entry: ConfigEntry): unknown {
  if (entry.kind.t === 'list') return Object.freeze([]);
  if (typeof entry.default === 'string' && entry.default.startsWith('(')) return undefined; // computed below
  return entry.default;
}

/**
 * Validate env into a frozen Config. Throws one RendezvousError('RDV_ERR_CONFIG') whose message
 * lists every problem, one per line.
 *
 * @example loadConfig({ PORT: '0', STUN_PORT: '0' })
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const entry of CONFIG_SPEC) {
    const raw = env[entry.env];
    out[entry.key] = raw === undefined || raw === '' ? defaultFor(entry) : parse(entry, raw, problems);
  }
  out.stunHost ??= out.host;
  out.instanceId ??= randomBytes(6).toString('hex');
  if (out.recipientBusyBytes === undefined && typeof out.sendQueueMaxBytes === 'number')
    out.recipientBusyBytes = Math.floor(out.sendQueueMaxBytes / C.RECIPIENT_BUSY_QUEUE_SHARE);
  if (out.relayAllowanceBytes === undefined && typeof out.recipientBusyBytes === 'number')
    out.relayAllowanceBytes = out.recipientBusyBytes * C.RELAY_ALLOWANCE_BUSY_MULTIPLE;
  const cfg = out as unknown as Config;

  if (cfg.redisUrl !== null && !/^rediss?:\/\//.test(cfg.redisUrl))
    problems.push('REDIS_URL must start with redis:// or rediss://');
  if (cfg.redisUrl !== null && cfg.redisClusterNodes.length > 0)
    problems.push('set REDIS_URL or REDIS_CLUSTER_NODES, not both');
  for (const node of cfg.redisClusterNodes)
    if (!/^[^:\s]+:\d{1,5}$/.test(node))
      problems.push(`REDIS_CLUSTER_NODES entry ${JSON.stringify(node)} is not host:port`);
  // Braces would change the Redis Cluster hash tag of every key.
  if (/[{}\s]/.test(cfg.redisKeyPrefix)) problems.push('REDIS_KEY_PREFIX must not contain braces or spaces');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(cfg.instanceId)) problems.push('INSTANCE_ID must be 1-64 of [A-Za-z0-9._-]');
  const usesRedis = cfg.redisUrl !== null || cfg.redisClusterNodes.length > 0;
  if (cfg.admission === 'allowlist') {
    if (cfg.allowlistFile === null && cfg.allowlistRedisKey === null)
      problems.push('ADMISSION=allowlist needs ALLOWLIST_FILE or ALLOWLIST_REDIS_KEY');
    if (cfg.allowlistRedisKey !== null && !usesRedis)
      problems.push('ALLOWLIST_REDIS_KEY needs REDIS_URL or REDIS_CLUSTER_NODES');
  }
  if (cfg.admission === 'token') {
    if (cfg.inviteSecret === null) problems.push('ADMISSION=token needs INVITE_SECRET');
  }
  if (cfg.inviteSecret !== null && Buffer.byteLength(cfg.inviteSecret) < MIN_INVITE_SECRET_BYTES)
    problems.push(`INVITE_SECRET must be at least ${MIN_INVITE_SECRET_BYTES} bytes`);
  if ((cfg.turnSecret === null) !== (cfg.turnUrls.length === 0))
    problems.push('TURN_SECRET and TURN_URLS must be set together');
  for (const u of cfg.turnUrls)
    if (!/^turns?:/.test(u)) problems.push(`TURN_URLS entry ${JSON.stringify(u)} must start with turn: or turns:`);
  for (const o of cfg.publicOrigins)
    if (!/^[^\s/:]+(:\d{1,5})?$/.test(o) && !/^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(o))
      problems.push(`PUBLIC_ORIGINS entry ${JSON.stringify(o)} is not host[:port]`);
  // Derived origins fit a bare `npm start`; a deployment serves names the process cannot see
  // (a proxy's, a load balancer's), and guessing them would let a relayed hello through.
  if (cfg.nodeEnv === 'production' && cfg.publicOrigins.length === 0)
    problems.push('NODE_ENV=production needs PUBLIC_ORIGINS: the host[:port] clients dial (e.g. rdv.example.org)');
  if (cfg.inviteRevoked.length > C.INVITE_REVOKED_MAX_IDS)
    problems.push(`INVITE_REVOKED lists more than ${C.INVITE_REVOKED_MAX_IDS} ids`);
  const badIds = cfg.inviteRevoked.filter((id) => !/^[A-Za-z0-9_-]{1,64}$/.test(id));
  if (badIds.length > 0)
    problems.push(
      `INVITE_REVOKED entries are not token ids: ${badIds
        .slice(0, 5)
        .map((id) => JSON.stringify(id))
        .join(', ')}`,
    );
  if (cfg.metricsToken !== null && Buffer.byteLength(cfg.metricsToken) < 16)
    problems.push('METRICS_TOKEN must be at least 16 bytes');
  if (cfg.stunPort !== 0 && cfg.stunPort === cfg.stunAltPort) problems.push('STUN_ALT_PORT must differ from STUN_PORT');
  if (cfg.rateBurstMsgs < 1 || cfg.rateBurstBytes < cfg.maxFrameBytes)
    problems.push('RATE_BURST_BYTES must be at least MAX_FRAME_BYTES');
  if (cfg.mailboxMaxBytes < cfg.maxFrameBytes) problems.push('MAILBOX_MAX_BYTES must be at least MAX_FRAME_BYTES');
  // A per-sender share above the mailbox's own limit is allowed: it then adds no restriction.
  if (cfg.mailboxMaxBytesPerSender < cfg.maxFrameBytes)
    problems.push('MAILBOX_MAX_BYTES_PER_SENDER must be at least MAX_FRAME_BYTES');
  if (cfg.mailboxTotalMaxBytes < cfg.mailboxMaxBytes)
    problems.push('MAILBOX_TOTAL_MAX_BYTES must be at least MAILBOX_MAX_BYTES');
  // An accepted frame must never push a queue past the hard cap: only a socket that does not read
  // its own answers can reach SEND_QUEUE_MAX_BYTES.
  if (cfg.recipientBusyBytes + cfg.maxFrameBytes > cfg.sendQueueMaxBytes)
    problems.push('RECIPIENT_BUSY_BYTES + MAX_FRAME_BYTES must be at most SEND_QUEUE_MAX_BYTES');
  if (cfg.relayAllowanceBytes < cfg.recipientBusyBytes)
    problems.push('RELAY_ALLOWANCE_BYTES must be at least RECIPIENT_BUSY_BYTES');

  out.instanceLinkAddr ??= null;
  if (cfg.instanceLinkListen !== null) {
    const listen = parseHostPort(cfg.instanceLinkListen);
    if (listen === null) problems.push('INSTANCE_LINK_LISTEN must be host:port (IPv6 in brackets)');
    if (cfg.instanceLinkSecret === null)
      problems.push('INSTANCE_LINK_LISTEN needs INSTANCE_LINK_SECRET (links are never open to strangers)');
    if (!usesRedis)
      problems.push('INSTANCE_LINK_LISTEN needs REDIS_URL or REDIS_CLUSTER_NODES (link addresses live there)');
    if (cfg.instanceLinkAddr === null && listen !== null && isWildcardHost(listen.host))
      problems.push(
        'INSTANCE_LINK_LISTEN binds every interface: set INSTANCE_LINK_ADDR to the host:port other instances dial',
      );
  } else if (cfg.instanceLinkAddr !== null || cfg.instanceLinkSecret !== null) {
    problems.push('INSTANCE_LINK_ADDR and INSTANCE_LINK_SECRET need INSTANCE_LINK_LISTEN');
  }
  if (cfg.instanceLinkAddr !== null && parseHostPort(cfg.instanceLinkAddr) === null)
    problems.push('INSTANCE_LINK_ADDR must be host:port (IPv6 in brackets)');
  if (cfg.instanceLinkSecret !== null && Buffer.byteLength(cfg.instanceLinkSecret) < MIN_INSTANCE_LINK_SECRET_BYTES)
    problems.push(`INSTANCE_LINK_SECRET must be at least ${MIN_INSTANCE_LINK_SECRET_BYTES} bytes`);
  if (problems.length > 0)
    throw new RendezvousError('RDV_ERR_CONFIG', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return Object.freeze(cfg);
}
