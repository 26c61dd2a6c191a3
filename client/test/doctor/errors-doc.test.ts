import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCTOR_ERROR_CODES } from '../../src/doctor/index.js';
import { STUN_ERROR_CODES } from '../../src/stun/index.js';

const errorsDoc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const limitsDoc = readFileSync(new URL('../../../docs/limits.md', import.meta.url), 'utf8');

describe('STUN and doctor docs', () => {
  it('document every error code', () => {
    for (const code of [...Object.keys(STUN_ERROR_CODES), ...Object.keys(DOCTOR_ERROR_CODES)]) {
      expect(errorsDoc, code).toContain(`\`${code}\``);
    }
  });
  it('document every limit', () => {
    for (const name of [
      'STUN_MAX_MESSAGE_BYTES',
      'STUN_MAX_ATTRIBUTES',
      'STUN_INITIAL_RTO_MS',
      'STUN_MAX_TRANSMISSIONS',
      'STUN_TRANSACTION_TIMEOUT_MS',
      'DOCTOR_HTTP_TIMEOUT_MS',
    ]) {
      expect(limitsDoc, name).toContain(`\`${name}\``);
    }
  });
});
