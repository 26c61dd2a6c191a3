/**
 * Runs the two halves of the direct handshake (direct-handshake.ts) over a WebSocket that has
 * just opened, under one deadline. Returns the proven remote key; throws a PathError and
 * closes the socket on anything else (fails closed).
 */
import { bytesEqual, type CryptoSuite, type Identity, randomBytes } from '@p2p-comm/protocol';
import type { WebSocket } from 'ws';
import { DIRECT_HANDSHAKE_TIMEOUT_MS } from './direct-constants.js';
import { PathError } from './direct-errors.js';
import {
  DIRECT_CHALLENGE_BYTES,
  decodeHandshake,
  encodeHandshake,
  HandshakeType,
  signTranscript,
  verifyTranscript,
} from './direct-handshake.js';
import { rawToBytes } from './direct-link.js';
import { LINK_EARLY_ENVELOPES_MAX } from './direct-link-events.js';

/** WebSocket close codes the handshake sends (4000–4999 is the application range). */
export const DirectCloseCode = Object.freeze({
  BAD_FRAME: 4000,
  BAD_PROOF: 4001,
  NOT_TRUSTED: 4002,
  TIMEOUT: 4003,
  WRONG_KEY: 4004,
} as const);

const CLOSE_CODE_OF: Readonly<Record<string, number>> = Object.freeze({
  CLIENT_ERR_DIRECT_BAD_FRAME: DirectCloseCode.BAD_FRAME,
  CLIENT_ERR_DIRECT_BAD_PROOF: DirectCloseCode.BAD_PROOF,
  CLIENT_ERR_DIRECT_REJECTED: DirectCloseCode.NOT_TRUSTED,
  CLIENT_ERR_DIRECT_HANDSHAKE_TIMEOUT: DirectCloseCode.TIMEOUT,
  CLIENT_ERR_DIRECT_WRONG_KEY: DirectCloseCode.WRONG_KEY,
});

/** Reads binary messages one at a time; the handshake never needs more than one in flight. */
class MessageReader {
  readonly #queue: Uint8Array[] = [];
  #waiter: { resolve: (m: Uint8Array) => void; reject: (e: Error) => void } | undefined;
  #ended: Error | undefined;
  constructor(ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return this.#end(new PathError('CLIENT_ERR_DIRECT_BAD_FRAME', 'text frame'));
      const bytes = rawToBytes(data);
      if (this.#waiter) {
        const w = this.#waiter;
        this.#waiter = undefined;
        w.resolve(bytes);
      } else if (this.#queue.length < LINK_EARLY_ENVELOPES_MAX) this.#queue.push(bytes);
      else this.#end(new PathError('CLIENT_ERR_DIRECT_BAD_FRAME', 'unexpected frames during handshake'));
    });
    ws.on('close', (code, reason) => {
      const text = reason.toString('utf8');
      if (code === DirectCloseCode.NOT_TRUSTED) this.#end(new PathError('CLIENT_ERR_DIRECT_REJECTED', text));
      else if (code === DirectCloseCode.WRONG_KEY || code === DirectCloseCode.BAD_PROOF)
        this.#end(new PathError('CLIENT_ERR_DIRECT_BAD_PROOF', `peer refused our proof: ${text}`));
      else this.#end(new PathError('CLIENT_ERR_DIRECT_BAD_FRAME', `closed during handshake (${code} ${text})`));
    });
    ws.on('error', (err) => this.#end(new PathError('CLIENT_ERR_DIRECT_CONNECT_FAILED', err.message)));
  }

  /** Envelopes that arrived in the same read as the last handshake frame. */
  drain(): Uint8Array[] {
    return this.#queue.splice(0);
  }

  next(): Promise<Uint8Array> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#ended) return Promise.reject(this.#ended);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  #end(err: Error): void {
    if (this.#ended) return;
    this.#ended = err;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(err);
  }
}

export interface HandshakeResult {
  readonly remoteKey: Uint8Array;
  /** Envelopes already received after the handshake; pass them to the DirectLink. */
  readonly early: Uint8Array[];
}

export interface HandshakeOptions {
  readonly suite: CryptoSuite;
  readonly identity: Identity;
  readonly timeoutMs?: number;
}

async function withDeadline<T>(ws: WebSocket, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new PathError('CLIENT_ERR_DIRECT_HANDSHAKE_TIMEOUT', `${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([run(), deadline]);
  } catch (err) {
    const code = err instanceof PathError ? (CLOSE_CODE_OF[err.code] ?? DirectCloseCode.BAD_FRAME) : 4000;
    if (ws.readyState === ws.OPEN) ws.close(code, err instanceof Error ? err.message.slice(0, 120) : 'error');
    setTimeout(() => ws.terminate(), 1_000).unref();
    throw err instanceof PathError ? err : new PathError('CLIENT_ERR_DIRECT_BAD_FRAME', String(err));
  } finally {
    clearTimeout(timer);
  }
}

/** Dialer half: the listener must prove `expectedKey`, else CLIENT_ERR_DIRECT_WRONG_KEY. */
export function dialerHandshake(
  ws: WebSocket,
  expectedKey: Uint8Array,
  opts: HandshakeOptions,
): Promise<HandshakeResult> {
  const reader = new MessageReader(ws);
  return withDeadline(ws, opts.timeoutMs ?? DIRECT_HANDSHAKE_TIMEOUT_MS, async () => {
    const dialerChallenge = randomBytes(DIRECT_CHALLENGE_BYTES);
    ws.send(encodeHandshake({ type: HandshakeType.HELLO, key: opts.identity.publicKey, challenge: dialerChallenge }));
    const hello = decodeHandshake(await reader.next(), HandshakeType.HELLO_PROOF);
    if (!bytesEqual(hello.key, expectedKey)) throw new PathError('CLIENT_ERR_DIRECT_WRONG_KEY');
    const t = {
      dialerChallenge,
      listenerChallenge: hello.challenge,
      dialerKey: opts.identity.publicKey,
      listenerKey: hello.key,
    };
    if (!verifyTranscript(opts.suite, hello.key, 'listener', t, hello.signature))
      throw new PathError('CLIENT_ERR_DIRECT_BAD_PROOF', 'listener signature');
    ws.send(
      encodeHandshake({ type: HandshakeType.PROOF, signature: signTranscript(opts.suite, opts.identity, 'dialer', t) }),
    );
    decodeHandshake(await reader.next(), HandshakeType.ACCEPT);
    ws.removeAllListeners('close');
    ws.removeAllListeners('error');
    return { remoteKey: hello.key, early: reader.drain() };
  });
}

/** Listener half: `acceptKey` decides who may connect (trusted peers); their proof must verify. */
export function listenerHandshake(
  ws: WebSocket,
  acceptKey: (key: Uint8Array) => boolean,
  opts: HandshakeOptions,
): Promise<HandshakeResult> {
  const reader = new MessageReader(ws);
  return withDeadline(ws, opts.timeoutMs ?? DIRECT_HANDSHAKE_TIMEOUT_MS, async () => {
    const hello = decodeHandshake(await reader.next(), HandshakeType.HELLO);
    if (!acceptKey(hello.key)) throw new PathError('CLIENT_ERR_DIRECT_REJECTED', 'key not trusted');
    const listenerChallenge = randomBytes(DIRECT_CHALLENGE_BYTES);
    const t = {
      dialerChallenge: hello.challenge,
      listenerChallenge,
      dialerKey: hello.key,
      listenerKey: opts.identity.publicKey,
    };
    ws.send(
      encodeHandshake({
        type: HandshakeType.HELLO_PROOF,
        key: opts.identity.publicKey,
        challenge: listenerChallenge,
        signature: signTranscript(opts.suite, opts.identity, 'listener', t),
      }),
    );
    const proof = decodeHandshake(await reader.next(), HandshakeType.PROOF);
    if (!verifyTranscript(opts.suite, hello.key, 'dialer', t, proof.signature))
      throw new PathError('CLIENT_ERR_DIRECT_BAD_PROOF', 'dialer signature');
    ws.send(encodeHandshake({ type: HandshakeType.ACCEPT }));
    ws.removeAllListeners('close');
    ws.removeAllListeners('error');
    return { remoteKey: hello.key, early: reader.drain() };
  });
}
