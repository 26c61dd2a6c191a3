/**
 * Plugin API under /v1/extensions/p2p-comm: the auth gate runs first on every route (its own
 * audit line), then the route hands the typed plugin to the Gateway, which runs the rest.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit.js';
import type { PluginConfig } from '../config.js';
import { MAX_LONG_POLL_MS, MAX_READ_BATCH } from '../constants.js';
import { HostError, isHostError } from '../errors.js';
import { isRecord } from '../extension/api.js';
import type { PluginAuthenticator } from '../gates/auth.js';
import type { Gateway } from '../gateway.js';

export const API_PREFIX = '/v1/extensions/p2p-comm';

function intParam(v: unknown, fallback: number, min: number, max: number): number {
  if (v === undefined) return fallback;
  const n = typeof v === 'string' && /^\d{1,9}$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw new HostError('HOST_ERR_BAD_REQUEST', `integer ${min}..${max}`);
  return n;
}

export function registerPluginApi(
  app: FastifyInstance,
  deps: { gateway: Gateway; auth: PluginAuthenticator; audit: AuditLog },
): void {
  const { gateway, auth, audit } = deps;
  const plugins = new WeakMap<FastifyRequest, PluginConfig>();
  const pluginOf = (req: FastifyRequest) => plugins.get(req)!;

  app.register(
    async (api) => {
      api.addHook('onRequest', async (req) => {
        try {
          const plugin = auth.authenticate(req.headers.authorization);
          plugins.set(req, plugin);
          audit.record({
            gate: 'auth',
            outcome: 'allow',
            plugin: plugin.id,
            detail: `${req.method} ${req.routeOptions.url}`,
          });
        } catch (err) {
          const code = isHostError(err) ? err.code : 'HOST_ERR_INTERNAL';
          audit.record({
            gate: 'auth',
            outcome: 'deny',
            code,
            detail: `${req.method} ${req.routeOptions.url ?? req.url}`,
          });
          throw err;
        }
      });

      // Its own body limit: a whole message JSON-escaped (message-limits.ts sendHttpBodyBytes).
      api.post('/send', { bodyLimit: gateway.limits.sendHttpBodyBytes }, async (req) => {
        const b = isRecord(req.body) ? req.body : {};
        return gateway.send(pluginOf(req), b.to, b.body);
      });

      api.get('/messages', async (req) => {
        const q = (req.query ?? {}) as Record<string, unknown>;
        const waitMs = intParam(q.wait, 0, 0, MAX_LONG_POLL_MS);
        const max = intParam(q.max, MAX_READ_BATCH, 1, MAX_READ_BATCH);
        return { items: await gateway.read(pluginOf(req), max, waitMs) };
      });

      api.get('/peers', async (req) => ({ peers: await gateway.peers(pluginOf(req)) }));

      api.post('/peers/connect', async (req) => {
        if (!isRecord(req.body)) throw new HostError('HOST_ERR_BAD_REQUEST', 'JSON object body');
        return { result: await gateway.connect(pluginOf(req), req.body) };
      });

      api.get('/status', async (req) => gateway.status(pluginOf(req)));

      // Files: offer one (an absolute path on this machine), list transfers, fetch a received one.
      api.post('/files/send', async (req) => {
        const b = isRecord(req.body) ? req.body : {};
        return gateway.sendFile(pluginOf(req), b.to, b.path, b.note);
      });

      api.get('/files', async (req) => ({ transfers: await gateway.listFiles(pluginOf(req)) }));

      api.get('/files/:id', async (req) => gateway.fetchFile(pluginOf(req), (req.params as { id?: unknown }).id));
    },
    { prefix: API_PREFIX },
  );
}
