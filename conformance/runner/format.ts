/** Human-readable lines of a run: one per step as it ends, then a summary per script and overall. */
import type { Report, StepResult } from './run.js';

const MARK = { pass: ' ok ', fail: 'FAIL', skip: 'skip' } as const;

export function formatStep(script: string, r: StepResult): string {
  const detail = r.detail ? ` — ${r.detail.replace(/\s+/g, ' ').slice(0, 300)}` : '';
  return `${MARK[r.status]} ${script} #${r.n} ${r.name} (${r.ms} ms)${detail}`;
}

export function formatReport(report: Report): string {
  const lines = ['', `conformance (interface ${report.interface}) — peer: ${report.peer}`];
  for (const s of report.scripts) {
    lines.push(`${MARK[s.status]} ${s.name} (${s.steps.length} steps, ${s.ms} ms)${s.reason ? ` — ${s.reason}` : ''}`);
    if (s.status === 'fail' && s.peerStderr) {
      lines.push('     peer stderr (tail):');
      for (const l of s.peerStderr.trimEnd().split('\n').slice(-20)) lines.push(`       ${l}`);
    }
  }
  const t = report.totals;
  lines.push(
    `${report.status === 'pass' ? 'PASS' : 'FAIL'}: ${t.pass} passed, ${t.fail} failed, ${t.skip} skipped; ${t.steps} steps in ${(t.ms / 1000).toFixed(1)} s`,
    '',
  );
  return lines.join('\n');
}
