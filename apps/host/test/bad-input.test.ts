/** Arbitrary plugin input gets a typed HOST_ERR_* answer and never reaches the extension. */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { HOST_ERRORS } from '../src/errors.js';
import { API_PREFIX } from '../src/routes/plugin-api.js';
import { AGENT_TOKEN, makeHost } from './support/harness.js';
import { fakeKey } from './support/stub-extension.js';

const host = makeHost({ key: fakeKey(1), agentPeers: [fakeKey(2)] });
afterAll(() => host.app.close());

describe('plugin API under arbitrary input', () => {
  it('answers every malformed request with a documented code', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json({ maxDepth: 3 }).map((j) => j),
        ),
        fc.constantFrom('/send', '/peers/connect', '/messages?wait=abc', '/messages?max=0', '/send?x=1'),
        async (payload, path) => {
          const r = await host.app.inject({
            method: path.startsWith('/messages') ? 'GET' : 'POST',
            url: `${API_PREFIX}${path}`,
            headers: { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}`, 'content-type': 'application/json' },
            ...(path.startsWith('/messages') ? {} : { payload }),
          });
          if (r.statusCode >= 400) {
            const code = r.json().error.code as string;
            expect(Object.keys(HOST_ERRORS)).toContain(code);
            expect(r.statusCode).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 200 },
    );
    // Only a valid { to, body } with an in-scope peer may reach the extension.
    for (const s of host.ext.sent) expect(s.to).toBe(fakeKey(2));
  });
});
