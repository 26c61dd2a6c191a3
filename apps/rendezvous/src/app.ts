/**
 * buildApp(config, deps): the whole rendezvous service, constructed without side effects.
 * `listen()` binds HTTP/WebSocket and STUN and starts the broker; `close()` drains and stops.
 *
 * WebSockets are upgraded with `ws` directly on Fastify's HTTP server rather than through
 * @fastify/websocket: that plugin keeps each connection's Fastify request/reply alive (its
 * per-socket error closure), which costs several KB per idle connection — over our budget.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { Admission } from './admission.js';
import type { Broker } from './broker/broker.js';
import { createBroker } from './broker/create.js';
import { MemoryBroker } from './broker/memory.js';
import type { Config } from './config.js';
import { RendezvousError } from './errors.js';
import { RelayHub } from './hub.js';
import { ipKey } from './ip-group.js';
import { buildMetrics } from './metrics.js';
import { defaultOrigins } from './origins.js';
import { Stats } from './stats.js';
import { StunResponder } from './stun.js';

export const WS_PATH = '/v1/ws';
function uncork(socket: Duplex): void {
  socket.uncork();
}
// Probes and scrapes arrive every few seconds: keep them out of the info log.
const QUIET = { logLevel: 'warn' } as const;

export interface AppDeps {
  /** Override the broker (tests share a MemoryBus between instances). */
  broker?: Broker;
  logger?: Logger;
}

export interface ListenResult {
  port: number;
  stunPort: number;
  stunAltPort: number;
}

export interface RendezvousApp {
  readonly http: FastifyInstance;
  readonly hub: RelayHub;
  readonly broker: Broker;
  readonly stats: Stats;
  readonly config: Config;
  listen(): Promise<ListenResult>;
  /** Re-read ALLOWLIST_FILE (SIGHUP). Throws RDV_ERR_CONFIG and keeps the old list if the file is bad. */
  reloadAllowlist(): void;
  /** Drain (RESTARTING, wait up to drainTimeoutMs) and stop everything. Idempotent. */
  close(): Promise<void>;
}

/** Client address for per-IP limits: the socket's, or with TRUST_PROXY the last X-Forwarded-For hop (added by our proxy). */
function clientIp(req: IncomingMessage, trustProxy: boolean): string {
  if (trustProxy) {
    const xff = req.headers['x-forwarded-for'];
    const v = Array.isArray(xff) ? xff[xff.length - 1] : xff;
    if (v) {
      const parts = v.split(',');
      const last = parts[parts.length - 1]!.trim();
      if (last !== '' && last.length <= 64) return last;
    }
  }
  return req.socket.remoteAddress ?? 'unknown';
}

/** SHA-256 of a string: equal-length inputs for timingSafeEqual, whatever was sent. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** True when `header` is `Bearer <token>`; compared in constant time so the token cannot be guessed byte by byte. */
function bearerMatches(header: string | undefined, tokenDigest: Buffer): boolean {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
  return timingSafeEqual(digest(header.slice(7)), tokenDigest);
}

/**
 * @example
 *   const app = buildApp(loadConfig({ PORT: '0', STUN_PORT: '0' }), {});
 *   const { port } = await app.listen();
 *   // ws://127.0.0.1:${port}/v1/ws
 *   await app.close();
 */
export function buildApp(config: Config, deps: AppDeps = {}): RendezvousApp {
  const log = deps.logger ?? pino({ level: config.logLevel, base: { svc: 'rendezvous', instance: config.instanceId } });
  const broker = deps.broker ?? createBroker(config, log);
  const stats = new Stats();
  const admission = new Admission(config, broker);
  const hub = new RelayHub({ config, broker, admission, stats, log });
  const stun = config.stunPort !== 0 ? new StunResponder(config.stunHost, config.stunPort) : null;
  const stunAlt =
    config.stunPort !== 0 && config.stunAltPort !== 0 ? new StunResponder(config.stunHost, config.stunAltPort) : null;
  const http = Fastify({ loggerInstance: log as FastifyBaseLogger, bodyLimit: 1024 });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: false,
    clientTracking: false,
    skipUTF8Validation: true, // text frames are refused anyway
  });
  const registry = buildMetrics(stats, hub, broker, () => ({
    stunRequests: (stun?.requests ?? 0) + (stunAlt?.requests ?? 0),
    mailboxDepth: broker instanceof MemoryBroker ? broker.mailboxStats().messages : null,
  }));

  http.get('/healthz', QUIET, async () => ({ ok: true }));
  http.get('/readyz', QUIET, async (_req, reply) => {
    const ready = broker.isReady() && !hub.draining;
    return reply.code(ready ? 200 : 503).send({ ready, broker: broker.kind, draining: hub.draining });
  });
  const metricsTokenDigest = config.metricsToken === null ? null : digest(config.metricsToken);
  http.get('/metrics', QUIET, async (req, reply) => {
    if (metricsTokenDigest !== null && !bearerMatches(req.headers.authorization, metricsTokenDigest))
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'METRICS_TOKEN required' });
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    if ((q < 0 ? url : url.slice(0, q)) !== WS_PATH) {
      socket.on('error', ignoreError); // one shared function, not a closure per connection
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // No error listener of ours on this path: ws puts its own on the socket before it reads
    // anything (handleUpgrade) and after the upgrade (setSocket), and a second one per
    // connection only cost a listener array. The 101 response and the CHALLENGE leave in one write.
    socket.cork();
    wss.handleUpgrade(req, socket, head, (ws) =>
      hub.accept(ws, socket, ipKey(clientIp(req, config.trustProxy), config.ipv6PrefixBits), req.headers.host),
    );
    process.nextTick(uncork, socket);
  };

  let closing: Promise<void> | null = null;
  return {
    http,
    hub,
    broker,
    stats,
    config,
    async listen() {
      admission.load();
      await hub.start();
      let stunPort = 0;
      let stunAltPort = 0;
      try {
        // STUN first: a taken UDP port stops the start before anything says "listening".
        if (stun)
          stunPort = await bindOrExplain(() => stun.start(), 'udp', 'STUN_PORT', config.stunHost, config.stunPort);
        if (stunAlt)
          stunAltPort = await bindOrExplain(
            () => stunAlt.start(),
            'udp',
            'STUN_ALT_PORT',
            config.stunHost,
            config.stunAltPort,
          );
        http.server.on('upgrade', onUpgrade);
        await bindOrExplain(
          () => http.listen({ host: config.host, port: config.port }),
          'tcp',
          'PORT',
          config.host,
          config.port,
        );
      } catch (err) {
        // Leave nothing bound or running: the caller exits or retries with other ports.
        http.server.off('upgrade', onUpgrade);
        hub.stop();
        await Promise.all([stun?.close(), stunAlt?.close()]);
        await http.close().catch(ignoreError);
        wss.close();
        await broker.stop();
        throw err;
      }
      const addr = http.server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : config.port;
      const derived = config.publicOrigins.length === 0;
      const origins = derived ? defaultOrigins(config.host, port) : config.publicOrigins;
      hub.setOrigins(origins, derived);
      if (derived)
        log.warn(
          { origins },
          'PUBLIC_ORIGINS unset: hellos are accepted only for these origins, derived from HOST and the bound port; set PUBLIC_ORIGINS to the host[:port] clients dial',
        );
      hub.setStunPorts(stunPort, stunAltPort);
      if (config.admission === 'open' && (config.host === '0.0.0.0' || config.host === '::'))
        log.warn(
          { host: config.host, port, admission: config.admission },
          'ADMISSION=open on every interface: any key that can reach this port may use the server; for production set ADMISSION=token (with INVITE_SECRET) or ADMISSION=allowlist (ALLOWLIST_FILE), or HOST=127.0.0.1 for a local test',
        );
      log.info(
        { port, stunPort, stunAltPort, broker: broker.kind, admission: config.admission },
        'rendezvous listening',
      );
      return { port, stunPort, stunAltPort };
    },
    reloadAllowlist() {
      admission.load();
      log.info('allowlist reloaded');
    },
    close() {
      closing ??= (async () => {
        await hub.drain(config.drainTimeoutMs);
        http.server.off('upgrade', onUpgrade);
        hub.stop();
        await http.close();
        wss.close();
        await Promise.all([stun?.close(), stunAlt?.close()]);
        await broker.stop();
      })();
      return closing;
    },
  };
}

function ignoreError(): void {}

/**
 * Bind, and turn "address in use" and friends into RDV_ERR_LISTEN naming the variable that
 * chose the port and what to do (two instances on one host collide on STUN 3478 first).
 */
async function bindOrExplain<T>(
  bind: () => Promise<T>,
  proto: 'tcp' | 'udp',
  envName: 'PORT' | 'STUN_PORT' | 'STUN_ALT_PORT',
  host: string,
  port: number,
): Promise<T> {
  try {
    return await bind();
  } catch (err) {
    const code = String((err as NodeJS.ErrnoException | null)?.code ?? '');
    const where = `${proto} ${host.includes(':') ? `[${host}]` : host}:${port}`;
    const fix =
      envName === 'PORT'
        ? 'set PORT to a free port (0 picks one)'
        : 'set STUN_PORT and STUN_ALT_PORT to free ports, or STUN_PORT=0 to run without STUN';
    const why: Record<string, string> = {
      EADDRINUSE: 'is already in use (another rendezvous server on this host?)',
      EACCES: 'needs privileges this process does not have',
      EADDRNOTAVAIL: 'is not an address of this host',
    };
    const reason = why[code];
    if (!reason) throw err;
    throw new RendezvousError('RDV_ERR_LISTEN', `${envName}=${port}: ${where} ${reason} (${code}); ${fix}`);
  }
}
