/**
 * buildApp(config, deps): the host gateway as a Fastify instance, not listening. server.ts
 * listens; tests use inject() or listen({ port: 0 }). The extension is injected so tests can
 * drive the gates without a network, and the real ExtensionClient in production and e2e.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { ApprovalQueue } from './approvals/queue.js';
import { AuditLog, type AuditSink } from './audit.js';
import type { HostConfig } from './config.js';
import { MAX_HTTP_BODY_BYTES } from './constants.js';
import { HostError, isHostError } from './errors.js';
import type { HostExtension } from './extension/api.js';
import { PluginAuthenticator } from './gates/auth.js';
import { createDefaultRiskReviewer, type RiskReviewer } from './gates/risk.js';
import { Gateway } from './gateway.js';
import { registerApprovalUi } from './routes/approval-ui.js';
import { registerPluginApi } from './routes/plugin-api.js';

export interface HostDeps {
  extension: HostExtension;
  /** Content review for the risk gate; default flags listings, paths, credentials, size. */
  risk?: RiskReviewer;
  auditSink?: AuditSink;
  now?: () => number;
  logger?: boolean;
}

export interface HostApp {
  app: FastifyInstance;
  gateway: Gateway;
  approvals: ApprovalQueue;
  audit: AuditLog;
}

const LOOPBACK_HOST_HEADER = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/;

export function buildApp(config: HostConfig, deps: HostDeps): HostApp {
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: MAX_HTTP_BODY_BYTES });
  const audit = new AuditLog(deps.auditSink, deps.now);
  const approvals = new ApprovalQueue({ timeoutMs: config.approvalTimeoutMs, ...(deps.now ? { now: deps.now } : {}) });
  const risk = deps.risk ?? createDefaultRiskReviewer({ highRiskBytes: config.highRiskBytes });
  const gateway = new Gateway({ config, extension: deps.extension, approvals, audit, risk });

  // Only loopback names: a page on another origin that rebinds its DNS name to 127.0.0.1 still
  // sends its own name in Host and is refused.
  app.addHook('onRequest', async (req) => {
    if (!LOOPBACK_HOST_HEADER.test(req.headers.host ?? '')) throw new HostError('HOST_ERR_UI_FORBIDDEN', 'host header');
  });

  app.setErrorHandler((err: FastifyError | HostError, req, reply) => {
    let e: HostError;
    if (isHostError(err)) e = err;
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // Name the limit that applied: `…/send` follows maxMessageBytes, other routes are small.
      const limit = req.routeOptions.bodyLimit ?? MAX_HTTP_BODY_BYTES;
      e = new HostError('HOST_ERR_BODY_TOO_LARGE', `request body over ${limit} bytes`);
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      e = new HostError('HOST_ERR_BAD_REQUEST', err.code);
    } else e = new HostError('HOST_ERR_INTERNAL');
    reply.code(e.status).send(e.toJSON());
  });
  app.setNotFoundHandler((_req, reply) => {
    const e = new HostError('HOST_ERR_NOT_FOUND');
    reply.code(e.status).send(e.toJSON());
  });

  app.get('/healthz', async () => ({ ok: true }));
  registerPluginApi(app, { gateway, auth: new PluginAuthenticator(config.plugins), audit });
  registerApprovalUi(app, { approvals, audit, uiToken: config.uiToken });

  app.addHook('onClose', async () => {
    gateway.stop();
    approvals.close();
  });
  return { app, gateway, approvals, audit };
}
