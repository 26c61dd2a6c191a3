/**
 * Auth gate: a plugin proves who it is with its own bearer token. Tokens are compared as
 * SHA-256 digests in constant time so the comparison leaks neither length nor prefix.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PluginConfig } from '../config.js';
import { HostError } from '../errors.js';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export class PluginAuthenticator {
  private readonly byDigest: { digest: Buffer; plugin: PluginConfig }[];

  constructor(plugins: readonly PluginConfig[]) {
    this.byDigest = plugins.map((plugin) => ({ digest: digest(plugin.token), plugin }));
  }

  /** Returns the plugin for an `Authorization: Bearer <token>` header, or throws. */
  authenticate(header: string | undefined): PluginConfig {
    const m = typeof header === 'string' ? /^Bearer ([^\s]+)$/.exec(header) : null;
    if (!m) throw new HostError('HOST_ERR_AUTH_MISSING');
    const d = digest(m[1]!);
    let found: PluginConfig | undefined;
    // Compare against every plugin so timing does not reveal which one matched.
    for (const entry of this.byDigest) {
      if (timingSafeEqual(entry.digest, d)) found = entry.plugin;
    }
    if (!found) throw new HostError('HOST_ERR_AUTH_INVALID');
    return found;
  }
}
