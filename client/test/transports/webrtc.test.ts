import { generateIdentity, toHex } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { describe, expect, it } from 'vitest';
import { isPathError } from '../../src/transports/direct-errors.js';
import { type DataPeerFactory, simplePeerFactory, type WebRtcSignal } from '../../src/transports/webrtc-factory.js';
import { WebRtcAttempt, type WebRtcLink, webrtcReason } from '../../src/transports/webrtc-link.js';
import { checkSignal, decodeSignal, encodeSignal } from '../../src/transports/webrtc-signal.js';
import { closed, runLinkConformance } from './conformance.js';
import { spawnPeer } from './fixtures/child.js';

/**
 * Two wrtc peers in this process on loopback; signals go straight across (in the client they
 * ride in signed SIGNAL envelopes through the rendezvous). No ICE servers: host candidates.
 */
export async function webrtcPair(factory: DataPeerFactory = simplePeerFactory()) {
  const idA = generateIdentity(nodeSuite);
  const idB = generateIdentity(nodeSuite);
  let b: WebRtcAttempt | undefined;
  const pendingForB: WebRtcSignal[] = [];
  const a = new WebRtcAttempt({
    factory,
    initiator: true,
    remoteKey: idB.publicKey,
    iceServers: [],
    // Through the wire format, as the session layer will carry them.
    sendSignal: (s) => (b ? b.signal(decodeSignal(encodeSignal(s))) : pendingForB.push(s)),
  });
  b = new WebRtcAttempt({
    factory,
    initiator: false,
    remoteKey: idA.publicKey,
    iceServers: [],
    sendSignal: (s) => a.signal(decodeSignal(encodeSignal(s))),
  });
  for (const s of pendingForB.splice(0)) b.signal(s);
  const [la, lb] = await Promise.all([a.link, b.link]);
  return {
    a: la as WebRtcLink,
    b: lb as WebRtcLink,
    idA,
    idB,
    dispose: async () => {
      la.close();
      lb.close();
    },
  };
}

describe('webrtc path', () => {
  runLinkConformance({
    kind: 'webrtc',
    deathDetectMs: 8_000,
    pair: () => webrtcPair(),
    mortalPair: async () => {
      const idA = generateIdentity(nodeSuite);
      const idB = generateIdentity(nodeSuite);
      const child = spawnPeer('./webrtc-peer.ts', [toHex(idA.publicKey)]);
      const attempt = new WebRtcAttempt({
        factory: simplePeerFactory(),
        initiator: true,
        remoteKey: idB.publicKey,
        iceServers: [],
        sendSignal: (signal) => child.write({ signal }),
        pingIntervalMs: 500,
        deadAfterMs: 2_500,
      });
      child.onLine((line) => {
        if (line.signal) attempt.signal(checkSignal(line.signal));
      });
      try {
        return { a: await attempt.link, idA, kill: () => child.kill(), dispose: async () => child.kill() };
      } catch (err) {
        child.kill();
        throw err;
      }
    },
  });

  it('times out with "webrtc: timeout" when the other side never answers, without waiting for ICE', async () => {
    const sent: WebRtcSignal[] = [];
    const started = Date.now();
    const attempt = new WebRtcAttempt({
      factory: simplePeerFactory(),
      initiator: true,
      remoteKey: generateIdentity(nodeSuite).publicKey,
      iceServers: [],
      sendSignal: (s) => sent.push(s),
      connectTimeoutMs: 1_500,
    });
    const err = await attempt.link.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPathError(err) && err.code).toBe('CLIENT_ERR_WEBRTC_TIMEOUT');
    expect(webrtcReason(err)).toBe('webrtc: timeout');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sent[0]?.type).toBe('offer');
  });

  it('rejects malformed or oversized signals with CLIENT_ERR_WEBRTC_BAD_SIGNAL', () => {
    const bad = [
      new TextEncoder().encode('{"type":"offer"}'),
      new TextEncoder().encode('not json'),
      Uint8Array.of(0xff, 0xfe),
      new TextEncoder().encode(JSON.stringify({ type: 'candidate', candidate: { candidate: 1 } })),
      new TextEncoder().encode(JSON.stringify({ type: 'offer', sdp: 'x'.repeat(20_000) })),
      new TextEncoder().encode('[]'),
    ];
    for (const bytes of bad) {
      expect(() => decodeSignal(bytes)).toThrow(expect.objectContaining({ code: 'CLIENT_ERR_WEBRTC_BAD_SIGNAL' }));
    }
    const ok = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' } };
    expect(decodeSignal(new TextEncoder().encode(JSON.stringify(ok)))).toEqual({
      type: 'candidate',
      candidate: { ...ok.candidate, sdpMLineIndex: null },
    });
  });

  it('survives a garbage SDP from the peer: the attempt fails with a typed error', async () => {
    const attempt = new WebRtcAttempt({
      factory: simplePeerFactory(),
      initiator: false,
      remoteKey: generateIdentity(nodeSuite).publicKey,
      iceServers: [],
      sendSignal: () => {},
      connectTimeoutMs: 5_000,
    });
    attempt.signal(checkSignal({ type: 'offer', sdp: 'v=0\r\nthis is not sdp\r\n' }));
    const err = await attempt.link.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPathError(err) && err.code).toBe('CLIENT_ERR_WEBRTC_FAILED');
  });

  it('closes a link whose peer sends an unknown frame kind', async () => {
    const p = await webrtcPair();
    const gone = closed(p.b, 5_000);
    // Frame kind 7 does not exist; feed it as the data channel would.
    p.b.receive(Uint8Array.of(7, 1, 2, 3));
    expect(await gone).toBe('webrtc: bad frame from peer');
    await p.dispose();
  });
});
