/**
 * One generator process's slice of simulated peers: connects them (with authentication),
 * then drives closed-loop throughput, paced round trips, or idles with heartbeats, and
 * counts every message so that a lost, misrouted or refused one is reported, never hidden.
 */
import { EnvelopeType, generateIdentity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { CONNECT_PHASE_TIMEOUT_MS, DRAIN_TIMEOUT_MS, HANDSHAKE_TIMEOUT_MS, MAX_ERROR_CODES } from '../constants.js';
import { LoadtestError } from '../errors.js';
import { bareProtocol } from '../protocols/bare.js';
import { peerjsProtocol } from '../protocols/peerjs.js';
import { rendezvousProtocol } from '../protocols/rendezvous.js';
import type { OutboundMessage, PeerId, PeerProtocol, ProtocolName } from '../protocols/types.js';
import { Reservoir } from '../stats.js';
import { RawWs } from '../ws/raw-client.js';
import type { ConnectStats, MessageSpec, RunMode, RunStats, ShardInit } from './types.js';

const PROTOCOLS: Record<ProtocolName, PeerProtocol> = {
  rendezvous: rendezvousProtocol,
  bare: bareProtocol,
  peerjs: peerjsProtocol,
};

/** Envelope overhead: header 142 + AEAD tag 16 + signature 64, bytes. */
const ENVELOPE_OVERHEAD_BYTES = 222;

interface SimPeer {
  readonly id: PeerId;
  readonly endpoint: number;
  ws: RawWs | null;
  partner: SimPeer | null;
  /** Messages this peer cycles through when it sends to its partner. */
  outs: OutboundMessage[];
  specs: readonly MessageSpec[];
  envelopes: Uint8Array[];
  pos: number;
  inflight: number;
  /** Latency mode: send time of the request in flight from this (even) peer, ms; 0 = idle. */
  pingT0: number;
  awaitingReply: boolean;
  /** Position in the partner's cycle of the next message this peer expects. */
  recvPos: number;
}

function sealFor(from: PeerId, to: PeerId, spec: MessageSpec): Uint8Array {
  const plaintext = new Uint8Array(Math.max(0, spec.envelopeBytes - ENVELOPE_OVERHEAD_BYTES));
  const type = spec.kind === 'data' ? EnvelopeType.DATA : EnvelopeType.SIGNAL;
  return sealEnvelope(nodeSuite, { type, sender: from.identity, recipient: to.identity.publicKey, plaintext });
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

export class LoadShard {
  readonly peers: SimPeer[] = [];
  readonly #proto: PeerProtocol;
  #mode: RunMode = { kind: 'idle' };
  #running = false;
  #markAt = 0;
  #lastDeliveryAt = 0;
  #timers: NodeJS.Timeout[] = [];
  #rtt = new Reservoir();
  #s = LoadShard.emptyStats();

  constructor(readonly init: ShardInit) {
    if (init.peerCount % 2 !== 0 || init.firstPeer % 2 !== 0)
      throw new LoadtestError('LOAD_ERR_CONFIG', 'peers come in pairs: firstPeer and peerCount must be even');
    this.#proto = PROTOCOLS[init.protocol];
    for (let i = 0; i < init.peerCount; i++) {
      const identity = generateIdentity(nodeSuite);
      const index = init.firstPeer + i;
      this.peers.push({
        id: { index, identity, textId: Buffer.from(identity.publicKey).toString('hex') },
        endpoint: index % init.endpoints.length,
        ws: null,
        partner: null,
        outs: [],
        specs: i % 2 === 0 ? init.forward : init.reply,
        envelopes: [],
        pos: 0,
        inflight: 0,
        pingT0: 0,
        awaitingReply: false,
        recvPos: 0,
      });
    }
    for (const p of this.peers) this.#proto.prepare?.(p.id);
    for (let i = 0; i < this.peers.length; i += 2) {
      const a = this.peers[i]!;
      const b = this.peers[i + 1]!;
      a.partner = b;
      b.partner = a;
      if (i / 2 < init.activePairs) {
        a.envelopes = a.specs.map((s) => sealFor(a.id, b.id, s));
        b.envelopes = b.specs.map((s) => sealFor(b.id, a.id, s));
      }
    }
  }

  static emptyStats(): RunStats {
    return {
      delivered: 0,
      deliveredBytes: 0,
      measuredMs: 0,
      totalSent: 0,
      totalDelivered: 0,
      acksExpected: 0,
      acks: 0,
      lost: 0,
      misrouted: 0,
      errors: 0,
      errorCodes: {},
      unexpectedCloses: 0,
      roundTripMs: [],
      skippedRoundTrips: 0,
      heartbeatsSent: 0,
      cpuMs: 0,
    };
  }

  /** Open and authenticate every peer, `connectConcurrency` at a time. */
  async connect(): Promise<ConnectStats> {
    const cpu0 = process.cpuUsage();
    const stats: ConnectStats = {
      ok: 0,
      failed: 0,
      failures: {},
      startedAt: Date.now(),
      endedAt: 0,
      connectMs: [],
      cpuMs: 0,
    };
    const samples = new Reservoir(20_000);
    const deadline = Date.now() + CONNECT_PHASE_TIMEOUT_MS;
    let next = 0;
    const worker = async () => {
      while (next < this.peers.length && Date.now() < deadline) {
        const peer = this.peers[next++]!;
        const t0 = performance.now();
        try {
          await this.#open(peer);
          samples.add(performance.now() - t0);
          stats.ok++;
        } catch (e) {
          stats.failed++;
          const why = (e instanceof Error ? e.message : String(e)).slice(0, 120);
          this.#countCode(stats.failures, why);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.init.connectConcurrency, this.peers.length) }, worker));
    stats.failed += this.peers.length - stats.ok - stats.failed;
    stats.endedAt = Date.now();
    stats.connectMs = samples.values();
    stats.cpuMs = cpuMsSince(cpu0);
    return stats;
  }

  async #open(peer: SimPeer): Promise<void> {
    const ep = this.init.endpoints[peer.endpoint]!;
    const n = this.init.sourceAddresses;
    const localAddress = n > 1 ? `127.0.0.${1 + (peer.id.index % n)}` : undefined;
    const ws = await RawWs.open({ host: ep.host, port: ep.port, path: this.#proto.path(peer.id), localAddress });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#proto.handshake(ws, peer.id, `${ep.host}:${ep.port}`),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('auth timed out')), HANDSHAKE_TIMEOUT_MS);
        }),
        new Promise((_, reject) => {
          ws.onClose = (why) => reject(new Error(`closed during auth: ${why}`));
        }),
      ]);
    } catch (e) {
      ws.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
    peer.ws = ws;
    const partner = peer.partner!;
    ws.onMessage = (op, payload) => this.#incoming(peer, partner, op, payload);
    ws.onClose = () => {
      if (!this.#closing) this.#s.unexpectedCloses++;
    };
    peer.outs = peer.envelopes.map((env, i) =>
      this.#proto.message(ws, peer.id, partner.id, env, peer.specs[i]!.kind, this.init.channel),
    );
  }

  #closing = false;
  #markCpu: NodeJS.CpuUsage | null = null;

  #countCode(into: Record<string, number>, code: string): void {
    if (code in into || Object.keys(into).length < MAX_ERROR_CODES) into[code] = (into[code] ?? 0) + 1;
    else into.other = (into.other ?? 0) + 1;
  }

  #send(peer: SimPeer): void {
    const ws = peer.ws;
    if (!ws || ws.isClosed || peer.outs.length === 0) return;
    const out = peer.outs[peer.pos]!;
    peer.pos = (peer.pos + 1) % peer.outs.length;
    ws.send(out.next());
    peer.inflight++;
    this.#s.totalSent++;
    if (this.init.protocol === 'rendezvous') this.#s.acksExpected++;
  }

  #incoming(peer: SimPeer, partner: SimPeer, op: number, payload: Buffer): void {
    const c = this.#proto.classify(peer.ws!, op, payload, peer.id, partner.id);
    const s = this.#s;
    switch (c.kind) {
      case 'deliver': {
        s.totalDelivered++;
        if (!c.fromOk) s.misrouted++;
        partner.inflight--;
        const now = performance.now();
        // Each direction is delivered in order, so the expected size is the next in the sender's cycle.
        const expected = partner.envelopes[peer.recvPos]?.length ?? 0;
        peer.recvPos = (peer.recvPos + 1) % Math.max(1, partner.envelopes.length);
        if (c.bytes >= 0 && c.bytes !== expected) s.misrouted++;
        if (this.#markAt > 0) {
          s.delivered++;
          s.deliveredBytes += expected;
          this.#lastDeliveryAt = now;
        }
        if (this.#mode.kind === 'throughput') {
          if (this.#running) this.#send(partner);
        } else if (this.#mode.kind === 'latency') {
          // Even peers start round trips; the odd peer answers each request at once.
          if (peer.id.index % 2 === 1) this.#send(peer);
          else if (peer.awaitingReply) {
            peer.awaitingReply = false;
            if (this.#markAt > 0) this.#rtt.add(now - peer.pingT0);
          }
        }
        break;
      }
      case 'ack':
        s.acks++;
        break;
      case 'error':
        s.errors++;
        this.#countCode(s.errorCodes, c.code);
        break;
      case 'ping':
        peer.ws!.send(c.reply);
        break;
      case 'other':
        break;
    }
  }

  /** Start traffic. Measurement counts only after `mark()`. */
  run(mode: RunMode, heartbeatMs: number | null): void {
    this.#mode = mode;
    this.#running = true;
    this.#s = LoadShard.emptyStats();
    const active = this.peers.slice(0, this.init.activePairs * 2).filter((p) => p.ws);
    if (mode.kind === 'throughput') {
      for (const p of active) for (let i = 0; i < mode.window; i++) this.#send(p);
    } else if (mode.kind === 'latency') {
      this.#startPacer(
        active.filter((p) => p.id.index % 2 === 0),
        mode.roundTripsPerS,
      );
    }
    if (heartbeatMs !== null) this.#startHeartbeats(heartbeatMs);
  }

  #startPacer(starters: SimPeer[], rate: number): void {
    const t0 = performance.now();
    let issued = 0;
    let cursor = 0;
    const tick = () => {
      if (!this.#running) return;
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      while (issued < due) {
        issued++;
        let found: SimPeer | null = null;
        for (let scan = 0; scan < starters.length; scan++) {
          const p = starters[cursor]!;
          cursor = (cursor + 1) % starters.length;
          if (!p.awaitingReply) {
            found = p;
            break;
          }
        }
        if (!found) {
          this.#s.skippedRoundTrips++;
          continue;
        }
        found.awaitingReply = true;
        found.pingT0 = performance.now();
        this.#send(found);
      }
    };
    if (starters.length > 0) this.#timers.push(setInterval(tick, 1));
  }

  #startHeartbeats(intervalMs: number): void {
    // Spread the beats over the interval: a tenth of the peers every tenth of it.
    const slices = 10;
    let slice = 0;
    const timer = setInterval(
      () => {
        for (let i = slice; i < this.peers.length; i += slices) {
          const ws = this.peers[i]!.ws;
          const frame = ws ? this.#proto.heartbeat(ws) : null;
          if (ws && frame) {
            ws.send(frame);
            this.#s.heartbeatsSent++;
          }
        }
        slice = (slice + 1) % slices;
      },
      Math.max(10, Math.floor(intervalMs / slices)),
    );
    this.#timers.push(timer);
  }

  mark(): void {
    this.#markCpu = process.cpuUsage();
    this.#markAt = performance.now();
    this.#lastDeliveryAt = this.#markAt;
    this.#s.delivered = 0;
    this.#s.deliveredBytes = 0;
    this.#rtt = new Reservoir();
  }

  /** Stop sending, wait (bounded) for in-flight messages and acks, and report. */
  async stop(): Promise<RunStats> {
    this.#running = false;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    const s = this.#s;
    while (Date.now() < deadline && (this.#inflightTotal() > 0 || s.acks < s.acksExpected)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    s.lost = this.#inflightTotal();
    s.measuredMs = this.#markAt > 0 ? this.#lastDeliveryAt - this.#markAt : 0;
    s.roundTripMs = this.#rtt.values();
    s.cpuMs = this.#markCpu ? cpuMsSince(this.#markCpu) : 0;
    return s;
  }

  #inflightTotal(): number {
    let n = 0;
    for (const p of this.peers) n += Math.max(0, p.inflight);
    return n;
  }

  close(): void {
    this.#closing = true;
    for (const t of this.#timers) clearInterval(t);
    for (const p of this.peers) p.ws?.close();
  }
}
