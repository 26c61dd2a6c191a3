// The minimal peer's entry point: the stdio interface, version 1 (docs/conformance.md, "The
// stdio interface"). JSON lines in on stdin, JSON lines out on stdout, logging on stderr.
//
//   → {"id":1,"op":"identity","seed":"<64 hex>"}      ← {"id":1,"ok":true,"key":"<base64url>"}
//   → {"id":2,"op":"connect","url":"ws://127.0.0.1:PORT"}
//   → request {peer, note?} · respond {peer, accept} · send {peer, text} → {msgId}
//   → revoke {peer} · disconnect {} · check {vector} → {output} · quit {}
//   ← events: consent.request / consent.accepted / consent.declined / message / acked / revoked / refused
//
// Run: node --import tsx conformance/minimal-peer/main.ts

import { fromHex } from './bytes.js';
import { runCheck } from './check.js';
import { codeOf, messageOf, PeerError } from './errors.js';
import { identityFromSeed, parseKeyText } from './identity.js';
import { Peer, type PeerEvent } from './peer.js';

const INTERFACE_VERSION = 1;
/** Longest stdin line we read (the interface's 1 MiB per line). */
const MAX_LINE_BYTES = 1_048_576;

type Request = { id: number; op: string } & Record<string, unknown>;

let peer: Peer | null = null;

function write(object: unknown): void {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

function log(line: string): void {
  process.stderr.write(`[minimal-peer] ${line}\n`);
}

function emit(event: PeerEvent): void {
  write(event);
}

function requirePeer(): Peer {
  if (peer === null) throw new PeerError('CLIENT_ERR_NOT_STARTED', 'send "identity" first');
  return peer;
}

function stringArg(request: Request, name: string): string {
  const value = request[name];
  if (typeof value !== 'string') throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `${name} must be a string`);
  return value;
}

async function handle(request: Request): Promise<Record<string, unknown>> {
  switch (request.op) {
    case 'identity': {
      const seed = stringArg(request, 'seed');
      if (!/^[0-9a-fA-F]{64}$/.test(seed))
        throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', 'seed is 64 hex characters');
      const identity = identityFromSeed(fromHex(seed));
      peer = new Peer(identity, emit, log);
      return { key: identity.keyText };
    }
    case 'connect':
      await requirePeer().connect(stringArg(request, 'url'));
      return {};
    case 'disconnect':
      requirePeer().disconnect();
      return {};
    case 'request': {
      const keyText = stringArg(request, 'peer');
      const note = typeof request.note === 'string' ? request.note : '';
      requirePeer().request(keyText, parseKeyText(keyText), note);
      return {};
    }
    case 'respond': {
      const keyText = stringArg(request, 'peer');
      if (typeof request.accept !== 'boolean')
        throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', 'accept must be a boolean');
      requirePeer().respond(keyText, parseKeyText(keyText), request.accept);
      return {};
    }
    case 'send': {
      const keyText = stringArg(request, 'peer');
      return { msgId: requirePeer().send(keyText, parseKeyText(keyText), stringArg(request, 'text')) };
    }
    case 'revoke': {
      const keyText = stringArg(request, 'peer');
      requirePeer().revoke(keyText, parseKeyText(keyText));
      return {};
    }
    case 'check':
      return runCheck(request.vector);
    case 'quit':
      write({ id: request.id, ok: true });
      process.exit(0);
      break;
    default:
      throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `unknown op ${request.op}`);
  }
  return {};
}

async function onLine(line: string): Promise<void> {
  if (line.trim() === '') return;
  let request: Request;
  try {
    request = JSON.parse(line) as Request;
  } catch {
    log(`not JSON: ${line.slice(0, 200)}`);
    return;
  }
  const id = request?.id;
  try {
    const result = await handle(request);
    write({ id, ok: true, ...result });
  } catch (error) {
    write({ id, ok: false, code: codeOf(error), message: messageOf(error) });
  }
}

// Nothing the network sends may crash the process: a bug is logged, the peer keeps running.
process.on('uncaughtException', (error) => log(`uncaught: ${error.stack ?? error.message}`));
process.on('unhandledRejection', (error) => log(`unhandled: ${String(error)}`));

// Requests are answered in the order they arrive (one at a time), so `quit` never overtakes
// an earlier answer; events are written whenever they happen.
let queue: Promise<void> = Promise.resolve();

// stdin → lines, with the line length bounded while reading (readline would buffer any length).
let pending: Buffer[] = [];
let pendingBytes = 0;
let skippingLongLine = false;
process.stdin.on('data', (chunk: Buffer) => {
  let start = 0;
  for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
    const piece = chunk.subarray(start, newline);
    start = newline + 1;
    if (!skippingLongLine && pendingBytes + piece.length <= MAX_LINE_BYTES) {
      const line = Buffer.concat([...pending, piece]).toString('utf8');
      queue = queue.then(() => onLine(line));
    } else {
      log('line over 1 MiB skipped');
    }
    pending = [];
    pendingBytes = 0;
    skippingLongLine = false;
  }
  const rest = chunk.subarray(start);
  if (skippingLongLine || pendingBytes + rest.length > MAX_LINE_BYTES) {
    skippingLongLine = true;
    pending = [];
    pendingBytes = 0;
  } else if (rest.length > 0) {
    pending.push(Buffer.from(rest));
    pendingBytes += rest.length;
  }
});
process.stdin.on('end', () => {
  void queue.then(() => process.exit(0));
});
write({ event: 'ready', interface: INTERFACE_VERSION });
