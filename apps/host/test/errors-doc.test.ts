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

describe('MCP server codes', () => {
  it('documents every MCP_ERR code in docs/errors.md (MCP server section)', () => {
    // Read as text: apps/ don't import client/.
    const src = readFileSync(new URL('../../../client/src/mcp/errors.ts', import.meta.url), 'utf8');
    const codes = [...src.matchAll(/^\s+(MCP_ERR_[A-Z_]+):/gm)].map((m) => m[1]!);
    expect(codes.length).toBeGreaterThan(3);
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## MCP server'));
    for (const code of codes) expect(section, code).toContain(`\`${code}\``);
  });
});
