import { ClientError } from '../errors.js';
import { normalizeServerUrl } from '../transports/rendezvous-connection.js';

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
}

export interface ClientConfig {
  readonly home: string;
  readonly server: string | null;
  readonly token: string;
  readonly requireApproval: boolean;
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
  if (problems.length > 0) throw new ClientError('CLIENT_ERR_CONFIG', problems.join('; '), { problems });
  return Object.freeze({
    home: i.home as string,
    server,
    token: (i.token as string | undefined) ?? '',
    requireApproval: (i.requireApproval as boolean | undefined) ?? false,
  });
}
