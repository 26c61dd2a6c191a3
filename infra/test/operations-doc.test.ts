/**
 * docs/operations.md stays true to the code: every server variable with its default from
 * CONFIG_SPEC, every variable of .env.example, and every shipped alert rule.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONFIG_SPEC, type ConfigEntry } from '../../apps/rendezvous/src/config.js';
import { parseEnvFile, REPO_ROOT } from './compose.js';

const doc = readFileSync(`${REPO_ROOT}docs/operations.md`, 'utf8');

/** How the doc writes a default: `value`, "unset", or the computed-default note "(HOST)". */
function formatDefault(value: ConfigEntry['default']): string {
  if (value === null) return 'unset';
  if (typeof value === 'string' && value.startsWith('(')) return value;
  return `\`${String(value)}\``;
}

/** Table rows whose first cell is one `CODE` name, as name → second cell (tables may be padded). */
const rows = new Map(
  [...doc.matchAll(/^\|\s*(`[A-Za-z0-9_]+`)\s*\|\s*([^|]*?)\s*\|/gm)].map(
    (m) => [m[1]!.slice(1, -1), m[2]!.trim()] as const,
  ),
);

describe('docs/operations.md', () => {
  it('lists every server variable with its default', () => {
    const wrong = CONFIG_SPEC.filter((e) => rows.get(e.env) !== formatDefault(e.default)).map(
      (e) => `${e.env}: doc says ${rows.get(e.env) ?? 'nothing'}, code says ${formatDefault(e.default)}`,
    );
    expect(wrong).toEqual([]);
  });

  it('lists no server variable the server does not have', () => {
    const known = new Set(CONFIG_SPEC.map((e) => e.env));
    const serverTable = doc.slice(doc.indexOf('## Configuration reference'), doc.indexOf('**Compose-only variables**'));
    const documented = [...serverTable.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]!);
    expect(documented.filter((v) => !known.has(v))).toEqual([]);
  });

  it('explains every variable of .env.example', () => {
    const vars = Object.keys(parseEnvFile(readFileSync(`${REPO_ROOT}.env.example`, 'utf8')));
    expect(vars.filter((v) => !doc.includes(`\`${v}\``))).toEqual([]);
  });

  it('explains every shipped alert', () => {
    const rules = parseYaml(readFileSync(`${REPO_ROOT}infra/prometheus/alerts.yml`, 'utf8')) as {
      groups: { rules: { alert: string }[] }[];
    };
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts.length).toBeGreaterThan(0);
    const documented = new Set(rows.keys());
    expect(alerts.filter((a) => !documented.has(a))).toEqual([]);
  });
});
