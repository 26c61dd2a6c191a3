import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/config.js';
import { RESULTS_MARKER, replaceResults } from '../src/report.js';
import { splitShards } from '../src/runner.js';
import { planScenario } from '../src/scenarios.js';
import { percentile, Reservoir, summarize } from '../src/stats.js';

describe('parseArgs', () => {
  it('reads the documented options and freezes the result', () => {
    const c = parseArgs(['relay', '--size', '16k', '--duration', '5', '--instances', '2', '--pairs', '10']);
    expect(c).toMatchObject({ scenario: 'relay', size: '16k', durationS: 5, pairs: 10, targets: ['rdv-redis-2'] });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every problem at once', () => {
    try {
      parseArgs(['nope', '--peers', '3', '--duration', '0', '--size', '2k', '--bogus', 'x', '--target', 'mars']);
      expect.unreachable();
    } catch (e) {
      const msg = (e as Error).message;
      expect((e as { code: string }).code).toBe('LOAD_ERR_CONFIG');
      for (const part of ['scenario must be', '--duration', '--size', '--bogus', 'mars', 'even'])
        expect(msg).toContain(part);
    }
  });
});

describe('splitShards', () => {
  it('keeps pairs whole and spreads active pairs', () => {
    const s = splitShards(19_000, 10, 3);
    expect(s.reduce((n, x) => n + x.count, 0)).toBe(19_000);
    expect(s.every((x) => x.first % 2 === 0 && x.count % 2 === 0)).toBe(true);
    expect(s.reduce((n, x) => n + x.active, 0)).toBe(10);
  });
});

describe('scenario plans', () => {
  it('sizes relay envelopes and signal cycles as documented', () => {
    expect(planScenario('relay', { size: '1k' }).traffic.forward[0]!.envelopeBytes).toBe(1024);
    const sig = planScenario('signal', {});
    expect(sig.traffic.forward.map((m) => m.kind)).toEqual([
      'offer',
      'candidate',
      'candidate',
      'candidate',
      'candidate',
    ]);
    expect(sig.traffic.channel).toBe('signal');
  });
});

describe('stats', () => {
  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(summarize(v)).toMatchObject({ p50: 500, p99: 990, p999: 999, max: 1000 });
    expect(percentile([], 50)).toBeNaN();
  });

  it('the reservoir stays bounded and counts everything', () => {
    const r = new Reservoir(100);
    for (let i = 0; i < 10_000; i++) r.add(i);
    expect(r.values()).toHaveLength(100);
    expect(r.count).toBe(10_000);
  });
});

describe('replaceResults', () => {
  it('replaces only what follows the marker, and refuses a document without it', () => {
    const doc = `# Perf\n\nintro\n\n${RESULTS_MARKER}\n\nold table\n`;
    expect(replaceResults(doc, 'new table')).toBe(`# Perf\n\nintro\n\n${RESULTS_MARKER}\n\nnew table\n`);
    expect(replaceResults('# nothing', 'x')).toBeNull();
  });
});
