/**
 * A minimal protocol peer for the cluster test, built only from @p2p-comm/protocol: it dials
 * wss://…/v1/ws, answers the CHALLENGE with a signed HELLO, and then sends and awaits frames.
 */
import { buildHello, decodeFrame, encodeFrame, type Frame, FrameType, type Identity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import WebSocket from 'ws';

/** Frames buffered before a test reads them, frames (a test reads a handful). */
const INBOX_MAX_FRAMES = 1_000;

export class TestPeer {
  readonly #inbox: Frame[] = [];
  readonly #waiters = new Set<() => void>();
  #closed: { code: number; reason: string } | null = null;
  welcome: Record<string, unknown> = {};

  private constructor(
    readonly identity: Identity,
    readonly ws: WebSocket,
  ) {
    ws.on('message', (data: Buffer) => {
      let frame: Frame;
      try {
        frame = decodeFrame(new Uint8Array(data));
      } catch (err) {
        this.#closed = { code: -1, reason: `undecodable frame: ${(err as Error).message}` };
        ws.terminate();
        return;
      }
      if (frame.type === FrameType.PING) ws.send(encodeFrame({ type: FrameType.PONG, nonce: frame.nonce }));
      else if (this.#inbox.length < INBOX_MAX_FRAMES) this.#inbox.push(frame);
      this.#wake();
    });
    ws.on('error', (err) => {
      this.#closed ??= { code: -1, reason: err.message };
      this.#wake();
    });
    ws.on('close', (code, reason) => {
      this.#closed ??= { code, reason: reason.toString() };
      this.#wake();
    });
  }

  #wake() {
    for (const w of this.#waiters) w();
  }

  /** Connect, authenticate and wait for WELCOME. `origin` is the host:port the URL names. */
  static async connect(opts: { url: string; origin: string; ca: string; identity: Identity; token?: string }) {
    const ws = new WebSocket(opts.url, { ca: opts.ca, handshakeTimeout: 5_000 });
    const peer = new TestPeer(opts.identity, ws);
    const challenge = await peer.next(FrameType.CHALLENGE);
    peer.send(buildHello(nodeSuite, opts.identity, challenge.challenge, opts.origin, { token: opts.token }));
    const welcome = await peer.next(FrameType.WELCOME);
    peer.welcome = JSON.parse(welcome.info) as Record<string, unknown>;
    return peer;
  }

  send(frame: Frame) {
    this.ws.send(encodeFrame(frame));
  }

  /** The next frame of `type` (frames of other types before it are discarded). */
  async next<T extends Frame['type']>(type: T, timeoutMs = 5_000): Promise<Extract<Frame, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#inbox.findIndex((f) => f.type === type || f.type === FrameType.ERROR);
      if (i >= 0) {
        const [frame] = this.#inbox.splice(0, i + 1).slice(-1);
        if (frame!.type === FrameType.ERROR && type !== FrameType.ERROR)
          throw new Error(`server error ${frame!.code}: ${frame!.message}`);
        return frame as Extract<Frame, { type: T }>;
      }
      if (this.#closed)
        throw new Error(`socket closed (${this.#closed.code} ${this.#closed.reason}) awaiting 0x${type.toString(16)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out awaiting frame 0x${type.toString(16)}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  /** Wait for the socket to close, up to `timeoutMs`. */
  async closed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (!this.#closed) throw new Error('socket still open');
    return this.#closed;
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}
