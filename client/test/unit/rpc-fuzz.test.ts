/**
 * Every JSON-RPC method of the extension with arbitrary params, against a real started client
 * (offline: no server, its own temp NEXUS_HOME). Bad params must come back as a typed error:
 * never an internal error (-32603, a TypeError or the like escaping a method).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RPC, toRpcError } from '../../src/extension/jsonrpc.js';
import { METHODS } from '../../src/extension/methods.js';
import { createClient, type P2PClient } from '../../src/index.js';
import { tempHome } from '../helpers/server.js';

let client: P2PClient;
const home = tempHome('p2p-rpc-fuzz-');
beforeAll(async () => {
  client = createClient({ home: home.home, paths: { webrtc: false } });
  await client.start();
});
afterAll(async () => {
  await client.stop();
  home.cleanup();
});

/** Param values shaped like the real ones often enough to get past the first check. */
const value = fc.oneof(
  fc.anything(),
  fc.string(),
  fc.constantFrom('', 'A'.repeat(43), 'p2p-comm://', `p2p-comm://${'A'.repeat(43)}@h:1?name=x`, 'YQ==', '==', true),
);
const params = fc.oneof(
  fc.anything(),
  fc.dictionary(
    fc.constantFrom('name', 'share', 'key', 'peer', 'text', 'data', 'requestId', 'accept', 'approvalId', 'allow'),
    value,
  ),
);

describe('JSON-RPC methods with arbitrary params', () => {
  it('answer or fail with a typed error, never an internal one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...Object.keys(METHODS)), params, async (method, p) => {
        try {
          await METHODS[method]!(client, p);
        } catch (err) {
          const e = toRpcError(err);
          expect(e.code, `${method} ${String(err)}`).not.toBe(RPC.INTERNAL_ERROR);
        }
      }),
      { numRuns: 500 },
    );
  });
});
