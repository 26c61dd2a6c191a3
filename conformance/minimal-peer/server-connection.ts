// The client side of one rendezvous connection (docs/protocol.md "Rendezvous server
// behaviour"): WebSocket to /v1/ws, CHALLENGE → HELLO → WELCOME, then RELAY frames out and
// DELIVER frames in. Every RELAY's frameId gets exactly one answer (ACK, PEER_OFFLINE or ERROR).

import WebSocket from 'ws';
import { PeerError } from './errors.js';
import { decodeFrame, encodeFrame, type Frame } from './frames.js';
import type { Identity } from './identity.js';
import { originOf, signHello } from './server-auth.js';

/** Longest wait for WELCOME after dialing (the server's own AUTH_DEADLINE_MS is 10 s). */
const CONNECT_TIMEOUT_MS = 10_000;
/** Longest wait for the answer to one RELAY before it counts as lost. */
const RELAY_ANSWER_TIMEOUT_MS = 10_000;
/** RELAYs awaiting their answer; more is a runaway sender (limit: one map, one bound). */
const MAX_PENDING_RELAYS = 4096;
/** Largest frame we accept from the server (DEFAULT_MAX_FRAME_BYTES, docs/limits.md). */
const MAX_FRAME_BYTES = 65_536;

export type RelayAnswer =
  | { kind: 'delivered' }
  | { kind: 'queued' }
  | { kind: 'offline' }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'lost' };

export interface ConnectionEvents {
  /**
   * A peer packet handed over by DELIVER; `from` is the server-authenticated sender, `channel`
   * 0 if it came as SIGNAL (path negotiation only), 1 if as RELAY (the session layer).
   */
  onDeliver(from: Uint8Array, packet: Uint8Array, channel: number): void;
  /** A frame from the server we could not decode (kept running; logged). */
  onBadFrame(code: string, detail: string): void;
  onClose(): void;
}

export class ServerConnection {
  private nextFrameId = 1;
  private readonly pending = new Map<number, { resolve: (a: RelayAnswer) => void; timer: NodeJS.Timeout }>();
  private closed = false;

  private constructor(
    private readonly socket: WebSocket,
    readonly welcome: Record<string, unknown>,
    private readonly events: ConnectionEvents,
  ) {
    socket.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    socket.on('close', () => this.onClosed());
    socket.on('error', () => this.onClosed());
  }

  /** Dial, authenticate, resolve with the connection once WELCOME arrived. */
  static connect(url: string, identity: Identity, events: ConnectionEvents): Promise<ServerConnection> {
    const origin = originOf(url);
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false, maxPayload: MAX_FRAME_BYTES });
      socket.binaryType = 'nodebuffer';
      let settled = false;
      const fail = (error: PeerError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.terminate();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new PeerError('CLIENT_ERR_TIMEOUT', 'no WELCOME in time')),
        CONNECT_TIMEOUT_MS,
      );
      socket.on('error', (error) => fail(new PeerError('CLIENT_ERR_SERVER_UNREACHABLE', error.message)));
      socket.on('close', (code) =>
        fail(new PeerError('CLIENT_ERR_SERVER_REJECTED', `closed with ${code} before WELCOME`)),
      );
      socket.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) return fail(new PeerError('CLIENT_ERR_SERVER_REJECTED', 'text message from the server'));
        let frame: Frame;
        try {
          frame = decodeFrame(new Uint8Array(data));
        } catch (error) {
          return fail(error instanceof PeerError ? error : new PeerError('PROTO_ERR_BAD_ENCODING', String(error)));
        }
        if (frame.type === 'challenge') {
          // We sign the origin WE dialed and our own clock, never what the server claims.
          const timestamp = Date.now();
          const signature = signHello(identity, frame.challenge, origin, timestamp);
          socket.send(encodeFrame({ type: 'hello', key: identity.publicKey, timestamp, signature, token: '' }));
        } else if (frame.type === 'welcome') {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          socket.removeAllListeners();
          resolve(new ServerConnection(socket, frame.info, events));
        } else if (frame.type === 'error') {
          // The refusal's code (RDV_ERR_AUTH_FAILED, …) is the answer to `connect`.
          fail(new PeerError(frame.code, frame.message));
        }
      });
    });
  }

  /** Send one peer packet to `to` in a RELAY frame and wait for its one answer. */
  relay(to: Uint8Array, packet: Uint8Array): Promise<RelayAnswer> {
    if (this.closed) return Promise.resolve({ kind: 'lost' });
    if (this.pending.size >= MAX_PENDING_RELAYS) {
      return Promise.resolve({ kind: 'error', code: 'CLIENT_ERR_BUSY', message: 'too many relays in flight' });
    }
    const frameId = this.nextFrameId;
    this.nextFrameId = this.nextFrameId === 0xffffffff ? 1 : this.nextFrameId + 1;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.answer(frameId, { kind: 'lost' }), RELAY_ANSWER_TIMEOUT_MS);
      this.pending.set(frameId, { resolve, timer });
      this.sendFrame(encodeFrame({ type: 'relay', frameId, to, packet }));
    });
  }

  /** A socket that is closing drops the frame; its RELAY then gets no answer ('lost'). */
  private sendFrame(bytes: Uint8Array): void {
    try {
      this.socket.send(bytes, () => {});
    } catch {
      this.onClosed();
    }
  }

  close(): void {
    if (this.closed) return;
    this.socket.close(1000);
    this.onClosed();
  }

  private answer(frameId: number, answer: RelayAnswer): void {
    const waiter = this.pending.get(frameId);
    if (!waiter) return;
    this.pending.delete(frameId);
    clearTimeout(waiter.timer);
    waiter.resolve(answer);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      this.events.onBadFrame('RDV_ERR_TEXT_FRAME', 'text message from the server');
      return;
    }
    let frame: Frame;
    try {
      frame = decodeFrame(new Uint8Array(data));
    } catch (error) {
      this.events.onBadFrame(error instanceof PeerError ? error.code : 'PROTO_ERR_BAD_ENCODING', String(error));
      return;
    }
    switch (frame.type) {
      case 'deliver':
        this.events.onDeliver(frame.from, frame.packet, frame.channel);
        break;
      case 'ack':
        this.answer(frame.frameId, { kind: frame.status === 1 ? 'queued' : 'delivered' });
        break;
      case 'peer-offline':
        this.answer(frame.frameId, { kind: 'offline' });
        break;
      case 'error':
        this.answer(frame.frameId, { kind: 'error', code: frame.code, message: frame.message });
        break;
      case 'ping':
        this.sendFrame(encodeFrame({ type: 'pong', nonce: frame.nonce }));
        break;
      default:
        // PONG, RESTARTING, PREKEY_BUNDLE: nothing a minimal peer needs.
        break;
    }
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    for (const frameId of [...this.pending.keys()]) this.answer(frameId, { kind: 'lost' });
    this.events.onClose();
  }
}
