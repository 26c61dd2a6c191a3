/**
 * The path upgrader treats every negotiation envelope as untrusted input: forged, replayed,
 * malformed or hostile ones change nothing and never throw. The rendezvous connection here is
 * a real one that is not started; its 'deliver' event is what a server DELIVER raises.
 */
import { EnvelopeType, encodeKey, generateIdentity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PathUpgrader } from '../../src/transports/direct-paths.js';
import { PathManager } from '../../src/transports/path-manager.js';
import { RendezvousConnection } from '../../src/transports/rendezvous-connection.js';

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

async function setup() {
  const me = generateIdentity(nodeSuite);
  const friend = generateIdentity(nodeSuite);
  const stranger = generateIdentity(nodeSuite);
  const paths = new PathManager(() => {});
  const conn = new RendezvousConnection({ url: 'ws://127.0.0.1:9', identity: me, suite: nodeSuite });
  const up = new PathUpgrader({
    suite: nodeSuite,
    identity: me,
    paths,
    conn,
    isTrusted: (k) => k === encodeKey(friend.publicKey),
    webrtc: false,
    timings: { tickMs: 60_000 },
    // Everything here runs on one machine: the friend's addresses are loopback.
    addressPolicy: { allowLoopback: true },
  });
  await up.start();
  stops.push(() => up.stop());
  const signal = (from: typeof friend, json: unknown, to = me.publicKey) =>
    sealEnvelope(nodeSuite, {
      type: EnvelopeType.SIGNAL,
      sender: from,
      recipient: to,
      plaintext: new TextEncoder().encode(typeof json === 'string' ? json : JSON.stringify(json)),
    });
  return { me, friend, stranger, paths, conn, up, signal };
}

describe('path upgrader input handling', () => {
  it('never throws on arbitrary SIGNAL payloads from a trusted peer, nor on raw garbage', async () => {
    const { friend, conn, signal } = await setup();
    const negotiation = fc.oneof(
      fc.json(),
      fc.record({ t: fc.constantFrom('rtc', 'rtc-req', 'rtc-off', 'addrs'), id: fc.string(), s: fc.anything() }),
      fc.record({
        t: fc.constant('addrs'),
        // Loopback or non-IP hosts only: the test must not dial anywhere else.
        a: fc.array(
          fc.record({
            h: fc.constantFrom('127.0.0.1', 'example.invalid', '', '::1x'),
            p: fc.oneof(fc.integer(), fc.double()),
          }),
          { maxLength: 40 },
        ),
      }),
    );
    fc.assert(
      fc.property(negotiation, (json) => {
        expect(() => conn.emit('deliver', friend.publicKey, signal(friend, json), 0)).not.toThrow();
      }),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        expect(() => conn.emit('deliver', friend.publicKey, bytes, 0)).not.toThrow();
      }),
      { numRuns: 200 },
    );
  });

  it("ignores negotiation from strangers and forged senders; dials a friend's published addresses", async () => {
    const { friend, stranger, paths, conn, signal } = await setup();
    const friendKey = encodeKey(friend.publicKey);
    const addrs = (n: number, base: number) => ({
      t: 'addrs',
      a: Array.from({ length: n }, (_, i) => ({ h: '127.0.0.1', p: base + i })),
    });
    // A stranger's addresses, and a friend's envelope relayed as if from the stranger: ignored.
    conn.emit('deliver', stranger.publicKey, signal(stranger, addrs(3, 1)), 0);
    conn.emit('deliver', stranger.publicKey, signal(friend, addrs(3, 1)), 0);
    // Sealed for someone else: ignored.
    conn.emit('deliver', friend.publicKey, signal(friend, addrs(3, 1), stranger.publicKey), 0);
    // On the relay channel (1) it is not negotiation at all.
    conn.emit('deliver', friend.publicKey, signal(friend, addrs(3, 1)), 1);
    // Names instead of IP literals: never resolved, never dialed.
    conn.emit('deliver', friend.publicKey, signal(friend, { t: 'addrs', a: [{ h: 'example.invalid', p: 80 }] }), 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(paths.status(friendKey)).toBe('no path');

    // A real one: the upgrader dials (nothing listens on ports 1..: "direct: unreachable").
    const env = signal(friend, addrs(20, 1));
    conn.emit('deliver', friend.publicKey, env, 0);
    await new Promise((r) => setTimeout(r, 500));
    expect(paths.status(friendKey)).toMatch(/direct: (unreachable|connecting)/);
  });

  it('a replayed negotiation envelope is refused (its effect does not happen twice)', async () => {
    const { friend, paths, conn, signal } = await setup();
    const friendKey = encodeKey(friend.publicKey);
    // "rtc-off" sets the peer's WebRTC status line synchronously: an observable effect.
    const env = signal(friend, { t: 'rtc-off' });
    conn.emit('deliver', friend.publicKey, env, 0);
    expect(paths.status(friendKey)).toContain('webrtc: disabled by peer');
    paths.setStatus(friendKey, 'webrtc', 'webrtc: marker');
    conn.emit('deliver', friend.publicKey, env, 0); // the same bytes again
    expect(paths.status(friendKey)).toContain('webrtc: marker');
    // A fresh envelope with the same content is not a replay and takes effect.
    conn.emit('deliver', friend.publicKey, signal(friend, { t: 'rtc-off' }), 0);
    expect(paths.status(friendKey)).toContain('webrtc: disabled by peer');
  });
});
