/**
 * The smoke tests assert "zero lost"; this one proves the generator can see a loss. A peer's
 * socket is closed before traffic starts, so everything addressed to it must count as lost.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LoadShard } from '../src/generator/shard.js';
import { relayTraffic } from '../src/scenarios.js';
import { freePort, type Spawned, spawnPinned, tsEntry, waitForPort } from '../src/spawn.js';

let server: Spawned;
let port: number;

beforeAll(async () => {
  port = await freePort();
  server = spawnPinned(tsEntry('loadtest/src/refs/bare-forwarder.ts', String(port)), { cpus: null, label: 'bare' });
  await waitForPort(port, server);
});
afterAll(async () => {
  await server?.stop();
});

it('counts messages to a vanished peer as lost and never as delivered', async () => {
  const t = relayTraffic('300');
  const shard = new LoadShard({
    protocol: 'bare',
    endpoints: [{ host: '127.0.0.1', port }],
    firstPeer: 0,
    peerCount: 4,
    activePairs: 2,
    channel: t.channel,
    forward: t.forward,
    reply: t.reply,
    connectConcurrency: 4,
    sourceAddresses: 1,
  });
  try {
    const c = await shard.connect();
    expect(c.ok).toBe(4);
    shard.peers[1]!.ws!.close();
    await new Promise((r) => setTimeout(r, 100));
    shard.run({ kind: 'throughput', window: 3 }, null);
    shard.mark();
    await new Promise((r) => setTimeout(r, 300));
    const s = await shard.stop();
    // Peer 0 sent its window of 3 into the void; the healthy pair kept going.
    expect(s.lost).toBe(3);
    expect(s.totalDelivered).toBe(s.totalSent - 3);
    expect(s.delivered).toBeGreaterThan(0);
  } finally {
    shard.close();
  }
}, 20_000);
