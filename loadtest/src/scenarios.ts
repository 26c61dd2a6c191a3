/** The scenarios: what each peer sends, how the load is paced, and their default sizes. */
import { SIGNAL_ENVELOPE_BYTES } from './constants.js';
import type { MessageSpec, RunMode } from './generator/types.js';

export type ScenarioName = 'connect' | 'signal' | 'relay' | 'latency' | 'soak';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['connect', 'signal', 'relay', 'latency', 'soak'];

export type RelaySize = '300' | '1k' | '16k';
export const RELAY_ENVELOPE_BYTES: Record<RelaySize, number> = { '300': 300, '1k': 1024, '16k': 16 * 1024 };

export interface Traffic {
  readonly channel: 'signal' | 'relay';
  readonly forward: readonly MessageSpec[];
  readonly reply: readonly MessageSpec[];
}

/** Offer then four ICE candidates one way; answer then four candidates back. */
export const SIGNAL_TRAFFIC: Traffic = Object.freeze({
  channel: 'signal',
  forward: [
    { kind: 'offer' as const, envelopeBytes: SIGNAL_ENVELOPE_BYTES.offer },
    ...Array.from({ length: 4 }, () => ({
      kind: 'candidate' as const,
      envelopeBytes: SIGNAL_ENVELOPE_BYTES.candidate,
    })),
  ],
  reply: [
    { kind: 'answer' as const, envelopeBytes: SIGNAL_ENVELOPE_BYTES.answer },
    ...Array.from({ length: 4 }, () => ({
      kind: 'candidate' as const,
      envelopeBytes: SIGNAL_ENVELOPE_BYTES.candidate,
    })),
  ],
});

export function relayTraffic(size: RelaySize): Traffic {
  const spec: MessageSpec = { kind: 'data', envelopeBytes: RELAY_ENVELOPE_BYTES[size] };
  return { channel: 'relay', forward: [spec], reply: [spec] };
}

export interface ScenarioPlan {
  /** Label in reports, e.g. "relay 1k". */
  readonly label: string;
  readonly peers: number;
  readonly activePairs: number;
  readonly traffic: Traffic;
  /** null: connect only (plus an RSS reading). */
  readonly mode: RunMode | null;
  readonly heartbeatMs: number | null;
}

export interface PlanOptions {
  peers?: number;
  pairs?: number;
  window?: number;
  rate?: number;
  size?: RelaySize;
  heartbeatMs?: number;
}

/** Defaults sized for this 2-core machine; every one can be overridden from the CLI. */
export function planScenario(name: ScenarioName, o: PlanOptions): ScenarioPlan {
  switch (name) {
    case 'connect': {
      const peers = o.peers ?? 2_000;
      return {
        label: `connect ${peers}`,
        peers,
        activePairs: 0,
        traffic: relayTraffic('300'),
        mode: null,
        heartbeatMs: null,
      };
    }
    case 'signal': {
      const pairs = o.pairs ?? 50;
      return {
        label: 'signal',
        peers: pairs * 2,
        activePairs: pairs,
        traffic: SIGNAL_TRAFFIC,
        mode: { kind: 'throughput', window: o.window ?? 8 },
        heartbeatMs: null,
      };
    }
    case 'relay': {
      const pairs = o.pairs ?? 50;
      const size = o.size ?? '300';
      return {
        label: `relay ${size === '300' ? '300 B' : size === '1k' ? '1 KiB' : '16 KiB'}`,
        peers: pairs * 2,
        activePairs: pairs,
        traffic: relayTraffic(size),
        mode: { kind: 'throughput', window: o.window ?? (size === '16k' ? 4 : 16) },
        heartbeatMs: null,
      };
    }
    case 'latency': {
      const pairs = o.pairs ?? 100;
      const rate = o.rate ?? 1_000;
      return {
        label: `latency @${rate} rt/s`,
        peers: pairs * 2,
        activePairs: pairs,
        traffic: relayTraffic('300'),
        mode: { kind: 'latency', roundTripsPerS: rate },
        heartbeatMs: null,
      };
    }
    case 'soak': {
      const peers = o.peers ?? 2_000;
      const pairs = Math.min(o.pairs ?? 20, peers / 2);
      return {
        label: `soak ${peers}`,
        peers,
        activePairs: pairs,
        traffic: relayTraffic('300'),
        mode: { kind: 'latency', roundTripsPerS: o.rate ?? 20 },
        heartbeatMs: o.heartbeatMs ?? 5_000,
      };
    }
  }
}
