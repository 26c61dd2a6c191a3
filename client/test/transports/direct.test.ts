import { generateIdentity, toHex } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { describe } from 'vitest';
import { dialDirect } from '../../src/transports/direct-dialer.js';
import type { DirectLink } from '../../src/transports/direct-link.js';
import { DirectListener } from '../../src/transports/direct-listener.js';
import { runLinkConformance } from './conformance.js';
import { spawnPeer } from './fixtures/child.js';

/** A listener for `idB` that trusts only `idA`, and `idA` dialing it. */
export async function directPair(timings?: { pingIntervalMs: number; deadAfterMs: number }) {
  const idA = generateIdentity(nodeSuite);
  const idB = generateIdentity(nodeSuite);
  let resolveB!: (l: DirectLink) => void;
  const bLink = new Promise<DirectLink>((r) => {
    resolveB = r;
  });
  const listener = new DirectListener({
    suite: nodeSuite,
    identity: idB,
    host: '127.0.0.1',
    port: 0,
    acceptKey: (k) => toHex(k) === toHex(idA.publicKey),
    onLink: resolveB,
    timings,
  });
  const { port } = await listener.start();
  const a = await dialDirect({
    suite: nodeSuite,
    identity: idA,
    address: { host: '127.0.0.1', port },
    expectedKey: idB.publicKey,
    timings,
  });
  const b = await bLink;
  return {
    a,
    b,
    idA,
    idB,
    listener,
    dispose: async () => {
      a.close();
      b.close();
      await listener.stop();
    },
  };
}

describe('direct path', () => {
  runLinkConformance({
    kind: 'direct',
    deathDetectMs: 5_000,
    pair: () => directPair(),
    mortalPair: async () => {
      const idA = generateIdentity(nodeSuite);
      const idB = generateIdentity(nodeSuite);
      const child = spawnPeer('./direct-peer.ts', [toHex(idB.secretKey), toHex(idA.publicKey)]);
      try {
        const { port } = (await child.next()) as { port: number };
        const a = await dialDirect({
          suite: nodeSuite,
          identity: idA,
          address: { host: '127.0.0.1', port },
          expectedKey: idB.publicKey,
          timings: { pingIntervalMs: 500, deadAfterMs: 2_000 },
        });
        return { a, idA, kill: () => child.kill(), dispose: async () => child.kill() };
      } catch (err) {
        child.kill();
        throw err;
      }
    },
  });
});
