/** Test helpers: a real WebSocket client speaking the frame protocol, and app start/stop. */
import { createServer } from 'node:net';
import {
  buildHello,
  decodeFrame,
  EnvelopeType,
  encodeFrame,
  type Frame,
  FrameType,
  generateIdentity,
  type Identity,
  sealEnvelope,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import pino from 'pino';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { type AppDeps, buildApp, type RendezvousApp } from '../src/app.js';
import { type Config, loadConfig } from '../src/config.js';

export const quietLog = pino({ level: 'silent' });

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    STUN_PORT: '0',
    LOG_LEVEL: 'silent',
    DRAIN_TIMEOUT_MS: '2000',
    ...env,
  });
}

export async function startApp(
  env: Record<string, string> = {},
  deps: AppDeps = {},
): Promise<{ app: RendezvousApp; url: string; port: number }> {
  const app = buildApp(testConfig(env), { logger: quietLog, ...deps });
  const { port } = await app.listen();
  return { app, url: `ws://127.0.0.1:${port}/v1/ws`, port };
}

/**
 * Wait until every key's presence claim is visible through `app`'s broker. The server sends
 * WELCOME before its claim lands in the broker (one round trip later): in between, another
 * instance finds no claim and answers PEER_OFFLINE (or mailboxes). A fixed sleep raced that
 * on a loaded machine.
 */
export async function presenceLanded(
  app: RendezvousApp,
  keys: readonly Uint8Array[],
  timeoutMs = 5_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (const key of keys) {
    const b64 = Buffer.from(key).toString('base64url');
    while ((await app.broker.lookup(b64)) === null) {
      if (Date.now() > end) throw new Error(`presence of ${b64} not in the broker after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

/**
 * What a test file starts (apps, clients, redis-servers), closed after each test: clients first,
 * then the apps they were connected to, then the Redis the apps used.
 */
export function closeAfterEach(): {
  apps: RendezvousApp[];
  clients: TestClient[];
  redises: { stop(): Promise<void> }[];
} {
  const apps: RendezvousApp[] = [];
  const clients: TestClient[] = [];
  const redises: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await Promise.all(redises.splice(0).map((r) => r.stop()));
  });
  return { apps, clients, redises };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const p = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(p));
    });
  });
}

type Waiter = { pred: (f: Frame) => boolean; resolve: (f: Frame) => void; reject: (e: Error) => void };

/** A client that records every frame and lets tests wait for the next matching one. */
export class TestClient {
  readonly frames: Frame[] = [];
  private waiters: Waiter[] = [];
  closeCode: number | null = null;
  closed: Promise<number>;
  challenge: (Frame & { type: typeof FrameType.CHALLENGE }) | null = null;
  welcome: Record<string, unknown> | null = null;

  private constructor(
    readonly ws: WebSocket,
    readonly identity: Identity,
  ) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code) => {
        this.closeCode = code;
        for (const w of this.waiters) w.reject(new Error(`socket closed (${code}) while waiting`));
        this.waiters = [];
        resolve(code);
      });
    });
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      let f: Frame;
      try {
        f = decodeFrame(new Uint8Array(data), 1 << 20);
      } catch {
        return;
      }
      const i = this.waiters.findIndex((w) => w.pred(f));
      if (i >= 0) {
        const [w] = this.waiters.splice(i, 1);
        w!.resolve(f);
      } else this.frames.push(f);
    });
  }

  /** Connect and wait for CHALLENGE (no hello yet). */
  static async open(
    url: string,
    identity = generateIdentity(nodeSuite),
    opts: { headers?: Record<string, string>; autoPong?: boolean } = {},
  ): Promise<TestClient> {
    const ws = new WebSocket(url, {
      perMessageDeflate: false,
      headers: opts.headers ?? {},
      autoPong: opts.autoPong ?? true,
    });
    const c = new TestClient(ws, identity);
    const ch = await c.next((f) => f.type === FrameType.CHALLENGE);
    c.challenge = ch as Frame & { type: typeof FrameType.CHALLENGE };
    return c;
  }

  /** Connect and authenticate; resolves after WELCOME. */
  static async connect(url: string, identity = generateIdentity(nodeSuite), token = ''): Promise<TestClient> {
    const c = await TestClient.open(url, identity);
    c.sendHello({ token });
    const w = await c.next((f) => f.type === FrameType.WELCOME || f.type === FrameType.ERROR);
    if (w.type !== FrameType.WELCOME) throw new Error(`auth failed: ${JSON.stringify(w)}`);
    c.welcome = JSON.parse(w.info) as Record<string, unknown>;
    return c;
  }

  get key(): Uint8Array {
    return this.identity.publicKey;
  }

  sendHello(opts: { token?: string; origin?: string; now?: number; identity?: Identity } = {}): void {
    const origin = opts.origin ?? new URL(this.ws.url).host;
    const hello = buildHello(nodeSuite, opts.identity ?? this.identity, this.challenge!.challenge, origin, {
      token: opts.token ?? '',
      ...(opts.now !== undefined ? { now: opts.now } : {}),
    });
    this.send(encodeFrame(hello));
  }

  send(bytes: Uint8Array): void {
    this.ws.send(bytes);
  }

  envelope(to: Uint8Array, text = 'hi'): Uint8Array {
    return sealEnvelope(nodeSuite, {
      type: EnvelopeType.DATA,
      sender: this.identity,
      recipient: to,
      plaintext: new TextEncoder().encode(text),
    });
  }

  signal(frameId: number, to: Uint8Array, envelope = this.envelope(to)): void {
    this.send(encodeFrame({ type: FrameType.SIGNAL, frameId, to, envelope }));
  }

  relay(frameId: number, to: Uint8Array, envelope = this.envelope(to)): void {
    this.send(encodeFrame({ type: FrameType.RELAY, frameId, to, envelope }));
  }

  /** The next frame matching `pred` (already received or future), within `ms`. */
  next(pred: (f: Frame) => boolean = () => true, ms = 5000): Promise<Frame> {
    const i = this.frames.findIndex(pred);
    if (i >= 0) return Promise.resolve(this.frames.splice(i, 1)[0]!);
    if (this.closeCode !== null) return Promise.reject(new Error(`socket closed (${this.closeCode})`));
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        resolve: (f) => {
          clearTimeout(t);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error('timed out waiting for a frame'));
      }, ms);
      this.waiters.push(w);
    });
  }

  /** Next frame that answers `frameId` (ACK, PEER_OFFLINE or ERROR). */
  answer(frameId: number, ms = 5000): Promise<Frame> {
    return this.next(
      (f) =>
        (f.type === FrameType.ACK || f.type === FrameType.PEER_OFFLINE || f.type === FrameType.ERROR) &&
        f.frameId === frameId,
      ms,
    );
  }

  /** Wait for an ERROR frame then the close; returns both. */
  async errorAndClose(ms = 5000): Promise<{ code: string; close: number }> {
    const e = await this.next((f) => f.type === FrameType.ERROR, ms);
    const close = await this.closed;
    return { code: e.type === FrameType.ERROR ? e.code : '', close };
  }

  close(): Promise<number> {
    if (this.closeCode === null) this.ws.close();
    return this.closed;
  }
}
