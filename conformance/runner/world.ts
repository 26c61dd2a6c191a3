/**
 * What one script runs against: our real rendezvous server (in this process, memory broker,
 * 127.0.0.1), the tampering proxy the peer dials, our real client (the SDK, its own temp home,
 * dialing the server directly), a stranger client made on demand, and the peer process. Every
 * script gets a fresh world, so no state leaks from one transcript into the next.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type RunningServer, startServer } from '@p2p-comm/rendezvous';
import { createClient, type P2PClient } from '../../client/src/sdk/client.js';
import { EventLog } from './event-log.js';
import { PeerProcess } from './peer-process.js';
import { TamperingProxy } from './proxy.js';

/**
 * Our client's handshake timers, shortened so a session the tampering broke is rebuilt in
 * well under a step's timeout (the defaults wait seconds between retries).
 */
const CLIENT_SESSION_TIMINGS = { handshakeTimeoutMs: 1_000, retryInitialMs: 200, retryMaxMs: 1_000 };
/** Attempts at binding the server to a free port (another process may take the one we picked). */
const SERVER_BIND_ATTEMPTS = 3;

export interface WorldOptions {
  peerCommand: string;
  /** Bound for the server, client and peer start-up, ms. */
  startTimeoutMs: number;
}

export class World {
  server!: RunningServer;
  serverUrl = '';
  proxy!: TamperingProxy;
  proxyUrl = '';
  client!: P2PClient;
  readonly clientLog = new EventLog();
  peer!: PeerProcess;
  peerKey = '';
  #stranger: P2PClient | null = null;
  readonly #homes: string[] = [];
  #clientHome = '';

  constructor(readonly opts: WorldOptions) {}

  get clientKey(): string {
    this.#clientKey ||= this.client.id().key;
    return this.#clientKey;
  }
  #clientKey = '';

  /** Server and proxy (the proxy first: the server must serve the proxy's origin too). */
  async startNetwork(): Promise<void> {
    this.proxy = new TamperingProxy();
    this.proxyUrl = await this.proxy.start();
    let lastErr: unknown;
    for (let i = 0; i < SERVER_BIND_ATTEMPTS; i++) {
      const port = await freePort();
      try {
        this.server = await startServer(
          loadConfig({
            HOST: '127.0.0.1',
            PORT: String(port),
            STUN_PORT: '0',
            STUN_ALT_PORT: '0',
            LOG_LEVEL: 'silent',
            PUBLIC_ORIGINS: `127.0.0.1:${port},127.0.0.1:${this.proxy.port}`,
          }),
        );
        this.serverUrl = `ws://127.0.0.1:${this.server.port}`;
        this.proxy.target = this.serverUrl;
        return;
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  async startClient(): Promise<void> {
    this.#clientHome = mkdtempSync(join(tmpdir(), 'p2p-conformance-'));
    this.#homes.push(this.#clientHome);
    await this.#startClientIn(this.#clientHome);
  }

  /** Stop our client (its home keeps identity, trust, outbox and replay state). */
  async stopClient(): Promise<void> {
    await this.client.stop();
  }

  /** Start our client again from the same home, as a process restart would. */
  async restartClient(): Promise<void> {
    await this.#startClientIn(this.#clientHome);
  }

  async #startClientIn(home: string): Promise<void> {
    const log = this.clientLog;
    // Listeners go on before start: what the mailbox holds is delivered right after WELCOME.
    this.client = await this.#newClient('Runner', home, (c) => {
      c.on('consent.request', (r) => log.push({ event: 'consent.request', peer: r.key, requestId: r.requestId }));
      c.on('peer.status', (s) => {
        if (s.state === 'trusted') log.push({ event: 'trusted', peer: s.key });
        else if (s.state === 'revoked-by-peer') log.push({ event: 'revoked', peer: s.key });
        else if (s.state === 'denied') log.push({ event: 'declined', peer: s.key });
      });
      c.on('message.received', (m) => log.push({ event: 'message', peer: m.from, msgId: m.id, text: m.text ?? null }));
      c.on('message.delivered', (d) => log.push({ event: 'acked', peer: d.to, msgId: d.id }));
      c.on('message.failed', (d) => log.push({ event: 'failed', peer: d.to, msgId: d.id, code: d.code }));
      c.on('rejected', (r) => log.push({ event: 'refused', peer: r.from, code: r.code }));
    });
  }

  /** A second real client the peer never consented to (started on first use). */
  async stranger(): Promise<P2PClient> {
    this.#stranger ??= await this.#newClient('Stranger');
    return this.#stranger;
  }

  startPeer(): PeerProcess {
    this.peer = new PeerProcess(this.opts.peerCommand);
    return this.peer;
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<void> | void) => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    if (this.peer) await attempt(() => this.peer.stop(2_000));
    if (this.client) await attempt(() => this.client.stop());
    if (this.#stranger) await attempt(() => this.#stranger!.stop());
    if (this.proxy) await attempt(() => this.proxy.close());
    if (this.server) await attempt(() => this.server.close());
    for (const h of this.#homes) rmSync(h, { recursive: true, force: true });
  }

  async #newClient(name: string, existingHome?: string, wire?: (c: P2PClient) => void): Promise<P2PClient> {
    const home = existingHome ?? mkdtempSync(join(tmpdir(), 'p2p-conformance-'));
    if (!existingHome) this.#homes.push(home);
    const c = createClient({
      home,
      server: this.serverUrl,
      paths: { webrtc: false },
      sessionTimings: CLIENT_SESSION_TIMINGS,
    });
    wire?.(c);
    await c.start();
    c.setName(name);
    await c.waitForServer(this.opts.startTimeoutMs);
    return c;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
