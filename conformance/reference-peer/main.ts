/**
 * The reference peer: OUR client (the SDK) behind the conformance stdio interface v1
 * (docs/conformance.md). It proves the runner against a known-good implementation, and it is
 * what a porter compares a new implementation's answers with.
 *
 *   node --conditions=source --import tsx conformance/reference-peer/main.ts [--double-deliver] [--hide-refusals]
 *
 * The flags break it on purpose, so tests can show the runner fails a wrong peer:
 * --double-deliver emits every `message` event twice; --hide-refusals never emits `refused`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodeKey, identityFromSecret, toBase64url } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
// The SDK module itself, not the package index (which also loads the CLI, MCP and extension):
// the runner starts this process once per script.
import { createClient, type P2PClient } from '../../client/src/sdk/client.js';
import { storePaths } from '../../client/src/store/paths.js';
import type { Vector } from '../../packages/protocol/scripts/write-conformance-check.js';

/** Longest request line read, bytes (the interface's limit). */
const MAX_LINE_BYTES = 1024 * 1024;
/** Bound of `connect` (authenticated, WELCOME received), ms. */
const CONNECT_TIMEOUT_MS = 10_000;
/** A 64-hex-character Ed25519 seed. */
const SEED_RE = /^[0-9a-fA-F]{64}$/;

const flags = new Set(process.argv.slice(2));
const doubleDeliver = flags.has('--double-deliver');
const hideRefusals = flags.has('--hide-refusals');

const home = mkdtempSync(join(tmpdir(), 'p2p-reference-peer-'));
let client: P2PClient | null = null;
let haveIdentity = false;
/** Keys we asked for consent: only their acceptance is `consent.accepted` (not our own answer to them). */
const requested = new Set<string>();

function write(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

class OpError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function str(args: Record<string, unknown>, k: string): string {
  const v = args[k];
  if (typeof v !== 'string' || v.length === 0)
    throw new OpError('CLIENT_ERR_INVALID_ARGUMENT', `"${k}" must be a string`);
  return v;
}

function need(): P2PClient {
  if (!client) throw new OpError('CLIENT_ERR_NOT_STARTED', 'not connected (send "connect" first)');
  return client;
}

/** Our SDK's events in the interface's words. */
function wire(c: P2PClient): void {
  c.on('consent.request', (r) => write({ event: 'consent.request', peer: r.key, ...(r.name ? { note: r.name } : {}) }));
  c.on('peer.status', (s) => {
    if (s.state === 'trusted' && requested.delete(s.key)) write({ event: 'consent.accepted', peer: s.key });
    else if (s.state === 'denied' && requested.delete(s.key)) write({ event: 'consent.declined', peer: s.key });
    else if (s.state === 'revoked-by-peer') write({ event: 'revoked', peer: s.key });
  });
  c.on('message.received', (m) => {
    const ev = { event: 'message', peer: m.from, msgId: m.id, text: m.text ?? '' };
    write(ev);
    if (doubleDeliver) write(ev);
  });
  c.on('message.delivered', (d) => write({ event: 'acked', peer: d.to, msgId: d.id }));
  c.on('rejected', (r) => {
    if (!hideRefusals) write({ event: 'refused', code: r.code, detail: `from ${r.from}` });
  });
}

async function op(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  switch (name) {
    case 'identity': {
      const seed = str(args, 'seed');
      if (!SEED_RE.test(seed)) throw new OpError('CLIENT_ERR_INVALID_ARGUMENT', 'seed must be 64 hex characters');
      if (client || haveIdentity)
        throw new OpError('CLIENT_ERR_INVALID_ARGUMENT', 'the identity is set once, before connect');
      const secret = new Uint8Array(Buffer.from(seed, 'hex'));
      const file = storePaths(home).secretKeyFile;
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      writeFileSync(file, `${toBase64url(secret)}\n`, { mode: 0o600 });
      haveIdentity = true;
      return { key: encodeKey(identityFromSecret(nodeSuite, secret).publicKey) };
    }
    case 'connect': {
      const url = str(args, 'url');
      if (client) {
        // Already started: the SDK reconnects by itself; wait for it.
        await client.waitForServer(CONNECT_TIMEOUT_MS);
        return {};
      }
      const c = createClient({ home, server: url, paths: { webrtc: false } });
      wire(c);
      await c.start();
      c.setName('Reference');
      client = c;
      await c.waitForServer(CONNECT_TIMEOUT_MS);
      return {};
    }
    case 'disconnect': {
      // The whole client stops; its home keeps trust, sequences and replay state for `connect`.
      const c = client;
      client = null;
      await c?.stop();
      return {};
    }
    case 'request': {
      const peer = str(args, 'peer');
      requested.add(peer);
      need().connect(peer);
      return {};
    }
    case 'respond':
      if (typeof args.accept !== 'boolean')
        throw new OpError('CLIENT_ERR_INVALID_ARGUMENT', '"accept" must be a boolean');
      need().respondConsent(str(args, 'peer'), args.accept);
      return {};
    case 'send': {
      if (typeof args.text !== 'string') throw new OpError('CLIENT_ERR_INVALID_ARGUMENT', '"text" must be a string');
      const r = need().send(str(args, 'peer'), { text: args.text });
      return { msgId: r.id };
    }
    case 'revoke':
      need().revoke(str(args, 'peer'));
      return {};
    case 'check': {
      const v = args.vector as Partial<Vector> | undefined;
      if (typeof v !== 'object' || v === null || typeof v.kind !== 'string' || typeof v.input !== 'object')
        throw new OpError('CLIENT_ERR_INVALID_ARGUMENT', '"vector" must be a vector object with kind and input');
      // The kit's own checker (what our tests run every vector through) with the client's
      // decoders, loaded on the first check only.
      const [{ checkVector }, { clientHooks }] = await Promise.all([
        import('../../packages/protocol/scripts/write-conformance-check.js'),
        import('../../packages/protocol/scripts/write-conformance-client-hooks.js'),
      ]);
      const answer = checkVector({ kind: v.kind, input: v.input as Record<string, unknown> }, clientHooks);
      if (!answer.ok) throw new OpError(answer.code, `the vector's computation failed with ${answer.code}`);
      return { output: answer.output };
    }
    default:
      throw new OpError('CONFORMANCE_UNKNOWN_OP', `unknown op ${JSON.stringify(name)}`);
  }
}

async function quit(): Promise<never> {
  await client?.stop();
  rmSync(home, { recursive: true, force: true });
  process.exit(0);
}

let buffered = '';
// Requests run one at a time, in order, as the runner sends them.
let queue: Promise<void> = Promise.resolve();
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  if (buffered.length > MAX_LINE_BYTES && !buffered.includes('\n')) {
    process.stderr.write('request line too long; dropped\n');
    buffered = '';
  }
  let nl = buffered.indexOf('\n');
  while (nl >= 0) {
    const line = buffered.slice(0, nl).trim();
    buffered = buffered.slice(nl + 1);
    if (line) queue = queue.then(() => handle(line));
    nl = buffered.indexOf('\n');
  }
});
process.stdin.on('end', () => {
  queue = queue.then(quit);
});

async function handle(line: string): Promise<void> {
  let req: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    req = parsed as Record<string, unknown>;
  } catch {
    process.stderr.write(`not a JSON object: ${line.slice(0, 200)}\n`);
    return;
  }
  const id = req.id;
  const name = String(req.op);
  if (name === 'quit') {
    write({ id, ok: true });
    await quit();
  }
  try {
    const { id: _id, op: _op, ...args } = req;
    const result = await op(name, args);
    write({ id, ok: true, ...result });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    write({
      id,
      ok: false,
      code: typeof code === 'string' ? code : 'CLIENT_ERR_INTERNAL',
      message: (err as Error).message ?? String(err),
    });
  }
}

write({ event: 'ready', interface: 1 });
