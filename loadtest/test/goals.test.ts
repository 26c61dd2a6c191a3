import { expect, it } from 'vitest';
import { GOALS_SUITE, goalRows, goalsMarkdown } from '../src/goals.js';
import type { ScenarioResult } from '../src/runner.js';
import { planScenario } from '../src/scenarios.js';
import type { TargetName } from '../src/targets.js';

/** A result carrying only what the goals read; the scenario label comes from the real planner. */
function result(label: string, target: TargetName, fields: Partial<ScenarioResult>): ScenarioResult {
  return {
    scenario: label,
    target,
    cpuUsPerConn: 0,
    msgsPerS: null,
    cpuUsPerMsg: null,
    rttP99Ms: null,
    ...fields,
  } as ScenarioResult;
}

const label = (i: number) => {
  const s = GOALS_SUITE[i]!;
  return planScenario(s.scenario, { ...(s.peers ? { peers: s.peers } : {}), ...(s.size ? { size: s.size } : {}) })
    .label;
};

it('every goal finds its rows under the labels the planner gives the suite steps', () => {
  const results: ScenarioResult[] = [];
  GOALS_SUITE.forEach((step, i) => {
    for (const t of step.targets)
      results.push(result(label(i), t, { cpuUsPerConn: 500, msgsPerS: 1000, cpuUsPerMsg: 10, rttP99Ms: 2 }));
  });
  const rows = goalRows(results);
  expect(rows.length).toBeGreaterThan(0);
  for (const r of rows) expect(r.met, `${r.what} × ${r.target}`).not.toBeNull();
});

it('ratios are to the bare forwarder of the same scenario, verdicts follow each goal direction', () => {
  const connect = label(0);
  const relay300 = label(1);
  const rows = goalRows([
    // 1e6/1000 = 1,000/s/core against 1e6/500 = 2,000: 0.5× < 0.6×, missed.
    result(connect, 'bare', { cpuUsPerConn: 500 }),
    result(connect, 'rdv-memory', { cpuUsPerConn: 1000 }),
    // CPU/msg: 4 against 10 is 0.4× ≤ 0.5×, met; 6 is 0.6×, missed.
    result(relay300, 'bare', { cpuUsPerMsg: 10 }),
    result(relay300, 'rdv-redis-2', { cpuUsPerMsg: 4 }),
    result(relay300, 'rdv-links-2', { cpuUsPerMsg: 6 }),
  ]);
  const row = (what: RegExp, target: TargetName) => rows.find((r) => what.test(r.what) && r.target === target)!;
  expect(row(/connections/, 'rdv-memory')).toMatchObject({ ratio: 0.5, met: false });
  expect(row(/300 B/, 'rdv-redis-2')).toMatchObject({ ratio: 0.4, met: true });
  expect(row(/300 B/, 'rdv-links-2')).toMatchObject({ ratio: 0.6, met: false });
  // Not run: no verdict, and the table says so instead of guessing.
  expect(row(/16 KiB/, 'rdv-links-2').met).toBeNull();
  expect(goalsMarkdown(rows)).toContain('not measured');
});
