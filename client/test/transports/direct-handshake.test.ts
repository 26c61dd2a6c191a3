import type { AddressInfo } from 'node:net';
import { generateIdentity, randomBytes, toHex } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { DIRECT_MAX_MESSAGE_BYTES, DIRECT_WS_PATH } from '../../src/transports/direct-constants.js';
import { dialDirect } from '../../src/transports/direct-dialer.js';
import { isPathError, type PathError } from '../../src/transports/direct-errors.js';
import {
  decodeHandshake,
  encodeHandshake,
  HandshakeType,
  signTranscript,
  verifyTranscript,
} from '../../src/transports/direct-handshake.js';
import type { DirectLink } from '../../src/transports/direct-link.js';
import { DirectListener } from '../../src/transports/direct-listener.js';
import { dialerHandshake } from '../../src/transports/direct-session.js';
import { closed } from './conformance.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function rawServer(onConnection: (ws: WebSocket) => void): Promise<number> {
  return new Promise((resolve) => {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0, path: DIRECT_WS_PATH });
    server.on('connection', onConnection);
    server.on('listening', () => resolve((server.address() as AddressInfo).port));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const c of server.clients) c.terminate();
          server.close(() => r());
        }),
    );
  });
}

async function listen(opts: { trusted: Uint8Array[]; identity?: ReturnType<typeof generateIdentity> }) {
  const identity = opts.identity ?? generateIdentity(nodeSuite);
  const links: unknown[] = [];
  const rejects: PathError[] = [];
  const listener = new DirectListener({
    suite: nodeSuite,
    identity,
    host: '127.0.0.1',
    port: 0,
    acceptKey: (k) => opts.trusted.some((t) => toHex(t) === toHex(k)),
    onLink: (l) => links.push(l),
    onReject: (e) => rejects.push(e),
    handshakeTimeoutMs: 1_000,
  });
  const { port } = await listener.start();
  cleanups.push(() => listener.stop());
  return { identity, port, links, rejects };
}

async function dialError(p: Promise<unknown>): Promise<PathError> {
  try {
    await p;
  } catch (err) {
    if (isPathError(err)) return err;
    throw err;
  }
  throw new Error('dial succeeded');
}

describe('direct handshake', () => {
  it('fails closed when a different key answers at the address', async () => {
    const me = generateIdentity(nodeSuite);
    const expected = generateIdentity(nodeSuite);
    // The process at the address holds another key (and even trusts us).
    const other = await listen({ trusted: [me.publicKey] });
    const err = await dialError(
      dialDirect({
        suite: nodeSuite,
        identity: me,
        address: { host: '127.0.0.1', port: other.port },
        expectedKey: expected.publicKey,
      }),
    );
    expect(err.code).toBe('CLIENT_ERR_DIRECT_WRONG_KEY');
    await new Promise((r) => setTimeout(r, 100));
    expect(other.links).toHaveLength(0);
  });

  it('fails closed when an impostor claims the expected key but cannot sign for it', async () => {
    const me = generateIdentity(nodeSuite);
    const victim = generateIdentity(nodeSuite);
    const impostor = generateIdentity(nodeSuite);
    const port = await rawServer((ws) => {
      ws.once('message', (data) => {
        const hello = decodeHandshake(new Uint8Array(data as Buffer), HandshakeType.HELLO);
        const challenge = randomBytes(32);
        const t = {
          dialerChallenge: hello.challenge,
          listenerChallenge: challenge,
          dialerKey: hello.key,
          listenerKey: victim.publicKey,
        };
        ws.send(
          encodeHandshake({
            type: HandshakeType.HELLO_PROOF,
            key: victim.publicKey,
            challenge,
            signature: signTranscript(nodeSuite, impostor, 'listener', t),
          }),
        );
      });
    });
    const err = await dialError(
      dialDirect({
        suite: nodeSuite,
        identity: me,
        address: { host: '127.0.0.1', port },
        expectedKey: victim.publicKey,
      }),
    );
    expect(err.code).toBe('CLIENT_ERR_DIRECT_BAD_PROOF');
  });

  it('refuses a dialer whose key is not trusted, and one that cannot prove its key', async () => {
    const stranger = generateIdentity(nodeSuite);
    const friend = generateIdentity(nodeSuite);
    const l = await listen({ trusted: [friend.publicKey] });
    const err = await dialError(
      dialDirect({
        suite: nodeSuite,
        identity: stranger,
        address: { host: '127.0.0.1', port: l.port },
        expectedKey: l.identity.publicKey,
      }),
    );
    expect(err.code).toBe('CLIENT_ERR_DIRECT_REJECTED');

    // A raw client that claims the friend's key and signs with its own.
    const ws = new WebSocket(`ws://127.0.0.1:${l.port}${DIRECT_WS_PATH}`);
    await new Promise((r) => ws.once('open', r));
    const challenge = randomBytes(32);
    ws.send(encodeHandshake({ type: HandshakeType.HELLO, key: friend.publicKey, challenge }));
    const reply = await new Promise<Buffer>((r) => ws.once('message', (d) => r(d as Buffer)));
    const hp = decodeHandshake(new Uint8Array(reply), HandshakeType.HELLO_PROOF);
    const t = {
      dialerChallenge: challenge,
      listenerChallenge: hp.challenge,
      dialerKey: friend.publicKey,
      listenerKey: hp.key,
    };
    // The listener's own signature reflected back as the dialer's proof must not pass either.
    ws.send(encodeHandshake({ type: HandshakeType.PROOF, signature: hp.signature }));
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    expect(code).toBe(4001);
    expect(verifyTranscript(nodeSuite, hp.key, 'listener', t, hp.signature)).toBe(true);
    expect(l.links).toHaveLength(0);
    expect(l.rejects.map((e) => e.code)).toEqual(['CLIENT_ERR_DIRECT_REJECTED', 'CLIENT_ERR_DIRECT_BAD_PROOF']);
  });

  it('times out a listener that never answers, and a dialer that never speaks', async () => {
    const port = await rawServer(() => {});
    const err = await dialError(
      dialDirect({
        suite: nodeSuite,
        identity: generateIdentity(nodeSuite),
        address: { host: '127.0.0.1', port },
        expectedKey: generateIdentity(nodeSuite).publicKey,
        handshakeTimeoutMs: 300,
      }),
    );
    expect(err.code).toBe('CLIENT_ERR_DIRECT_HANDSHAKE_TIMEOUT');

    const l = await listen({ trusted: [] });
    const ws = new WebSocket(`ws://127.0.0.1:${l.port}${DIRECT_WS_PATH}`);
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    expect(code).toBe(4003);
    expect(l.rejects.map((e) => e.code)).toEqual(['CLIENT_ERR_DIRECT_HANDSHAKE_TIMEOUT']);
  });

  it('rejects garbage and text during the handshake with typed errors, and keeps serving', async () => {
    const friend = generateIdentity(nodeSuite);
    const l = await listen({ trusted: [friend.publicKey] });
    for (const payload of [Buffer.from([9, 9, 9]), Buffer.alloc(0), 'hello']) {
      const ws = new WebSocket(`ws://127.0.0.1:${l.port}${DIRECT_WS_PATH}`);
      await new Promise((r) => ws.once('open', r));
      ws.send(payload);
      const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
      expect(code).toBe(4000);
    }
    expect(l.rejects.every((e) => e.code === 'CLIENT_ERR_DIRECT_BAD_FRAME')).toBe(true);
    const link = await dialDirect({
      suite: nodeSuite,
      identity: friend,
      address: { host: '127.0.0.1', port: l.port },
      expectedKey: l.identity.publicKey,
    });
    expect(link.isOpen).toBe(true);
    link.close();
  });

  it('reports an unreachable address as CLIENT_ERR_DIRECT_CONNECT_FAILED', async () => {
    const port = await rawServer(() => {});
    for (const c of cleanups.splice(0)) await c();
    const err = await dialError(
      dialDirect({
        suite: nodeSuite,
        identity: generateIdentity(nodeSuite),
        address: { host: '127.0.0.1', port },
        expectedKey: generateIdentity(nodeSuite).publicKey,
      }),
    );
    expect(err.code).toBe('CLIENT_ERR_DIRECT_CONNECT_FAILED');
  });

  it('closes a link whose peer sends an oversized or text frame, without crashing', async () => {
    const friend = generateIdentity(nodeSuite);
    for (const [bad, reason] of [
      [Buffer.alloc(DIRECT_MAX_MESSAGE_BYTES + 1), 'direct: frame too large'],
      ['not binary', 'direct: text frame from peer'],
    ] as const) {
      const links: DirectLink[] = [];
      const l = await listen({ trusted: [friend.publicKey] });
      // A rule-breaking peer: a real handshake on a raw socket, then a bad frame.
      const ws = new WebSocket(`ws://127.0.0.1:${l.port}${DIRECT_WS_PATH}`);
      await new Promise((r) => ws.once('open', r));
      await dialerHandshake(ws, l.identity.publicKey, { suite: nodeSuite, identity: friend });
      await new Promise((r) => setTimeout(r, 20));
      links.push(...(l.links as DirectLink[]));
      expect(links).toHaveLength(1);
      const gone = closed(links[0]!, 5_000);
      ws.send(bad);
      expect(await gone).toBe(reason);
    }
  });

  it('decodes any byte string into a frame or a CLIENT_ERR_DIRECT_BAD_FRAME, never anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(1, 2, 3, 4), (bytes, type) => {
        try {
          decodeHandshake(bytes, type as 1 | 2 | 3 | 4);
        } catch (err) {
          expect(isPathError(err) && err.code === 'CLIENT_ERR_DIRECT_BAD_FRAME').toBe(true);
        }
      }),
    );
    const key = randomBytes(32);
    const challenge = randomBytes(32);
    expect(decodeHandshake(encodeHandshake({ type: 1, key, challenge }), 1)).toEqual({ type: 1, key, challenge });
  });
});
