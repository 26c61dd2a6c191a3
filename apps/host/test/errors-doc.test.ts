import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HOST_ERRORS } from '../src/errors.js';

describe('error registry', () => {
  it('documents every HOST_ERR code in docs/errors.md (Host gateway section)', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Host gateway'));
    for (const code of Object.keys(HOST_ERRORS)) expect(section, code).toContain(`\`${code}\``);
  });
});
