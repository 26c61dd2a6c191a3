// Relay: each VU is a pair streaming SIZE-byte envelopes (1,024 and 16,384 by default runs)
// both ways through RELAY frames, WINDOW in flight per direction, for STREAM_S seconds.
// Targets: zero lost, every RELAY acknowledged; msgs/s compared with the Node runner's table.
//   k6 run -e TARGET=ws://127.0.0.1:8080/v1/ws -e SIZE=16384 -e PAIRS=50 loadtest/k6/relay.js
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { setTimeout } from 'k6/timers';
import { FRAME, withFrameId } from './lib/frames.js';
import { closePeer, openPeer } from './lib/peer.js';
import { frame } from './lib/signer.js';

const delivered = new Counter('relay_delivered');
const acked = new Counter('relay_acked');
const lost = new Counter('lost_messages');
const unacked = new Counter('unacked_messages');
const serverErrors = new Counter('server_errors');
const streamMs = new Trend('relay_stream_ms', true);

const SIZE = Number(__ENV.SIZE || 1024);
const WINDOW = Number(__ENV.WINDOW || 8);
const STREAM_S = Number(__ENV.STREAM_S || 20);
const DRAIN_MS = 5000;

export const options = {
  scenarios: {
    relay: {
      executor: 'per-vu-iterations',
      vus: Number(__ENV.PAIRS || 50),
      iterations: 1,
      maxDuration: `${STREAM_S + 30}s`,
    },
  },
  thresholds: {
    lost_messages: ['count==0'],
    unacked_messages: ['count==0'],
    server_errors: ['count==0'],
    relay_delivered: [`rate>=${__ENV.MIN_MSGS_PER_S || 1}`],
  },
};

export default function () {
  const a = 2 * (exec.vu.idInTest - 1);
  const b = a + 1;
  const ab = frame(a, b, SIZE, 'relay');
  const ba = frame(b, a, SIZE, 'relay');
  let running = true;
  let ready = 0;
  let sent = 0;
  let got = 0;
  let acks = 0;
  let frameId = 1;
  const t0 = Date.now();
  const send = (peer, f) => {
    sent++;
    peer.ws.send(withFrameId(f, frameId++));
  };
  const onFrame = (other, f) => (_p, type) => {
    if (type === FRAME.ACK) {
      acks++;
      acked.add(1);
    } else if (type === FRAME.DELIVER) {
      got++;
      delivered.add(1);
      if (running) send(other, f);
    }
  };
  const pa = openPeer(a, {
    onReady: start,
    onError: () => serverErrors.add(1),
    onFrame: (...x) => onFrame(pb, ba)(...x),
  });
  const pb = openPeer(b, {
    onReady: start,
    onError: () => serverErrors.add(1),
    onFrame: (...x) => onFrame(pa, ab)(...x),
  });
  function start() {
    if (++ready < 2) return;
    for (let k = 0; k < WINDOW; k++) {
      send(pa, ab);
      send(pb, ba);
    }
    setTimeout(() => {
      running = false;
      setTimeout(() => {
        if (sent > got) lost.add(sent - got);
        if (sent > acks) unacked.add(sent - acks);
        streamMs.add(Date.now() - t0);
        closePeer(pa);
        closePeer(pb);
      }, DRAIN_MS);
    }, STREAM_S * 1000);
  }
}
