/**
 * Entry point: reads HOST_CONFIG (a JSON file) and env overrides, validates once, spawns the
 * p2p-comm extension, listens on loopback, and shuts down on SIGINT/SIGTERM (extension too).
 *
 * Env: HOST_CONFIG (path, required; relative to where the command was typed), HOST_PORT,
 * HOST_UI_TOKEN, HOST_AUDIT_LOG. The extension inherits the environment (NEXUS_HOME,
 * P2P_COMM_SERVER, …).
 */
import { appendFileSync } from 'node:fs';
import { buildApp } from './app.js';
import { parseConfig } from './config.js';
import { configPath, readConfigFile } from './config-file.js';
import { isHostError } from './errors.js';
import { ExtensionClient } from './extension/client.js';

function rawConfig(env: NodeJS.ProcessEnv): unknown {
  const raw = readConfigFile(configPath(env, process.cwd()));
  if (env.HOST_PORT !== undefined) raw.port = Number(env.HOST_PORT);
  if (env.HOST_UI_TOKEN !== undefined) raw.uiToken = env.HOST_UI_TOKEN;
  if (env.HOST_AUDIT_LOG !== undefined) raw.auditLogPath = env.HOST_AUDIT_LOG;
  return raw;
}

async function main(): Promise<void> {
  let config: ReturnType<typeof parseConfig>;
  try {
    config = parseConfig(rawConfig(process.env));
  } catch (err) {
    const code = isHostError(err) ? err.code : 'HOST_ERR_CONFIG_INVALID';
    process.stderr.write(`${code}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const auditPath = config.auditLogPath;
  const auditSink = auditPath
    ? (line: string) => appendFileSync(auditPath, `${line}\n`, { mode: 0o600 })
    : (line: string) => process.stderr.write(`audit ${line}\n`);

  // The extension is told the host's largest message, so both refuse and accept the same sizes.
  const extension = ExtensionClient.spawn({
    command: config.extensionCommand,
    maxMessageBytes: config.maxMessageBytes,
  });
  const { app } = buildApp(config, { extension, auditSink });
  // Signals are handled before the gateway says it is listening: a supervisor (or a test) may
  // stop it the moment it reads that line, and without a handler yet Node would die on the spot
  // and leave the extension behind.
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await app.close();
    await extension.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  const address = await app.listen({ host: config.host, port: config.port });
  // One machine-readable line so supervisors and tests learn the port (PORT 0 = any free port).
  process.stdout.write(`${JSON.stringify({ event: 'listening', url: address, ui: `${address}/ui` })}\n`);
  // The link with the page's token, once, for the person at the terminal. Not on stdout (read
  // by supervisors and tests) and not when stderr goes to a log file: the token approves sends.
  if (process.stderr.isTTY)
    process.stderr.write(
      `Approval page: ${address}/ui?token=${encodeURIComponent(config.uiToken)}\n  (this link holds the page's token: open it, do not share it)\n`,
    );
  else process.stderr.write(`Approval page: ${address}/ui?token=<uiToken of the host config>\n`);

  // Without its extension the gateway can only refuse; exit so a supervisor restarts both.
  void extension.exited.then(async () => {
    if (stopping) return;
    process.stderr.write('HOST_ERR_EXTENSION_UNAVAILABLE: the p2p-comm extension exited; stopping\n');
    stopping = true;
    await app.close();
    process.exit(1);
  });
}

void main();
