/**
 * Runner options from the command line: `<scenario> [--peers N --duration S --instances K ...]`.
 * Validated once (every problem reported together) and frozen. Only cli.ts passes argv here.
 */
import {
  MAX_CONNECT_CONCURRENCY,
  MAX_DURATION_S,
  MAX_GENERATORS,
  MAX_PEERS,
  MAX_ROUND_TRIPS_PER_S,
  MAX_WINDOW,
} from './constants.js';
import { LoadtestError } from './errors.js';
import { type RelaySize, SCENARIO_NAMES, type ScenarioName } from './scenarios.js';
import { TARGET_NAMES, type TargetName } from './targets.js';

export type CliScenario = ScenarioName | 'all' | 'smoke' | 'capacity' | 'goals';
const RUNS: readonly string[] = [...SCENARIO_NAMES, 'all', 'smoke', 'capacity', 'goals'];

export interface CliConfig {
  readonly scenario: CliScenario;
  readonly targets: readonly TargetName[] | null;
  readonly peers: number | null;
  readonly pairs: number | null;
  readonly durationS: number;
  readonly warmupS: number;
  readonly window: number | null;
  readonly rate: number | null;
  readonly size: RelaySize | null;
  readonly generators: number;
  readonly concurrency: number;
  readonly sourceAddresses: number;
  readonly pin: boolean;
  /** Write results/<stamp>.{json,md} and latest.{json,md}. */
  readonly out: string | null;
  /** Write a V8 CPU profile of every server process into this directory. */
  readonly profile: string | null;
  /** Markdown file whose results section (after RESULTS_MARKER) is replaced by this run's. */
  readonly doc: string | null;
  /**
   * Another checkout of this repository whose apps/rendezvous server is run instead of this
   * one's (same generator and references): before/after in one run, e.g. from a `git worktree`.
   */
  readonly serverRoot: string | null;
  /** capacity: host size to model (default: this machine) and the peer goal to size for. */
  readonly ramGiB: number | null;
  readonly cores: number | null;
  readonly goalPeers: number;
  /** capacity: the servers' heartbeat interval, s (HEARTBEAT_INTERVAL_MS default 30,000). */
  readonly heartbeatS: number;
  /** capacity: planned relayed messages per peer per second, in thousandths (--msgs-per-kpeer-s). */
  readonly msgsPerPeerS: number;
  /** capacity: evaluate the model on a saved capacity run's JSON instead of measuring again. */
  readonly from: string | null;
}

const INT_FLAGS: Record<string, [min: number, max: number]> = {
  peers: [2, MAX_PEERS],
  pairs: [1, MAX_PEERS / 2],
  duration: [1, MAX_DURATION_S],
  warmup: [0, 60],
  window: [1, MAX_WINDOW],
  rate: [1, MAX_ROUND_TRIPS_PER_S],
  generators: [1, MAX_GENERATORS],
  concurrency: [1, MAX_CONNECT_CONCURRENCY],
  'source-addresses': [1, 250],
  instances: [1, 2],
  'ram-gib': [1, 65_536],
  cores: [1, 1_024],
  'goal-peers': [1, 1_000_000_000],
  'heartbeat-s': [1, 3_600],
  'msgs-per-kpeer-s': [0, 1_000_000],
};

export const USAGE = `usage: npm run loadtest -- <${RUNS.join('|')}> [options]
  --target T[,T]      ${TARGET_NAMES.join(', ')} (default: all that apply)
  --instances K       1 or 2: shorthand for the rendezvous targets with Redis (1 → rdv-redis, 2 → rdv-redis-2)
  --peers N           peers (connect, soak)         --pairs P      active pairs
  --duration S        measured seconds (default 10) --warmup S     unmeasured seconds first (default 2)
  --window W          in-flight messages per direction (throughput)
  --rate R            round trips/s (latency, soak) --size 300|1k|16k  relay envelope size
  --generators G      generator processes           --concurrency C  parallel connection attempts
  --source-addresses A  spread peers over 127.0.0.1..A
  --no-pin            do not pin server and generator to separate CPUs
  --out DIR           write <DIR>/latest.{json,md} and a timestamped copy
  --doc FILE          replace the results section of FILE (e.g. docs/performance.md) with this run
  --profile DIR       run servers under node --cpu-prof, profiles into DIR (summarise: loadtest/src/profile-summary.ts)
  --server-root DIR   run the rendezvous server of another checkout (a git worktree: before/after in one run)
  goals: the speed goals' server rows (connect, two-instance relay, RTT p99) beside bare ws and PeerJS, with verdicts
  capacity: connect --peers (default 5000) on 1 instance with Redis, relay 300 B on 1 and 2 instances, then the model:
  --ram-gib R --cores C  host size to model (default: this machine)   --goal-peers P  (default 1000000)
  --heartbeat-s H     the servers' heartbeat interval (default 30)
  --msgs-per-kpeer-s M  planned relayed msgs/s per 1,000 peers (default 50)
  --from FILE         re-evaluate the model on a saved capacity run (its JSON) for another host size`;

/** Parse argv (without node and script). Throws one LOAD_ERR_CONFIG listing every problem. */
export function parseArgs(argv: readonly string[]): CliConfig {
  const problems: string[] = [];
  const [scenario, ...rest] = argv;
  if (!scenario || !RUNS.includes(scenario))
    problems.push(`scenario must be one of ${RUNS.join(', ')}, got ${JSON.stringify(scenario)}`);
  const ints: Record<string, number> = {};
  let targets: TargetName[] | null = null;
  let size: RelaySize | null = null;
  let pin = true;
  let out: string | null = null;
  let profile: string | null = null;
  let doc: string | null = null;
  let serverRoot: string | null = null;
  let from: string | null = null;
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    if (!flag.startsWith('--')) {
      problems.push(`unexpected argument ${JSON.stringify(flag)}`);
      continue;
    }
    const name = flag.slice(2);
    if (name === 'no-pin') {
      pin = false;
      continue;
    }
    const value = rest[i + 1];
    i++;
    if (value === undefined) {
      problems.push(`${flag} needs a value`);
      continue;
    }
    if (name === 'target') {
      const list = value.split(',');
      const bad = list.filter((t) => !TARGET_NAMES.includes(t as TargetName));
      if (bad.length) problems.push(`--target: unknown ${bad.join(', ')} (known: ${TARGET_NAMES.join(', ')})`);
      else targets = list as TargetName[];
    } else if (name === 'size') {
      if (value === '300' || value === '1k' || value === '16k') size = value;
      else problems.push(`--size must be 300, 1k or 16k, got ${JSON.stringify(value)}`);
    } else if (name === 'out') out = value;
    else if (name === 'profile') profile = value;
    else if (name === 'doc') doc = value;
    else if (name === 'server-root') serverRoot = value;
    else if (name === 'from') from = value;
    else if (name in INT_FLAGS) {
      const [min, max] = INT_FLAGS[name]!;
      const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max)
        problems.push(`${flag} must be an integer in [${min}, ${max}]`);
      else ints[name] = n;
    } else problems.push(`unknown option ${flag}`);
  }
  if (ints.peers !== undefined && ints.peers % 2 !== 0) problems.push('--peers must be even (peers come in pairs)');
  if (ints.instances !== undefined) {
    const t: TargetName = ints.instances === 2 ? 'rdv-redis-2' : 'rdv-redis';
    if (targets && !targets.includes(t)) targets.push(t);
    targets ??= [t];
  }
  if (problems.length) throw new LoadtestError('LOAD_ERR_CONFIG', `\n  - ${problems.join('\n  - ')}\n${USAGE}`);
  return Object.freeze({
    scenario: scenario as CliScenario,
    targets: targets ? Object.freeze(targets) : null,
    peers: ints.peers ?? null,
    pairs: ints.pairs ?? null,
    durationS: ints.duration ?? 10,
    warmupS: ints.warmup ?? 2,
    window: ints.window ?? null,
    rate: ints.rate ?? null,
    size,
    generators: ints.generators ?? 1,
    concurrency: ints.concurrency ?? 200,
    sourceAddresses: ints['source-addresses'] ?? 1,
    pin,
    out,
    profile,
    doc,
    serverRoot,
    ramGiB: ints['ram-gib'] ?? null,
    cores: ints.cores ?? null,
    goalPeers: ints['goal-peers'] ?? 1_000_000,
    heartbeatS: ints['heartbeat-s'] ?? 30,
    msgsPerPeerS: (ints['msgs-per-kpeer-s'] ?? 50) / 1000,
    from,
  });
}
