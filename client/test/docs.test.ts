import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as constants from '../src/constants.js';
import { CLIENT_ERRORS } from '../src/errors.js';
import { METHODS } from '../src/extension/methods.js';

const doc = (name: string) => readFileSync(new URL(`../../docs/${name}`, import.meta.url), 'utf8');

function section(text: string, heading: string): string {
  const start = text.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const next = text.indexOf('\n## ', start + heading.length);
  return text.slice(start, next < 0 ? undefined : next);
}

describe('docs stay in sync with the code', () => {
  it('every CLIENT_ERR_* code is documented in docs/errors.md (Client) with its JSON-RPC code', () => {
    const client = section(doc('errors.md'), '## Client and extension');
    for (const [code, { rpc }] of Object.entries(CLIENT_ERRORS)) expect(client).toContain(`| \`${code}\` | ${rpc} |`);
  });

  it('every limit in constants.ts is listed in docs/limits.md (Client)', () => {
    const client = section(doc('limits.md'), '## Client');
    for (const [name, value] of Object.entries(constants)) {
      expect(client).toContain(`| \`${name}\` | ${(value as number).toLocaleString('en-US')} |`);
    }
  });

  it('every JSON-RPC method is documented in docs/extension-rpc.md', () => {
    const rpc = doc('extension-rpc.md');
    for (const method of Object.keys(METHODS)) expect(rpc).toContain(`| \`${method}\``);
  });

  it('README and docs/ install the packed tarballs and never npx the unpublished p2p-comm name (issue 16)', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const version = (dir: string) =>
      (JSON.parse(readFileSync(new URL(`../../${dir}/package.json`, import.meta.url), 'utf8')) as { version: string })
        .version;
    expect(readme).toContain(
      `npm install -g ./p2p-comm-client-${version('client')}.tgz ./p2p-comm-rendezvous-${version('apps/rendezvous')}.tgz`,
    );
    const docs = readdirSync(new URL('../../docs/', import.meta.url)).filter((f) => f.endsWith('.md'));
    for (const [name, text] of [['README.md', readme], ...docs.map((f) => [f, doc(f)])] as Array<[string, string]>) {
      expect(text, name).not.toMatch(/npx\s+p2p-comm/);
      expect(text, name).not.toMatch(/"npx",\s*"p2p-comm"/);
    }
  });
});
