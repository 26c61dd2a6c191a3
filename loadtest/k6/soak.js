// Soak: PEERS idle authenticated peers stay connected for SOAK_S seconds, send a heartbeat
// PING every HEARTBEAT_MS and answer the server's; every TRICKLE_S one message goes to the
// partner peer and back. Targets: no unexpected close, zero lost, zero errors.
//   k6 run -e TARGET=ws://127.0.0.1:8080/v1/ws -e PEERS=5000 -e SOAK_S=600 loadtest/k6/soak.js
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { clearInterval, setInterval, setTimeout } from 'k6/timers';
import { encodePingPong, FRAME, withFrameId } from './lib/frames.js';
import { closePeer, openPeer } from './lib/peer.js';
import { frame } from './lib/signer.js';

const unexpectedCloses = new Counter('unexpected_closes');
const lost = new Counter('lost_messages');
const serverErrors = new Counter('server_errors');
const heartbeats = new Counter('heartbeats_sent');
const rtt = new Trend('trickle_rtt_ms', true);

const SOAK_S = Number(__ENV.SOAK_S || 300);
const HEARTBEAT_MS = Number(__ENV.HEARTBEAT_MS || 15000);
const TRICKLE_S = Number(__ENV.TRICKLE_S || 10);

export const options = {
  scenarios: {
    // One VU per peer pair; each holds both peers for the whole soak.
    soak: {
      executor: 'per-vu-iterations',
      vus: Number(__ENV.PEERS || 2000) / 2,
      iterations: 1,
      maxDuration: `${SOAK_S + 60}s`,
    },
  },
  thresholds: {
    unexpected_closes: ['count==0'],
    lost_messages: ['count==0'],
    server_errors: ['count==0'],
    trickle_rtt_ms: [`p(99)<=${__ENV.P99_MS || 50}`],
  },
};

export default function () {
  const a = 2 * (exec.vu.idInTest - 1);
  const b = a + 1;
  const ab = frame(a, b, 300, 'relay');
  const ba = frame(b, a, 300, 'relay');
  let frameId = 1;
  let t0 = 0;
  let outstanding = 0;
  let ending = false;
  const timers = [];
  const common = {
    onError: () => serverErrors.add(1),
    onClose: (peer) => {
      if (!peer.closedByUs && !ending) unexpectedCloses.add(1);
    },
  };
  // a starts each round trip; b answers through its own socket.
  const pa = openPeer(a, {
    ...common,
    onFrame(_p, type) {
      if (type !== FRAME.DELIVER) return;
      outstanding--;
      if (t0) rtt.add(Date.now() - t0);
      t0 = 0;
    },
  });
  const pb = openPeer(b, {
    ...common,
    onFrame(_p, type) {
      if (type !== FRAME.DELIVER) return;
      // The request arrived (−1) and its answer leaves (+1): outstanding is unchanged.
      pb.ws.send(withFrameId(ba, frameId++));
    },
  });
  const beat = setInterval(() => {
    for (const p of [pa, pb]) {
      if (p.ready) {
        p.ws.send(encodePingPong(FRAME.PING, Date.now()));
        heartbeats.add(1);
      }
    }
  }, HEARTBEAT_MS);
  const trickle = setInterval(() => {
    if (!pa.ready || !pb.ready || t0) return;
    t0 = Date.now();
    outstanding++;
    pa.ws.send(withFrameId(ab, frameId++));
  }, TRICKLE_S * 1000);
  timers.push(beat, trickle);
  setTimeout(() => {
    ending = true;
    for (const t of timers) clearInterval(t);
    if (outstanding > 0) lost.add(outstanding);
    closePeer(pa);
    closePeer(pb);
  }, SOAK_S * 1000);
}
