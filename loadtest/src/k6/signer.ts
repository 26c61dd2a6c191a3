/**
 * The k6 signer: k6's WebCrypto cannot sign Ed25519 (its `sign` supports ECDSA, HMAC,
 * RSASSA-PKCS1-v1_5 and RSA-PSS only), and our HELLO must sign a per-connection challenge,
 * so it cannot be pre-computed. This small loopback HTTP service holds the identities of
 * the simulated peers (derived from a seed, so nothing grows) and answers:
 *
 *   GET  /peer?i=N                       → {"i":N,"key":"<base64url>"}
 *   POST /hello {"i":N,"challenge":"<b64>","origin":"host:port"}
 *                                        → {"hello":"<b64 HELLO frame>"}
 *   GET  /frame?from=A&to=B&bytes=S&channel=relay|signal
 *                                        → {"frame":"<b64 RELAY/SIGNAL frame, frameId 0>"}
 *
 * Usage: node --conditions=source --import tsx loadtest/src/k6/signer.ts [--port 8099] [--seed s]
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  buildHello,
  EnvelopeType,
  encodeFrame,
  encodeKey,
  FrameType,
  type Identity,
  identityFromSecret,
  sealEnvelope,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { SIGNER_MAX_BODY_BYTES, SIGNER_MAX_PEERS } from '../constants.js';

/** Sealed frames cached by (from, to, bytes, channel), entries; oldest evicted. */
const FRAME_CACHE_MAX_ENTRIES = 10_000;
/** Envelope overhead (header + tag + signature), bytes. */
const ENVELOPE_OVERHEAD_BYTES = 222;
/** Largest envelope the signer seals, bytes. */
const MAX_FRAME_ENVELOPE_BYTES = 60 * 1024;

export interface Signer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

export function identityAt(seed: string, i: number): Identity {
  const secret = createHash('sha256').update(`p2p-comm loadtest k6 ${seed} ${i}`).digest();
  return identityFromSecret(nodeSuite, new Uint8Array(secret));
}

function peerIndex(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 && n < SIGNER_MAX_PEERS ? n : null;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > SIGNER_MAX_BODY_BYTES) {
        resolve(null);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

export function startSigner(opts: { port?: number; seed?: string } = {}): Promise<Signer> {
  const seed = opts.seed ?? 'default';
  const ids = new Map<number, Identity>();
  const id = (i: number) => {
    let v = ids.get(i);
    if (!v) {
      if (ids.size >= FRAME_CACHE_MAX_ENTRIES) ids.delete(ids.keys().next().value as number);
      v = identityAt(seed, i);
      ids.set(i, v);
    }
    return v;
  };
  const frames = new Map<string, string>();

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://signer');
      if (req.method === 'GET' && url.pathname === '/peer') {
        const i = peerIndex(url.searchParams.get('i'));
        if (i === null) return send(res, 400, { error: `i must be an integer in [0, ${SIGNER_MAX_PEERS})` });
        return send(res, 200, { i, key: encodeKey(id(i).publicKey) });
      }
      if (req.method === 'POST' && url.pathname === '/hello') {
        const text = await readBody(req);
        if (text === null) return send(res, 413, { error: 'body too large' });
        const body = JSON.parse(text) as { i?: unknown; challenge?: unknown; origin?: unknown };
        const i = peerIndex(body.i);
        const challenge = typeof body.challenge === 'string' ? Buffer.from(body.challenge, 'base64') : null;
        if (i === null || !challenge || challenge.length !== 32 || typeof body.origin !== 'string')
          return send(res, 400, { error: 'need i, challenge (32 bytes, base64) and origin' });
        const hello = encodeFrame(buildHello(nodeSuite, id(i), new Uint8Array(challenge), body.origin));
        return send(res, 200, { hello: Buffer.from(hello).toString('base64') });
      }
      if (req.method === 'GET' && url.pathname === '/frame') {
        const from = peerIndex(url.searchParams.get('from'));
        const to = peerIndex(url.searchParams.get('to'));
        const bytes = Number(url.searchParams.get('bytes'));
        const channel = url.searchParams.get('channel') === 'signal' ? 'signal' : 'relay';
        if (from === null || to === null || !(bytes >= ENVELOPE_OVERHEAD_BYTES && bytes <= MAX_FRAME_ENVELOPE_BYTES))
          return send(res, 400, {
            error: `need from, to and bytes in [${ENVELOPE_OVERHEAD_BYTES}, ${MAX_FRAME_ENVELOPE_BYTES}]`,
          });
        const key = `${from}/${to}/${bytes}/${channel}`;
        let frame = frames.get(key);
        if (!frame) {
          const envelope = sealEnvelope(nodeSuite, {
            type: channel === 'signal' ? EnvelopeType.SIGNAL : EnvelopeType.DATA,
            sender: id(from),
            recipient: id(to).publicKey,
            plaintext: new Uint8Array(bytes - ENVELOPE_OVERHEAD_BYTES),
          });
          const type = channel === 'signal' ? FrameType.SIGNAL : FrameType.RELAY;
          frame = Buffer.from(encodeFrame({ type, frameId: 0, to: id(to).publicKey, envelope })).toString('base64');
          if (frames.size >= FRAME_CACHE_MAX_ENTRIES) frames.delete(frames.keys().next().value as string);
          frames.set(key, frame);
        }
        return send(res, 200, { frame });
      }
      send(res, 404, { error: 'unknown route' });
    } catch (e) {
      send(res, 400, { error: e instanceof Error ? e.message : String(e) });
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({
        server,
        port: typeof addr === 'object' && addr ? addr.port : 0,
        close: () => new Promise((r) => server.close(() => r())),
      });
    });
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const s = await startSigner({ port: Number(arg('port') ?? 8099), seed: arg('seed') });
  process.stdout.write(`k6 signer on http://127.0.0.1:${s.port}\n`);
  process.on('SIGTERM', () => s.close().then(() => process.exit(0)));
  process.on('SIGINT', () => s.close().then(() => process.exit(0)));
}
