/**
 * `npm run loadtest -- <scenario> [options]`: runs scenarios against the servers under test
 * and prints a markdown table; with --out, also writes JSON + markdown files.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { type CapacityInputs, type CapacityReport, capacityMarkdown, capacityReport } from './capacity.js';
import { type CliConfig, parseArgs } from './config.js';
import { RSS_SETTLE_MS } from './constants.js';
import { LoadtestError } from './errors.js';
import { GOALS_SUITE, goalRows, goalsMarkdown } from './goals.js';
import {
  machineInfo,
  markdownReport,
  markdownTable,
  RESULTS_MARKER,
  type RunReport,
  replaceResults,
} from './report.js';
import { type RunOptions, runScenario, type ScenarioResult } from './runner.js';
import { planScenario, type RelaySize, type ScenarioName } from './scenarios.js';
import { REPO_ROOT } from './spawn.js';
import type { TargetName } from './targets.js';

interface Step {
  scenario: ScenarioName;
  targets: readonly TargetName[];
  peers?: number;
  size?: RelaySize;
  durationS?: number;
  /** Connect: watch the idle peers this many seconds more (see RunOptions.idleWatchS). */
  idleWatchS?: number;
}

const ALL: readonly TargetName[] = ['bare', 'bare-cork', 'peerjs', 'rdv-memory', 'rdv-redis', 'rdv-redis-2'];
const RELAYS: readonly TargetName[] = ['bare', 'bare-cork', 'rdv-memory', 'rdv-redis', 'rdv-redis-2'];

/** The full matrix of `all`: every scenario, each next to its references. */
const FULL_SUITE: readonly Step[] = [
  { scenario: 'relay', size: '300', targets: RELAYS },
  { scenario: 'relay', size: '1k', targets: RELAYS },
  { scenario: 'relay', size: '16k', targets: RELAYS },
  { scenario: 'signal', targets: ALL },
  { scenario: 'latency', targets: ALL },
  { scenario: 'connect', peers: 2_000, targets: ['bare', 'peerjs', 'rdv-memory', 'rdv-redis', 'rdv-redis-2'] },
  { scenario: 'connect', peers: 5_000, targets: ['bare', 'peerjs', 'rdv-memory', 'rdv-redis'] },
  { scenario: 'connect', peers: 19_000, targets: ['bare', 'rdv-memory', 'rdv-redis'] },
  { scenario: 'soak', peers: 2_000, durationS: 30, targets: ['rdv-memory', 'rdv-redis-2'] },
];

/** A quick pass over every scenario with small numbers (seconds each). */
const SMOKE_SUITE: readonly Step[] = [
  { scenario: 'relay', size: '1k', targets: RELAYS, durationS: 1 },
  { scenario: 'signal', targets: ALL, durationS: 1 },
  { scenario: 'latency', targets: ALL, durationS: 1 },
  { scenario: 'connect', peers: 200, targets: ['bare', 'peerjs', 'rdv-memory'] },
  { scenario: 'soak', peers: 200, targets: ['rdv-memory'], durationS: 3 },
];

/** What the capacity model needs: memory and CPU per peer, CPU per message on one and two instances. */
function capacitySteps(cfg: CliConfig): readonly Step[] {
  return [
    // Idle watched over one heartbeat interval (the 2 s settle + this): a window that long holds
    // exactly one round of pings, pongs and presence refreshes.
    {
      scenario: 'connect',
      peers: cfg.peers ?? 5_000,
      targets: ['rdv-redis'],
      idleWatchS: Math.max(1, cfg.heartbeatS - (RSS_SETTLE_MS * 2) / 3 / 1000),
    },
    { scenario: 'relay', size: '300', targets: ['rdv-redis', 'rdv-redis-2'] },
  ];
}

/** The model's inputs from a capacity run's results (null when a step failed). */
function capacityInputs(cfg: CliConfig, results: readonly ScenarioResult[]): CapacityInputs | null {
  const conn = results.find((r) => r.msgsPerS === null && r.target === 'rdv-redis');
  const one = results.find((r) => r.msgsPerS !== null && r.target === 'rdv-redis');
  const two = results.find((r) => r.msgsPerS !== null && r.target === 'rdv-redis-2');
  if (!conn || !one || !two || two.delivered === 0 || two.redisCpuMs === null) return null;
  return {
    baseRssMB: conn.rssBaselineMB,
    kbPerPeer: conn.rssPerConnKB,
    redisKbPerPeer: Math.max(0, conn.redisRssPerConnKB ?? 0),
    cpuUsPerConn: conn.cpuUsPerConn,
    idleUsPerPeerS: Math.max(0, conn.idleCpuUsPerPeerS ?? 0),
    // Timer lateness makes the window a little longer, never shorter; 5 % covers rounding.
    idleIncludesHeartbeat: (conn.idleWindowS ?? 0) >= cfg.heartbeatS * 0.95,
    heartbeatS: cfg.heartbeatS,
    // Instance CPU only: Redis is modelled on its own.
    localUsPerMsg: ((one.serverCpuMs - (one.redisCpuMs ?? 0)) * 1000) / one.delivered,
    crossUsPerMsg: ((two.serverCpuMs - two.redisCpuMs) * 1000) / two.delivered,
    redisUsPerMsg: (two.redisCpuMs * 1000) / two.delivered,
  };
}

function steps(cfg: CliConfig): readonly Step[] {
  if (cfg.scenario === 'all') return FULL_SUITE;
  if (cfg.scenario === 'capacity') return cfg.from !== null ? [] : capacitySteps(cfg);
  if (cfg.scenario === 'smoke') return SMOKE_SUITE;
  if (cfg.scenario === 'goals') return GOALS_SUITE;
  const targets = cfg.targets ?? (cfg.scenario === 'relay' ? RELAYS : ALL);
  return [{ scenario: cfg.scenario, targets, ...(cfg.size ? { size: cfg.size } : {}) }];
}

function versions(): Record<string, string> {
  const v = (pkg: string) => {
    try {
      return (
        JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }
      ).version;
    } catch {
      return 'absent';
    }
  };
  return { node: process.version, ws: v('ws'), peer: v('peer'), fastify: v('fastify'), ioredis: v('ioredis') };
}

async function main(): Promise<void> {
  const cfg = parseArgs(process.argv.slice(2));
  const pin = cfg.pin && availableParallelism() >= 2;
  const startedAt = new Date().toISOString();
  // `capacity --from FILE`: the saved run's results, nothing measured again.
  const results: ScenarioResult[] =
    cfg.from !== null ? [...(JSON.parse(readFileSync(cfg.from, 'utf8')) as RunReport).results] : [];
  for (const step of steps(cfg)) {
    const targets =
      cfg.targets &&
      (cfg.scenario === 'all' || cfg.scenario === 'smoke' || cfg.scenario === 'capacity' || cfg.scenario === 'goals')
        ? step.targets.filter((t) => cfg.targets!.includes(t))
        : step.targets;
    for (const target of targets) {
      const plan = planScenario(step.scenario, {
        peers: cfg.peers ?? step.peers,
        pairs: cfg.pairs ?? undefined,
        window: cfg.window ?? undefined,
        rate: cfg.rate ?? undefined,
        size: step.size ?? cfg.size ?? undefined,
      });
      const opts: RunOptions = {
        durationS: step.durationS ?? cfg.durationS,
        warmupS: cfg.scenario === 'smoke' ? 0 : cfg.warmupS,
        generators: cfg.generators,
        connectConcurrency: cfg.concurrency,
        sourceAddresses: cfg.sourceAddresses,
        serverCpus: pin ? '0' : null,
        generatorCpus: pin ? '1' : null,
        ...(cfg.serverRoot !== null ? { serverRoot: resolve(cfg.serverRoot) } : {}),
        ...(step.idleWatchS !== undefined ? { idleWatchS: step.idleWatchS } : {}),
        serverNodeArgs: cfg.profile ? ['--cpu-prof', `--cpu-prof-dir=${resolve(cfg.profile)}`] : [],
      };
      process.stderr.write(`» ${plan.label} × ${target} …\n`);
      try {
        const r = await runScenario(target, plan, opts);
        results.push(r);
        process.stderr.write(`${markdownTable([r])}\n`);
      } catch (e) {
        process.stderr.write(`  failed: ${e instanceof Error ? e.message : String(e)}\n`);
        if (e instanceof LoadtestError && e.code === 'LOAD_ERR_CONFIG') throw e;
      }
    }
  }
  let capacity: CapacityReport | undefined;
  if (cfg.scenario === 'capacity') {
    const inputs = capacityInputs(cfg, results);
    if (inputs === null) {
      // A step failed or was filtered out (--target): report what was measured, no model.
      process.stderr.write('capacity: a measurement step is missing; no model evaluated\n');
      process.exitCode = 1;
    } else {
      const machine = machineInfo();
      const host = { ramGiB: cfg.ramGiB ?? machine.memGiB, cores: cfg.cores ?? machine.cores };
      capacity = capacityReport(inputs, host, { msgsPerPeerS: cfg.msgsPerPeerS }, cfg.goalPeers);
    }
  }
  const report: RunReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: machineInfo(),
    versions: versions(),
    pinned: pin,
    results,
    ...(capacity !== undefined ? { capacity } : {}),
  };
  let md = capacity === undefined ? markdownReport(report) : `${markdownReport(report)}\n${capacityMarkdown(capacity)}`;
  if (cfg.scenario === 'goals') md = `${md}\n\n## Goals\n\n${goalsMarkdown(goalRows(results))}`;
  process.stdout.write(`${md}\n`);
  if (cfg.out) {
    mkdirSync(cfg.out, { recursive: true });
    const stamp = startedAt.replace(/[:.]/g, '-');
    for (const name of [`${stamp}`, 'latest']) {
      writeFileSync(join(cfg.out, `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(join(cfg.out, `${name}.md`), `${md}\n`);
    }
  }
  if (cfg.doc) {
    const updated = replaceResults(readFileSync(cfg.doc, 'utf8'), md);
    if (updated === null) throw new LoadtestError('LOAD_ERR_CONFIG', `${cfg.doc} has no ${RESULTS_MARKER} line`);
    writeFileSync(cfg.doc, updated);
  }
  const bad = results.filter(
    (r) => r.lost + r.misrouted + r.unacked + r.errors + r.unexpectedCloses + r.failedConnects > 0,
  );
  if (bad.length) {
    process.stderr.write(`${bad.length} run(s) lost messages, saw errors or failed connections\n`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
