import type { ProtocolName, SignalKind } from '../protocols/types.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** One message of a direction's cycle: what it is and its envelope size. */
export interface MessageSpec {
  readonly kind: SignalKind;
  readonly envelopeBytes: number;
}

/** Everything a generator process needs to simulate its slice of peers. */
export interface ShardInit {
  readonly protocol: ProtocolName;
  /** Peer i connects to endpoints[i % endpoints.length], so a pair (2k, 2k+1) spans instances. */
  readonly endpoints: readonly Endpoint[];
  /** First global peer index (even) and number of peers (even): pairs are (2k, 2k+1). */
  readonly firstPeer: number;
  readonly peerCount: number;
  /** Pairs (from the start of this slice) that send traffic; the rest stay idle. */
  readonly activePairs: number;
  readonly channel: 'signal' | 'relay';
  /** Cycle of messages the even peer sends; the odd peer sends `reply`. */
  readonly forward: readonly MessageSpec[];
  readonly reply: readonly MessageSpec[];
  readonly connectConcurrency: number;
  /** Spread peers over this many source addresses 127.0.0.1..n (per-IP limits). */
  readonly sourceAddresses: number;
}

export type RunMode =
  | { kind: 'throughput'; window: number }
  | { kind: 'latency'; roundTripsPerS: number }
  | { kind: 'idle' };

export interface ConnectStats {
  ok: number;
  failed: number;
  failures: Record<string, number>;
  startedAt: number;
  endedAt: number;
  /** Upgrade + authentication time per connection, ms (sampled). */
  connectMs: number[];
  /** CPU this generator process spent in the phase, ms (to show it was not the bottleneck). */
  cpuMs: number;
}

export interface RunStats {
  /** Messages delivered to a recipient after the measurement mark. */
  delivered: number;
  /** Envelope bytes delivered after the mark. */
  deliveredBytes: number;
  /** From the mark to the last delivery, ms. */
  measuredMs: number;
  totalSent: number;
  totalDelivered: number;
  /** Acks expected (rendezvous only) and received. */
  acksExpected: number;
  acks: number;
  lost: number;
  misrouted: number;
  errors: number;
  errorCodes: Record<string, number>;
  unexpectedCloses: number;
  roundTripMs: number[];
  /** Round trips the schedule wanted but every pair was busy. */
  skippedRoundTrips: number;
  heartbeatsSent: number;
  /** CPU this generator process spent from the mark to the end of the drain, ms. */
  cpuMs: number;
}

/** Parent → generator commands. */
export type ShardCommand =
  | { cmd: 'init'; init: ShardInit }
  | { cmd: 'connect' }
  | { cmd: 'run'; mode: RunMode; heartbeatMs: number | null }
  | { cmd: 'mark' }
  | { cmd: 'stop' }
  | { cmd: 'exit' };

/** Generator → parent replies. */
export type ShardReply =
  | { ev: 'inited' }
  | { ev: 'connected'; stats: ConnectStats }
  | { ev: 'running' }
  | { ev: 'marked' }
  | { ev: 'stopped'; stats: RunStats }
  | { ev: 'failed'; message: string };
