/**
 * Bench helper: a rendezvous server (in-memory broker) that, on SIGUSR2, runs a full GC and
 * prints its memory use — so the idle-connection benchmark measures live memory, not garbage.
 * Run: node --expose-gc --conditions=source --import tsx idle-server.ts <port>
 */
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/start.js';

const port = Number(process.argv[2] ?? 9100);
await startServer(
  loadConfig({
    HOST: '127.0.0.1',
    PORT: String(port),
    STUN_PORT: '0',
    LOG_LEVEL: 'warn',
    MAX_CONNS_PER_IP: '100000',
    HEARTBEAT_INTERVAL_MS: '600000',
  }),
);
process.on('SIGUSR2', () => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  process.stdout.write(`mem ${JSON.stringify(m)}\n`);
});
process.stdout.write('ready\n');
