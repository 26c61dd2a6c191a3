/**
 * The tampering proxy: a WebSocket pipe between the peer under test and the real rendezvous
 * server, owned by the runner. Frames pass untouched until a script arms a one-shot rule; the
 * next frame the rule matches is altered (a bit flipped in the sealed part, the peer-packet
 * version changed), duplicated (a replay) or left alone, and the rule reports that it fired.
 * The peer dials the proxy's URL; the server serves the proxy's origin too (PUBLIC_ORIGINS), so
 * the peer's signed hello is the one it would send to the server itself.
 */

import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import {
  Frame,
  flipSealed,
  type PacketMatch,
  packetMatches,
  peerPacketOf,
  setDeliverSender,
  setPacketVersion,
} from './tamper.js';

/** Frames buffered per connection while the upstream socket opens, count (a peer sends one hello, then waits). */
const PENDING_FRAMES_MAX = 64;
/** WELCOME (frame type 0x03): the server accepted the peer's hello. */
const WELCOME = 0x03;

export type Direction = 'toPeer' | 'fromPeer';
export type TamperAction = 'flipSealed' | 'replay' | 'version' | 'capture' | 'spoofSender';

export interface TamperRule {
  dir: Direction;
  match: PacketMatch;
  action: TamperAction;
  fired: boolean;
}

export class TamperingProxy {
  readonly #wss: WebSocketServer;
  /** The server's ws:// URL; set before the peer dials (the server starts after the proxy). */
  target = '';
  readonly #pairs = new Set<{ peer: WebSocket; upstream: WebSocket }>();
  #rule: TamperRule | null = null;
  /** The frame the last `capture` rule let through, and its direction (replayed on request). */
  #captured: { dir: Direction; frame: Uint8Array } | null = null;
  /** WELCOME frames passed to the peer: a count the runner watches to see a (re)connect complete. */
  welcomes = 0;
  /** Peer connections closed (by either side). */
  closes = 0;
  port = 0;

  constructor() {
    this.#wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    this.#wss.on('connection', (ws, req) => this.#pipe(ws, req));
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.#wss.once('listening', resolve);
      this.#wss.once('error', reject);
    });
    this.port = (this.#wss.address() as { port: number }).port;
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Connections from the peer that are open now. */
  get open(): number {
    let n = 0;
    for (const p of this.#pairs) if (p.peer.readyState === WebSocket.OPEN) n++;
    return n;
  }

  /** Arm a one-shot rule (replacing any unfired one); returns it so the script can see it fire. */
  arm(dir: Direction, match: PacketMatch, action: TamperAction): TamperRule {
    this.#rule = { dir, match, action, fired: false };
    return this.#rule;
  }

  disarm(): void {
    this.#rule = null;
  }

  /**
   * Send the captured frame again, in its direction (to the peer, or to the server as if the peer
   * sent it), on the connections open now. False when nothing was captured or nothing is open.
   */
  replayCaptured(): boolean {
    const c = this.#captured;
    if (!c) return false;
    let sent = false;
    for (const p of this.#pairs) {
      const ws = c.dir === 'toPeer' ? p.peer : p.upstream;
      if (ws.readyState === WebSocket.OPEN) {
        ws.send(Uint8Array.from(c.frame));
        sent = true;
      }
    }
    return sent;
  }

  /** Send raw bytes to every connected peer as if the server sent them. False when none is connected. */
  inject(frame: Uint8Array): boolean {
    let sent = false;
    for (const p of this.#pairs)
      if (p.peer.readyState === WebSocket.OPEN) {
        p.peer.send(frame);
        sent = true;
      }
    return sent;
  }

  async close(): Promise<void> {
    for (const p of this.#pairs) {
      p.peer.terminate();
      p.upstream.terminate();
    }
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  #pipe(peer: WebSocket, req: IncomingMessage): void {
    // Same path and Host as the peer dialed, so the server judges the hello the peer signed.
    const upstream = new WebSocket(`${this.target}${req.url ?? '/'}`, {
      perMessageDeflate: false,
      headers: { host: req.headers.host ?? '' },
    });
    const pair = { peer, upstream };
    this.#pairs.add(pair);
    const pending: Buffer[] = [];
    peer.on('message', (data: Buffer, isBinary) => {
      if (!isBinary) {
        // Text frames pass as text: the server's answer to them is part of what is tested.
        if (upstream.readyState === WebSocket.OPEN) upstream.send(data.toString('utf8'));
        return;
      }
      if (upstream.readyState === WebSocket.OPEN) this.#forward(data, 'fromPeer', upstream);
      else if (pending.length < PENDING_FRAMES_MAX) pending.push(data);
    });
    upstream.on('open', () => {
      for (const f of pending.splice(0)) this.#forward(f, 'fromPeer', upstream);
    });
    upstream.on('message', (data: Buffer, isBinary) => {
      if (peer.readyState !== WebSocket.OPEN) return;
      if (!isBinary) {
        peer.send(data.toString('utf8'));
        return;
      }
      if (data[0] === WELCOME) this.welcomes++;
      this.#forward(data, 'toPeer', peer);
    });
    const end = (code: number) => {
      if (!this.#pairs.delete(pair)) return;
      this.closes++;
      // 1005/1006 are reserved (no status / abnormal): close plainly then.
      const c = code === 1005 || code === 1006 || code < 1000 ? 1000 : code;
      if (peer.readyState === WebSocket.OPEN) peer.close(c);
      else peer.terminate();
      if (upstream.readyState === WebSocket.OPEN) upstream.close(c);
      else upstream.terminate();
    };
    peer.on('close', end);
    upstream.on('close', end);
    peer.on('error', () => end(1011));
    upstream.on('error', () => end(1011));
  }

  #forward(data: Buffer, dir: Direction, to: WebSocket): void {
    const frame = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const rule = this.#rule;
    const view = rule && !rule.fired && rule.dir === dir ? peerPacketOf(frame) : null;
    if (!rule || !view || !packetMatches(view.packet, rule.match)) {
      to.send(frame);
      return;
    }
    rule.fired = true;
    this.#rule = null;
    switch (rule.action) {
      case 'flipSealed':
        to.send(flipSealed(frame, view));
        return;
      case 'version':
        to.send(setPacketVersion(frame, view));
        return;
      case 'replay':
        to.send(frame);
        to.send(Uint8Array.from(frame));
        return;
      case 'capture':
        this.#captured = { dir, frame: Uint8Array.from(frame) };
        to.send(frame);
        return;
      case 'spoofSender':
        // Only a DELIVER names a sender (the server's word); on other frames it passes unaltered.
        to.send(view.frameType === Frame.DELIVER ? setDeliverSender(frame, randomBytes(32)) : frame);
        return;
    }
  }
}
