/**
 * Summarise V8 .cpuprofile files (from `npm run loadtest -- … --profile DIR`): the functions
 * with the most self time, with their share of all samples.
 *
 * Usage: node --import tsx loadtest/src/profile-summary.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export interface HotFunction {
  name: string;
  where: string;
  selfPct: number;
}

export function hotFunctions(profile: { nodes: ProfileNode[] }, top = 25): HotFunction[] {
  const byKey = new Map<string, { name: string; where: string; hits: number }>();
  let total = 0;
  for (const n of profile.nodes) {
    const hits = n.hitCount ?? 0;
    total += hits;
    const f = n.callFrame;
    const where = `${f.url.replace(/^.*\/(node_modules|apps|packages)\//, '$1/')}:${f.lineNumber + 1}`;
    const key = `${f.functionName}@${where}`;
    const e = byKey.get(key) ?? { name: f.functionName || '(anonymous)', where, hits: 0 };
    e.hits += hits;
    byKey.set(key, e);
  }
  return [...byKey.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfPct: Math.round((e.hits / Math.max(1, total)) * 1000) / 10 }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  const rows = hotFunctions(JSON.parse(readFileSync(file, 'utf8')), Number(process.argv[3] ?? 25));
  for (const r of rows) process.stdout.write(`${r.selfPct.toFixed(1).padStart(5)}%  ${r.name}  ${r.where}\n`);
}
