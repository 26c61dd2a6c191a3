import { generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterAll, beforeAll, describe } from 'vitest';
import type { Link } from '../../src/transports/link.js';
import { RelayTransport } from '../../src/transports/relay.js';
import { RendezvousConnection } from '../../src/transports/rendezvous-connection.js';
import { startRendezvous } from '../helpers/server.js';
import { runLinkConformance } from './conformance.js';
import { spawnPeer } from './fixtures/child.js';

let server: Awaited<ReturnType<typeof startRendezvous>>;
beforeAll(async () => {
  server = await startRendezvous();
});
afterAll(async () => {
  await server.close();
});

async function connected(conn: RendezvousConnection): Promise<void> {
  conn.start();
  await new Promise<void>((r) => conn.once('welcome', () => r()));
}

describe('relay path', () => {
  runLinkConformance({
    kind: 'relay',
    deathDetectMs: 5_000,
    semantics: 'relay',
    pair: async () => {
      const idA = generateIdentity(nodeSuite);
      const idB = generateIdentity(nodeSuite);
      const connA = new RendezvousConnection({ url: server.url, identity: idA, suite: nodeSuite });
      const connB = new RendezvousConnection({ url: server.url, identity: idB, suite: nodeSuite });
      const relayA = new RelayTransport(connA, () => {});
      const relayB = new RelayTransport(connB, () => {});
      await Promise.all([connected(connA), connected(connB)]);
      const a = relayA.open(idB.publicKey) as Link;
      const b = relayB.open(idA.publicKey) as Link;
      return {
        a,
        b,
        idA,
        idB,
        dispose: async () => {
          connA.stop();
          connB.stop();
        },
      };
    },
    mortalPair: async () => {
      const idA = generateIdentity(nodeSuite);
      const child = spawnPeer('./relay-peer.ts', [server.url]);
      try {
        const { key } = (await child.next()) as { key: string };
        const connA = new RendezvousConnection({ url: server.url, identity: idA, suite: nodeSuite });
        const relayA = new RelayTransport(connA, () => {});
        await connected(connA);
        const { decodeKey } = await import('@p2p-comm/protocol');
        const a = relayA.open(decodeKey(key)) as Link;
        return {
          a,
          idA,
          kill: () => child.kill(),
          dispose: async () => {
            child.kill();
            connA.stop();
          },
        };
      } catch (err) {
        child.kill();
        throw err;
      }
    },
  });
});
