import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_SPEC } from '../src/config.js';
import * as C from '../src/constants.js';
import { RDV_ERRORS } from '../src/errors.js';

const root = new URL('../../../', import.meta.url);
const section = (file: string, heading: string) => {
  const text = readFileSync(new URL(file, root), 'utf8');
  const start = text.indexOf(heading);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = text.indexOf('\n## ', start + heading.length);
  return text.slice(start, end < 0 ? undefined : end);
};

describe('docs', () => {
  it('documents every error code with its close code in docs/errors.md', () => {
    const doc = section('docs/errors.md', '## Rendezvous');
    for (const [code, e] of Object.entries(RDV_ERRORS)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\``));
      expect(row, code).toBeDefined();
      expect(row!.split('|')[2]!.trim(), code).toBe(e.close === null ? '—' : String(e.close));
    }
  });

  it('lists every limit variable and constant in docs/limits.md', () => {
    const doc = section('docs/limits.md', '## Rendezvous');
    const limitEnvs = CONFIG_SPEC.filter((e) => e.kind.t === 'int' && e.env !== 'PORT' && !e.env.startsWith('STUN'));
    for (const e of limitEnvs) expect(doc, e.env).toContain(`\`${e.env}\``);
    const named = Object.keys(C).filter((k) => !k.startsWith('DEFAULT_'));
    for (const k of named) expect(doc, k).toContain(`\`${k}\``);
  });

  it('describes the server in docs/protocol.md', () => {
    expect(section('docs/protocol.md', '## Rendezvous server behaviour')).toContain('RDV_ERR_REPLACED');
  });
});
