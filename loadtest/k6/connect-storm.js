// Connect storm: peers arrive at RATE per second, each authenticates (CHALLENGE → HELLO →
// WELCOME) and leaves. Target: ≥ 4,000 authenticated connections/s per server core.
//   node --conditions=source --import tsx loadtest/src/k6/signer.ts &   # holds the Ed25519 keys
//   k6 run -e TARGET=ws://127.0.0.1:8080/v1/ws -e RATE=4500 loadtest/k6/connect-storm.js
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { closePeer, openPeer } from './lib/peer.js';

const authOk = new Counter('auth_ok');
const authFailed = new Counter('auth_failed');
const authMs = new Trend('auth_ms', true);

/** Peers cycle through this many identities (the signer holds at most 50,000). */
const IDENTITIES = Number(__ENV.IDENTITIES || 40000);

export const options = {
  scenarios: {
    storm: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 4500),
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: Number(__ENV.VUS || 500),
      maxVUs: Number(__ENV.MAX_VUS || 4000),
    },
  },
  thresholds: {
    // The target, per server core: run one instance pinned to one core.
    auth_ok: [`rate>=${__ENV.TARGET_CONNS_PER_S || 4000}`],
    auth_failed: ['count==0'],
    auth_ms: ['p(99)<250'],
  },
};

export default function () {
  const i = exec.scenario.iterationInTest % IDENTITIES;
  openPeer(i, {
    onReady(peer) {
      authOk.add(1);
      authMs.add(peer.authMs);
      closePeer(peer);
    },
    onError(peer) {
      authFailed.add(1);
      closePeer(peer);
    },
    onClose(peer) {
      if (!peer.ready && !peer.closedByUs) authFailed.add(1);
    },
  });
}
