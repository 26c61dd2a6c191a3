import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as direct from '../../src/transports/direct-constants.js';
import { PATH_ERRORS } from '../../src/transports/direct-errors.js';
import { LINK_EARLY_ENVELOPES_MAX } from '../../src/transports/direct-link-events.js';
import * as mdns from '../../src/transports/mdns-constants.js';
import * as path from '../../src/transports/path-constants.js';
import * as webrtc from '../../src/transports/webrtc-constants.js';

const doc = (name: string) => readFileSync(new URL(`../../../docs/${name}`, import.meta.url), 'utf8');

describe('path docs', () => {
  it('documents every path error code in docs/errors.md', () => {
    const text = doc('errors.md');
    for (const code of Object.keys(PATH_ERRORS)) expect(text, code).toContain(`\`${code}\``);
  });

  it('lists every path limit in docs/limits.md', () => {
    const text = doc('limits.md');
    const names = [
      ...Object.keys(direct),
      ...Object.keys(webrtc),
      ...Object.keys(mdns),
      ...Object.keys(path),
      'LINK_EARLY_ENVELOPES_MAX',
    ];
    const internal = new Set([
      'DIRECT_WS_PATH',
      'DIRECT_HANDSHAKE_VERSION',
      'MDNS_SERVICE_TYPE',
      'MDNS_DEFAULT_PORT',
      'MDNS_DEFAULT_GROUP',
    ]);
    expect(LINK_EARLY_ENVELOPES_MAX).toBeGreaterThan(0);
    for (const name of names.filter((n) => !internal.has(n))) expect(text, name).toContain(`\`${name}\``);
  });
});
