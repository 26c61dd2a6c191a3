/**
 * Host configuration: one schema, defaults in one object, every problem reported at once
 * (HOST_ERR_CONFIG_INVALID lists them all), then frozen. Only server.ts reads the environment
 * and the config file; buildApp receives the parsed value.
 */
import {
  DEFAULT_APPROVAL_TIMEOUT_MS,
  DEFAULT_HIGH_RISK_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  KNOWN_PERMISSIONS,
  MAX_MAX_MESSAGE_BYTES,
  MAX_PLUGINS,
  MIN_MAX_MESSAGE_BYTES,
  MIN_TOKEN_CHARS,
  type Permission,
} from './constants.js';
import { HostError } from './errors.js';

export interface PluginConfig {
  readonly id: string;
  /** Shown to the user: "<name> wants to share …". */
  readonly name: string;
  readonly token: string;
  readonly permissions: readonly Permission[];
  /** Peer keys (base64url) this plugin may talk to; "trusted" = any consented peer. */
  readonly peers: readonly string[];
}

export interface HostConfig {
  readonly host: string;
  readonly port: number;
  /** Token for the approval page (opened as /ui?token=…). */
  readonly uiToken: string;
  /** The user's own name, used in prompts about this host's plugins. */
  readonly userName: string;
  readonly plugins: readonly PluginConfig[];
  /** Incoming data: ask the user for every message ("always") or only high-risk ones. */
  readonly incomingApproval: 'always' | 'high-risk';
  readonly approvalTimeoutMs: number;
  readonly highRiskBytes: number;
  /**
   * Largest message in or out (bytes); every message-sized limit derives from it
   * (message-limits.ts) and the extension the host starts is given the same value.
   */
  readonly maxMessageBytes: number;
  /** Audit log file (JSON lines); empty = stderr. */
  readonly auditLogPath: string;
  /** Command and arguments that start the p2p-comm extension. */
  readonly extensionCommand: readonly string[];
}

export const CONFIG_DEFAULTS = {
  host: '127.0.0.1',
  port: 7600,
  userName: 'You',
  incomingApproval: 'always',
  approvalTimeoutMs: DEFAULT_APPROVAL_TIMEOUT_MS,
  highRiskBytes: DEFAULT_HIGH_RISK_BYTES,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  auditLogPath: '',
} as const;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
const PEER_KEY = /^[A-Za-z0-9_-]{43}$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function freezeDeep<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) freezeDeep(child);
    Object.freeze(v);
  }
  return v;
}

/** Validates raw config (parsed JSON merged with env overrides). Throws with every problem. */
export function parseConfig(raw: unknown): HostConfig {
  const errors: string[] = [];
  if (!isRecord(raw)) errors.push('config must be an object');
  const r: Record<string, unknown> = isRecord(raw) ? raw : {};
  const pick = <T>(key: string, fallback: T): unknown => (r[key] === undefined ? fallback : r[key]);

  const host = pick('host', CONFIG_DEFAULTS.host);
  if (typeof host !== 'string' || !LOOPBACK_HOSTS.has(host)) {
    errors.push('host: must be a loopback address (127.0.0.1, ::1, localhost); the gateway is local-only');
  }
  const port = pick('port', CONFIG_DEFAULTS.port);
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) errors.push('port: 0..65535');
  const uiToken = r.uiToken;
  if (typeof uiToken !== 'string' || uiToken.length < MIN_TOKEN_CHARS || /\s/.test(uiToken)) {
    errors.push(`uiToken: required, at least ${MIN_TOKEN_CHARS} characters, no spaces`);
  }
  const userName = pick('userName', CONFIG_DEFAULTS.userName);
  if (typeof userName !== 'string' || userName.length === 0 || userName.length > 64)
    errors.push('userName: 1..64 chars');
  const incomingApproval = pick('incomingApproval', CONFIG_DEFAULTS.incomingApproval);
  if (incomingApproval !== 'always' && incomingApproval !== 'high-risk') {
    errors.push('incomingApproval: "always" or "high-risk"');
  }
  const approvalTimeoutMs = pick('approvalTimeoutMs', CONFIG_DEFAULTS.approvalTimeoutMs);
  if (!Number.isInteger(approvalTimeoutMs) || (approvalTimeoutMs as number) < 100) {
    errors.push('approvalTimeoutMs: integer ≥ 100');
  }
  const highRiskBytes = pick('highRiskBytes', CONFIG_DEFAULTS.highRiskBytes);
  if (!Number.isInteger(highRiskBytes) || (highRiskBytes as number) < 1) errors.push('highRiskBytes: integer ≥ 1');
  const maxMessageBytes = pick('maxMessageBytes', CONFIG_DEFAULTS.maxMessageBytes);
  if (
    !Number.isInteger(maxMessageBytes) ||
    (maxMessageBytes as number) < MIN_MAX_MESSAGE_BYTES ||
    (maxMessageBytes as number) > MAX_MAX_MESSAGE_BYTES
  ) {
    errors.push(`maxMessageBytes: integer ${MIN_MAX_MESSAGE_BYTES}..${MAX_MAX_MESSAGE_BYTES} (bytes)`);
  }
  const auditLogPath = pick('auditLogPath', CONFIG_DEFAULTS.auditLogPath);
  if (typeof auditLogPath !== 'string') errors.push('auditLogPath: string');
  const extensionCommand = r.extensionCommand;
  if (
    !Array.isArray(extensionCommand) ||
    extensionCommand.length === 0 ||
    !extensionCommand.every((s) => typeof s === 'string' && s.length > 0)
  ) {
    errors.push('extensionCommand: non-empty array of strings');
  }

  const plugins: PluginConfig[] = [];
  const rawPlugins = r.plugins;
  if (!Array.isArray(rawPlugins)) {
    errors.push('plugins: array required');
  } else if (rawPlugins.length > MAX_PLUGINS) {
    errors.push(`plugins: at most ${MAX_PLUGINS}`);
  } else {
    const ids = new Set<string>();
    const tokens = new Set<string>();
    rawPlugins.forEach((p, i) => {
      const at = `plugins[${i}]`;
      if (!isRecord(p)) {
        errors.push(`${at}: object required`);
        return;
      }
      const before = errors.length;
      if (typeof p.id !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(p.id))
        errors.push(`${at}.id: [a-z0-9._-]{1,64}`);
      else if (ids.has(p.id)) errors.push(`${at}.id: duplicate "${p.id}"`);
      if (typeof p.name !== 'string' || p.name.length === 0 || p.name.length > 64)
        errors.push(`${at}.name: 1..64 chars`);
      if (typeof p.token !== 'string' || p.token.length < MIN_TOKEN_CHARS || /\s/.test(p.token)) {
        errors.push(`${at}.token: at least ${MIN_TOKEN_CHARS} characters, no spaces`);
      } else if (tokens.has(p.token) || p.token === uiToken) errors.push(`${at}.token: must be unique`);
      const perms = p.permissions;
      if (!Array.isArray(perms) || !perms.every((x) => (KNOWN_PERMISSIONS as readonly unknown[]).includes(x))) {
        errors.push(`${at}.permissions: array of ${KNOWN_PERMISSIONS.join(', ')}`);
      }
      const peers = p.peers ?? [];
      if (
        !Array.isArray(peers) ||
        !peers.every((x) => x === 'trusted' || (typeof x === 'string' && PEER_KEY.test(x)))
      ) {
        errors.push(`${at}.peers: array of peer keys (43 base64url chars) or "trusted"`);
      }
      if (errors.length === before) {
        ids.add(p.id as string);
        tokens.add(p.token as string);
        plugins.push({
          id: p.id as string,
          name: p.name as string,
          token: p.token as string,
          permissions: [...(perms as Permission[])],
          peers: [...(peers as string[])],
        });
      }
    });
  }

  if (errors.length > 0) throw new HostError('HOST_ERR_CONFIG_INVALID', errors.join('; '));
  return freezeDeep({
    host: host as string,
    port: port as number,
    uiToken: uiToken as string,
    userName: userName as string,
    plugins,
    incomingApproval: incomingApproval as 'always' | 'high-risk',
    approvalTimeoutMs: approvalTimeoutMs as number,
    highRiskBytes: highRiskBytes as number,
    maxMessageBytes: maxMessageBytes as number,
    auditLogPath: auditLogPath as string,
    extensionCommand: [...(extensionCommand as string[])],
  });
}
