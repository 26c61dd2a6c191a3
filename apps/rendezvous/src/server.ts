/**
 * Entry point: the only place that reads process.env, listens and handles signals.
 * SIGTERM/SIGINT: RESTARTING to every client, stop accepting, drain, exit 0 within DRAIN_TIMEOUT_MS.
 * SIGHUP: re-read ALLOWLIST_FILE.
 */
import { loadConfig } from './config.js';
import { isRendezvousError } from './errors.js';
import { startServer } from './start.js';

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`${isRendezvousError(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
    process.exit(2);
  }
  const server = await startServer(config);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: draining (up to ${config.drainTimeoutMs} ms)\n`);
    // Hard stop slightly after the drain deadline, whatever happens.
    setTimeout(() => process.exit(0), config.drainTimeoutMs + 500).unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP: re-read ALLOWLIST_FILE; a bad file is reported and the current list kept.
  process.on('SIGHUP', () => {
    try {
      server.reloadAllowlist();
    } catch (err) {
      process.stderr.write(`allowlist not reloaded: ${isRendezvousError(err) ? err.message : String(err)}\n`);
    }
  });
}

main().catch((err: unknown) => {
  const text = isRendezvousError(err)
    ? `${err.code}: ${err.message}`
    : err instanceof Error
      ? err.message
      : String(err);
  process.stderr.write(`rendezvous failed to start: ${text}\n`);
  process.exit(1);
});
