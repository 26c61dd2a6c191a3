import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as constants from '../../src/files/constants.js';
import { TransferMessageType, TransferReason } from '../../src/files/wire.js';

const doc = (name: string) => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

function section(text: string, heading: string): string {
  const start = text.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const next = text.indexOf('\n#', start + heading.length);
  return text.slice(start, next < 0 ? undefined : next);
}

describe('file-transfer docs stay in sync with the code', () => {
  it('every limit in files/constants.ts is in docs/limits.md with its value', () => {
    const files = section(doc('limits.md'), '### Files and streams');
    for (const [name, value] of Object.entries(constants))
      expect(files).toContain(`| \`${name}\` | ${(value as number).toLocaleString('en-US')} |`);
  });

  it('docs/protocol.md names every message type and reason with its number', () => {
    const start = doc('protocol.md').indexOf('## Files and streams');
    expect(start).toBeGreaterThan(0);
    const text = doc('protocol.md').slice(start);
    for (const [name, n] of Object.entries(TransferMessageType)) expect(text).toMatch(new RegExp(`\\b${n} ${name}\\b`));
    for (const [name, n] of Object.entries(TransferReason)) expect(text).toContain(`${n} ${name}`);
  });
});
