/**
 * The local approval page and its API. Localhost only (the Host header must name a loopback
 * address, which also defeats DNS rebinding) and token-protected: /ui?token=… swaps the token
 * for an HttpOnly SameSite=Strict session cookie and redirects, so the token leaves the URL.
 * State-changing calls also need the `x-p2p-comm-ui` header, which a cross-site form can't send.
 * `Authorization: Bearer <uiToken>` works too, for a terminal prompt on the same queue.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApprovalQueue } from '../approvals/queue.js';
import type { AuditLog } from '../audit.js';
import { MAX_UI_STREAMS, UI_SESSION_MAX_AGE_S } from '../constants.js';
import { HostError } from '../errors.js';
import { isRecord } from '../extension/api.js';
import { PAGE_HTML, PAGE_JS, UI_AUTH_HTML } from '../ui/page.js';

const COOKIE = 'p2p_comm_ui';
const SSE_HEARTBEAT_MS = 15_000;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

export function registerApprovalUi(
  app: FastifyInstance,
  deps: { approvals: ApprovalQueue; audit: AuditLog; uiToken: string },
): void {
  const { approvals, audit } = deps;
  const tokenDigest = sha256(deps.uiToken);
  // The cookie value is derived from the token (not the token itself), so it is stable across
  // restarts of the same config and useless anywhere else.
  const session = sha256(`p2p-comm ui session\0${deps.uiToken}`).toString('base64url');
  const sessionDigest = sha256(session);
  const open = new Set<import('node:http').ServerResponse>();
  // Live streams never end on their own; close them so the server can shut down.
  app.addHook('onClose', async () => {
    for (const res of open) res.end();
  });

  const matches = (given: string | undefined, digest: Buffer) =>
    typeof given === 'string' && timingSafeEqual(sha256(given), digest);

  const authorized = (req: FastifyRequest): boolean => {
    const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    return matches(bearer, tokenDigest) || matches(readCookie(req.headers.cookie, COOKIE), sessionDigest);
  };

  const requireAuth = async (req: FastifyRequest) => {
    if (!authorized(req)) throw new HostError('HOST_ERR_UI_AUTH');
  };

  const snapshot = () => ({ pending: approvals.pending(), decided: approvals.decided() });

  // A person opened the page without a valid token: a page that says so, not a JSON error.
  const askForToken = (reply: FastifyReply) => reply.code(401).type('text/html; charset=utf-8').send(UI_AUTH_HTML);

  app.get('/ui', async (req, reply: FastifyReply) => {
    reply.headers(SECURITY_HEADERS);
    const token = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof token === 'string') {
      if (!matches(token, tokenDigest)) return askForToken(reply);
      reply.header(
        'set-cookie',
        `${COOKIE}=${session}; HttpOnly; SameSite=Strict; Path=/ui; Max-Age=${UI_SESSION_MAX_AGE_S}`,
      );
      return reply.code(303).header('location', '/ui').send();
    }
    if (!authorized(req)) return askForToken(reply);
    return reply.type('text/html; charset=utf-8').send(PAGE_HTML);
  });

  app.get('/ui/app.js', async (_req, reply) => {
    reply.headers(SECURITY_HEADERS);
    return reply.type('text/javascript; charset=utf-8').send(PAGE_JS);
  });

  app.get('/ui/api/approvals', { onRequest: requireAuth }, async () => snapshot());

  app.post('/ui/api/approvals/:id', { onRequest: requireAuth }, async (req) => {
    // Cookie-authenticated writes need the page's custom header (cross-site forms can't add it).
    const viaCookie = !/^Bearer /.test(req.headers.authorization ?? '');
    if (viaCookie && req.headers['x-p2p-comm-ui'] !== '1') throw new HostError('HOST_ERR_UI_FORBIDDEN');
    const id = (req.params as Record<string, string>).id ?? '';
    const decision = isRecord(req.body) ? req.body.decision : undefined;
    if (decision !== 'accept' && decision !== 'deny') throw new HostError('HOST_ERR_BAD_REQUEST', 'decision');
    const done = approvals.decide(id, decision === 'accept');
    audit.record({
      gate: 'approval',
      outcome: 'info',
      peer: done.peer.key,
      detail: `${done.kind} ${done.state} via ui`,
    });
    return { approval: done };
  });

  app.get('/ui/api/events', { onRequest: requireAuth }, (req, reply) => {
    if (open.size >= MAX_UI_STREAMS) throw new HostError('HOST_ERR_TOO_MANY_WAITERS');
    reply.hijack();
    const res = reply.raw;
    open.add(res);
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    const push = () => res.write(`event: state\ndata: ${JSON.stringify(snapshot())}\n\n`);
    push();
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), SSE_HEARTBEAT_MS);
    approvals.on('change', push);
    const done = () => {
      clearInterval(heartbeat);
      approvals.off('change', push);
      open.delete(res);
    };
    req.raw.once('close', done);
  });
}
