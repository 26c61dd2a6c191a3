import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AGENT_ERRORS } from '../src/errors.js';

describe('error registry', () => {
  it('documents every AGENT_ERR code in docs/errors.md (AI agent plugin section)', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## AI agent plugin'));
    for (const code of Object.keys(AGENT_ERRORS)) expect(section, code).toContain(`\`${code}\``);
  });
});
