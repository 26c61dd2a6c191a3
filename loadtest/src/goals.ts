/**
 * `npm run loadtest -- goals`: the server rows of the speed goals (docs/performance.md, "Goals"),
 * each measured in one run next to the bare ws forwarder (and PeerJS where it applies), with the
 * ratio and whether the goal is met. Only what the load runner measures: the path-agility rows
 * are NAT-lab assertions (test/natlab/path-agility.ts).
 */
import type { ScenarioResult } from './runner.js';
import type { TargetName } from './targets.js';

/** The same shape as the CLI's suite steps (kept structural so the CLI stays the only runner). */
export interface GoalStep {
  scenario: 'relay' | 'latency' | 'connect';
  targets: readonly TargetName[];
  size?: '300' | '16k';
  peers?: number;
}

const TWO: readonly TargetName[] = ['rdv-redis-2', 'rdv-links-2'];

/**
 * Connect at 5,000 peers: the first few hundred connections of a server process pay its warm-up
 * (JIT, pools), the same for every server; 2,000 peers leave that as a visible share of each row.
 */
export const GOALS_CONNECT_PEERS = 5_000;

export const GOALS_SUITE: readonly GoalStep[] = [
  { scenario: 'connect', peers: GOALS_CONNECT_PEERS, targets: ['bare', 'peerjs', 'rdv-memory'] },
  { scenario: 'relay', size: '300', targets: ['bare', 'rdv-memory', ...TWO] },
  { scenario: 'relay', size: '16k', targets: ['bare', 'rdv-memory', ...TWO] },
  { scenario: 'latency', targets: ['bare', 'peerjs', 'rdv-memory', ...TWO] },
];

interface Goal {
  what: string;
  scenario: string;
  /** The rendezvous targets judged on this row. */
  targets: readonly TargetName[];
  /** The measured quantity of one result (null when the scenario does not produce it). */
  value: (r: ScenarioResult) => number | null;
  unit: string;
  /** ratio = value / bare's value; the goal holds when the ratio is at least / at most this. */
  bound: { atLeast: number } | { atMost: number };
}

/** The goal as printed: "≥ 0.6× bare". */
const goalText = (b: Goal['bound']): string => ('atLeast' in b ? `≥ ${b.atLeast}× bare` : `≤ ${b.atMost}× bare`);
const goalMet = (b: Goal['bound'], ratio: number): boolean => ('atLeast' in b ? ratio >= b.atLeast : ratio <= b.atMost);

const perCore = (r: ScenarioResult): number | null => (r.cpuUsPerConn > 0 ? 1e6 / r.cpuUsPerConn : null);

const GOALS: readonly Goal[] = [
  {
    what: 'authenticated connections per second per core (1e6 / server CPU µs per connection)',
    scenario: `connect ${GOALS_CONNECT_PEERS}`,
    targets: ['rdv-memory'],
    value: perCore,
    unit: '/s/core',
    bound: { atLeast: 0.6 },
  },
  {
    what: 'two instances, 300 B: server CPU µs per message (both instances + Redis)',
    scenario: 'relay 300 B',
    targets: TWO,
    value: (r) => r.cpuUsPerMsg,
    unit: 'µs/msg',
    bound: { atMost: 0.5 },
  },
  {
    what: 'two instances, 16 KiB: msgs/s',
    scenario: 'relay 16 KiB',
    targets: TWO,
    value: (r) => r.msgsPerS,
    unit: 'msgs/s',
    bound: { atLeast: 1.0 },
  },
  {
    what: 'RTT p99 at 1,000 round trips/s, one instance',
    scenario: 'latency @1000 rt/s',
    targets: ['rdv-memory'],
    value: (r) => r.rttP99Ms,
    unit: 'ms',
    bound: { atMost: 1.3 },
  },
  {
    what: 'RTT p99 at 1,000 round trips/s, two instances',
    scenario: 'latency @1000 rt/s',
    targets: TWO,
    value: (r) => r.rttP99Ms,
    unit: 'ms',
    bound: { atMost: 3 },
  },
];

export interface GoalRow {
  what: string;
  target: TargetName;
  value: number | null;
  bare: number | null;
  peerjs: number | null;
  unit: string;
  ratio: number | null;
  goal: string;
  /** null when a result is missing (a run failed or was filtered out). */
  met: boolean | null;
}

/** One row per judged target of every goal, from one run's results. */
export function goalRows(results: readonly ScenarioResult[]): GoalRow[] {
  const find = (scenario: string, target: TargetName) =>
    results.find((r) => r.scenario === scenario && r.target === target);
  const rows: GoalRow[] = [];
  for (const g of GOALS) {
    const bareResult = find(g.scenario, 'bare');
    const peerResult = find(g.scenario, 'peerjs');
    const bare = bareResult ? g.value(bareResult) : null;
    const peerjs = peerResult ? g.value(peerResult) : null;
    for (const target of g.targets) {
      const r = find(g.scenario, target);
      const value = r ? g.value(r) : null;
      const ratio = value !== null && bare !== null && bare > 0 ? value / bare : null;
      rows.push({
        what: g.what,
        target,
        value,
        bare,
        peerjs,
        unit: g.unit,
        ratio,
        goal: goalText(g.bound),
        met: ratio === null ? null : goalMet(g.bound, ratio),
      });
    }
  }
  return rows;
}

function num(x: number | null): string {
  if (x === null) return '–';
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  return x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** The goals table in markdown. */
export function goalsMarkdown(rows: readonly GoalRow[]): string {
  const lines = [
    '| goal | server | measured | bare ws | PeerJS | ratio to bare | target | verdict |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | --- |',
  ];
  for (const r of rows) {
    const verdict = r.met === null ? 'not measured' : r.met ? 'met' : '**missed**';
    lines.push(
      `| ${r.what} | ${r.target} | ${num(r.value)} ${r.unit} | ${num(r.bare)} | ${num(r.peerjs)} | ${r.ratio === null ? '–' : `${r.ratio.toFixed(2)}×`} | ${r.goal} | ${verdict} |`,
    );
  }
  return lines.join('\n');
}
