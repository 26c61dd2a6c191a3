/**
 * Long messages over the extension's JSON-RPC (stdio): two `p2p-comm extension` processes
 * through a real rendezvous server. `messages.send` of 10 MiB is one request line (under
 * RPC_MAX_LINE_BYTES), answered at once with the id; the peer's `message.received` carries the
 * whole text once and the sender gets `message.delivered`. The maximum comes from
 * P2P_COMM_MAX_LONG_MESSAGE_BYTES: over it the answer is the typed error with the limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExtensionProcess } from './helpers/extension-process.js';
import { startRendezvous, tempHome, waitFor } from './helpers/server.js';

const MiB = 1024 * 1024;
const cleanups: Array<() => Promise<unknown> | unknown> = [];
let alice: ExtensionProcess;
let bob: ExtensionProcess;
let bobKey: string;

beforeAll(async () => {
  const srv = await startRendezvous();
  cleanups.push(() => srv.close());
  const spawn = async (name: string, env: Record<string, string>) => {
    const { home, cleanup } = tempHome();
    const ext = new ExtensionProcess(home, srv.url, [], env);
    cleanups.push(cleanup, () => ext.kill());
    await ext.call('identity.setName', { name });
    await ext.waitConnected();
    return ext;
  };
  [alice, bob] = await Promise.all([
    spawn('Alice', { P2P_COMM_MAX_LONG_MESSAGE_BYTES: String(12 * MiB) }),
    spawn('Bob', {}),
  ]);
  const b = await bob.call<{ key: string; share: string }>('identity.get');
  bobKey = b.key;
  await alice.call('peers.connect', { share: b.share });
  const req = await bob.waitNotification('consent.request', () => true);
  await bob.call('consent.respond', { key: req.key, accept: true });
  await alice.waitNotification('peer.status', (p) => p.key === bobKey && p.state === 'trusted');
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('long messages over JSON-RPC', () => {
  it('messages.send of 10 MiB: one message.received with the whole text, message.delivered at the sender', async () => {
    const text = `${'0123456789abcdef'.repeat(MiB / 16)}\n`.repeat(10).slice(0, 10 * MiB);
    const started = performance.now();
    const sent = await alice.call<{ id: string; seq: number; to: string }>('messages.send', { peer: 'Bob', text });
    expect(sent.seq).toBe(-1);
    expect(sent.to).toBe(bobKey);
    await alice.waitNotification('message.delivered', (p) => p.id === sent.id, 120_000);
    console.log(
      `10 MiB messages.send through two extension processes over the relay: ${((performance.now() - started) / 1000).toFixed(2)} s`,
    );
    await waitFor(() => bob.received().some((m) => m.id === sent.id), 10_000, 'at Bob');
    const got = bob.received().filter((m) => m.id === sent.id);
    expect(got).toHaveLength(1);
    expect(got[0]!.text === text).toBe(true);
  }, 180_000);

  it('over P2P_COMM_MAX_LONG_MESSAGE_BYTES: CLIENT_ERR_MESSAGE_TOO_LARGE (-32012) naming the limit', async () => {
    const r = await alice.request('messages.send', {
      peer: 'Bob',
      data: Buffer.alloc(12 * MiB + 1).toString('base64'),
    });
    expect(r.error?.code).toBe(-32012);
    expect(r.error?.data).toMatchObject({ code: 'CLIENT_ERR_MESSAGE_TOO_LARGE', limit: 12 * MiB });
  }, 60_000);
});
