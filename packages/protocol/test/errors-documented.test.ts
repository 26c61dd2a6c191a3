import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { PROTOCOL_ERRORS } from '../src/index.js';

it('every PROTO_ERR_* code is documented in docs/errors.md', () => {
  const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
  for (const code of Object.keys(PROTOCOL_ERRORS)) expect(doc, code).toContain(`\`${code}\``);
});
