// Client of the k6 signer (loadtest/src/k6/signer.ts), which holds the peers' Ed25519 keys:
// k6's WebCrypto has no Ed25519, and every HELLO signs a fresh server challenge.
import { b64decode, b64encode } from 'k6/encoding';
import http from 'k6/http';

export const SIGNER_URL = __ENV.SIGNER_URL || 'http://127.0.0.1:8099';

function json(res, what) {
  if (res.status !== 200) throw new Error(`signer ${what}: HTTP ${res.status} ${res.body}`);
  return JSON.parse(res.body);
}

/** Public key (as bytes) of peer i. */
export function peerKey(i) {
  const { key } = json(http.get(`${SIGNER_URL}/peer?i=${i}`, { tags: { name: 'signer' } }), 'peer');
  return new Uint8Array(b64decode(key, 'rawurl', 'b'));
}

/** HELLO frame (ArrayBuffer) answering `challenge` for peer i dialing `origin`. */
export function hello(i, challenge, origin) {
  const body = JSON.stringify({
    i,
    challenge: b64encode(challenge.buffer.slice(challenge.byteOffset, challenge.byteOffset + 32), 'std'),
    origin,
  });
  const res = http.post(`${SIGNER_URL}/hello`, body, {
    headers: { 'content-type': 'application/json' },
    tags: { name: 'signer' },
  });
  return b64decode(json(res, 'hello').hello, 'std', 'b');
}

/** Pre-built RELAY/SIGNAL frame (ArrayBuffer, frameId 0) from peer `from` to peer `to`. */
export function frame(from, to, bytes, channel) {
  const res = http.get(`${SIGNER_URL}/frame?from=${from}&to=${to}&bytes=${bytes}&channel=${channel}`, {
    tags: { name: 'signer' },
  });
  return b64decode(json(res, 'frame').frame, 'std', 'b');
}
