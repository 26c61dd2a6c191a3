/** Results → a markdown table (with ratios to the bare forwarder) and a JSON document. */
import { cpus, totalmem } from 'node:os';
import type { CapacityReport } from './capacity.js';
import type { ScenarioResult } from './runner.js';

export interface RunReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: { cpu: string; cores: number; memGiB: number; node: string; platform: string };
  readonly versions: Record<string, string>;
  readonly pinned: boolean;
  readonly results: readonly ScenarioResult[];
  /** The capacity model evaluated on this run (the `capacity` run only). */
  readonly capacity?: CapacityReport;
}

export function machineInfo(): RunReport['machine'] {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

const fmt = (v: number | null | undefined, d = 0): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '–'
    : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Generator CPU µs per message / connection. */
function perUnit(cpuMs: number, n: number): number {
  return n > 0 ? (cpuMs * 1000) / n : Number.NaN;
}

/** Ratio of `v` to the bare forwarder's value in the same scenario. */
function ratio(
  results: readonly ScenarioResult[],
  r: ScenarioResult,
  key: 'msgsPerS' | 'cpuUsPerMsg' | 'connsPerS',
): string {
  if (r.target === 'bare') return '1.00';
  const base = results.find((b) => b.target === 'bare' && b.scenario === r.scenario)?.[key];
  const mine = r[key];
  if (!base || mine === null || mine === undefined || !Number.isFinite(mine) || !Number.isFinite(base)) return '–';
  return (mine / base).toFixed(2);
}

export function markdownTable(results: readonly ScenarioResult[]): string {
  const traffic = results.filter((r) => r.msgsPerS !== null && !r.scenario.startsWith('soak'));
  const connect = results.filter((r) => r.msgsPerS === null);
  const soak = results.filter((r) => r.scenario.startsWith('soak'));
  const lines: string[] = [];
  if (traffic.length) {
    lines.push(
      '| scenario | server | msgs/s | × bare | MB/s | CPU µs/msg | × bare | RTT p50 / p99 / p99.9 ms | lost | errors | gen µs/msg | load |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const r of traffic)
      lines.push(
        `| ${r.scenario} | ${r.targetLabel} | ${fmt(r.msgsPerS)} | ${ratio(results, r, 'msgsPerS')} | ${fmt(r.mbPerS, 1)} | ${fmt(r.cpuUsPerMsg, 1)} | ${ratio(results, r, 'cpuUsPerMsg')} | ${r.rttP50Ms === null ? '–' : `${fmt(r.rttP50Ms, 2)} / ${fmt(r.rttP99Ms, 2)} / ${fmt(r.rttP999Ms, 2)}`} | ${r.lost + r.misrouted + r.unacked} | ${r.errors + r.unexpectedCloses} | ${fmt(perUnit(r.generatorCpuMs, r.delivered), 1)} | ${fmt(r.loadAvg1m, 2)} |`,
      );
    lines.push('');
  }
  if (connect.length) {
    lines.push(
      '| scenario | server | connected | conns/s | CPU µs/conn | conns/s per core | connect p50 / p99 ms | RSS MB (base → idle) | RSS KB/conn | failed | gen µs/conn | load |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const r of connect)
      lines.push(
        `| ${r.scenario} | ${r.targetLabel} | ${fmt(r.connected)} | ${fmt(r.connsPerS)} | ${fmt(r.cpuUsPerConn, 1)} | ${fmt(r.cpuUsPerConn > 0 ? 1e6 / r.cpuUsPerConn : Number.NaN)} | ${fmt(r.connectP50Ms, 1)} / ${fmt(r.connectP99Ms, 1)} | ${fmt(r.rssBaselineMB, 1)} → ${fmt(r.rssMB, 1)} | ${fmt(r.rssPerConnKB, 2)} | ${r.failedConnects} | ${fmt(perUnit(r.generatorCpuMs, r.connected), 1)} | ${fmt(r.loadAvg1m, 2)} |`,
      );
    lines.push('');
  }
  if (soak.length) {
    lines.push(
      '| scenario | server | peers | duration s | round trips | RTT p50 / p99 ms | heartbeats | RSS MB (base → end) | lost | errors | load |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const r of soak)
      lines.push(
        `| ${r.scenario} | ${r.targetLabel} | ${fmt(r.connected)} | ${fmt(r.durationS, 0)} | ${fmt(r.roundTrips)} | ${fmt(r.rttP50Ms, 2)} / ${fmt(r.rttP99Ms, 2)} | ${fmt(r.heartbeatsSent)} | ${fmt(r.rssBaselineMB, 1)} → ${fmt(r.rssMB, 1)} | ${r.lost + r.misrouted + r.unacked} | ${r.errors + r.unexpectedCloses} | ${fmt(r.loadAvg1m, 2)} |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

export function markdownReport(report: RunReport): string {
  const m = report.machine;
  return [
    `Run ${report.startedAt} → ${report.finishedAt}; ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB; Node ${m.node}; ${m.platform}.`,
    `Versions: ${Object.entries(report.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    report.pinned
      ? 'Server-side processes (instances and Redis) pinned to CPU 0, generators to CPU 1.'
      : 'Processes not pinned.',
    '',
    markdownTable(report.results),
  ].join('\n');
}

/** The line after which a document's results section starts. */
export const RESULTS_MARKER = '<!-- results: replaced by the latest run -->';

/** Replace everything after RESULTS_MARKER in `doc` with `report` (the marker must exist). */
export function replaceResults(doc: string, report: string): string | null {
  const at = doc.indexOf(RESULTS_MARKER);
  if (at < 0) return null;
  return `${doc.slice(0, at + RESULTS_MARKER.length)}\n\n${report.trim()}\n`;
}
