import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import * as constants from '../src/constants.js';
import { LOADTEST_ERRORS } from '../src/errors.js';

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

it('every LOAD_ERR_* code is documented in docs/errors.md', () => {
  const errors = doc('errors.md');
  for (const code of Object.keys(LOADTEST_ERRORS)) expect(errors, code).toContain(`\`${code}\``);
});

it('every load-test limit is listed in docs/limits.md', () => {
  const limits = doc('limits.md').slice(doc('limits.md').indexOf('## Load test'));
  for (const name of Object.keys(constants).filter((n) => /^[A-Z0-9_]+$/.test(n) && !n.startsWith('SIGNAL_')))
    expect(limits, name).toContain(`\`${name}\``);
});
