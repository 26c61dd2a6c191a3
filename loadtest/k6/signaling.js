// Signaling: each VU is a pair of peers that exchange an offer (2,000 B envelope), an answer
// (1,600 B) and four ICE candidates each way (300 B) through SIGNAL frames, again and again.
// Targets: zero lost, p99 offer→answer round trip ≤ 2 ms on one instance (≤ 4 ms across two).
//   k6 run -e TARGET=ws://127.0.0.1:8080/v1/ws -e PAIRS=100 loadtest/k6/signaling.js
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { setTimeout } from 'k6/timers';
import { decodeDeliver, FRAME, withFrameId } from './lib/frames.js';
import { closePeer, openPeer } from './lib/peer.js';
import { frame } from './lib/signer.js';

const delivered = new Counter('signal_delivered');
const lost = new Counter('lost_messages');
const serverErrors = new Counter('server_errors');
const rtt = new Trend('signal_rtt_ms', true);

const EXCHANGE_TIMEOUT_MS = Number(__ENV.EXCHANGE_TIMEOUT_MS || 5000);

export const options = {
  scenarios: {
    signaling: {
      executor: 'constant-vus',
      vus: Number(__ENV.PAIRS || 50),
      duration: __ENV.DURATION || '30s',
    },
  },
  thresholds: {
    lost_messages: ['count==0'],
    server_errors: ['count==0'],
    signal_rtt_ms: [`p(99)<=${__ENV.P99_MS || 2}`],
    signal_delivered: ['count>0'],
  },
};

export default function () {
  const a = 2 * (exec.vu.idInTest - 1);
  const b = a + 1;
  const offer = frame(a, b, 2000, 'signal');
  const answer = frame(b, a, 1600, 'signal');
  const candAB = frame(a, b, 300, 'signal');
  const candBA = frame(b, a, 300, 'signal');
  let frameId = 1;
  let outstanding = 0;
  let ready = 0;
  let t0 = 0;
  let done = false;
  const send = (peer, f) => {
    outstanding++;
    peer.ws.send(withFrameId(f, frameId++));
  };
  const finish = () => {
    if (done) return;
    done = true;
    if (outstanding > 0) lost.add(outstanding);
    closePeer(pa);
    closePeer(pb);
  };
  const onError = () => serverErrors.add(1);
  const onReady = () => {
    if (++ready < 2) return;
    t0 = Date.now();
    send(pa, offer);
    setTimeout(finish, EXCHANGE_TIMEOUT_MS);
  };
  const pa = openPeer(a, {
    onReady,
    onError,
    onFrame(_p, type) {
      if (type !== FRAME.DELIVER) return;
      outstanding--;
      delivered.add(1);
      if (t0) {
        rtt.add(Date.now() - t0);
        t0 = 0;
        for (let k = 0; k < 4; k++) send(pa, candAB);
      }
      if (outstanding === 0) finish();
    },
  });
  const pb = openPeer(b, {
    onReady,
    onError,
    onFrame(_p, type, data) {
      if (type !== FRAME.DELIVER) return;
      outstanding--;
      delivered.add(1);
      if (decodeDeliver(data).envelopeBytes === 2000) {
        send(pb, answer);
        for (let k = 0; k < 4; k++) send(pb, candBA);
      }
      if (outstanding === 0) finish();
    },
  });
}
