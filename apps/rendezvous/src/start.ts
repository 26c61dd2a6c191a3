import { buildApp } from './app.js';
import type { Config } from './config.js';

export interface RunningServer {
  close(): Promise<void>;
  /** Re-read ALLOWLIST_FILE. */
  reloadAllowlist(): void;
  port: number;
  stunPort: number;
  stunAltPort: number;
}

/**
 * Build and listen. Used by server.ts and by the client's `p2p-comm serve`.
 *
 * @example
 *   const srv = await startServer(loadConfig({ PORT: '0', STUN_PORT: '0' }));
 *   await srv.close();
 */
export async function startServer(config: Config): Promise<RunningServer> {
  const app = buildApp(config);
  const { port, stunPort, stunAltPort } = await app.listen();
  return { close: () => app.close(), reloadAllowlist: () => app.reloadAllowlist(), port, stunPort, stunAltPort };
}
