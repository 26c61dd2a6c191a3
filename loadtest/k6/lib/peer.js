// One simulated peer in k6: WebSocket to the rendezvous service, CHALLENGE → HELLO (signed by
// the k6 signer) → WELCOME, answers server PINGs, and hands every other frame to the script.
import { WebSocket } from 'k6/websockets';
import { decodeChallenge, decodeError, decodeNonce, encodePingPong, FRAME, frameType } from './frames.js';
import { hello } from './signer.js';

/** ws://host:port/v1/ws of the server under test (loopback by default). */
export const TARGET = __ENV.TARGET || 'ws://127.0.0.1:8080/v1/ws';

/** host:port the client dialed: what the HELLO signs (never what the server claims). */
export function originOf(url) {
  return url.replace(/^wss?:\/\//, '').split('/')[0];
}

/**
 * Open peer i. handlers: onReady(peer), onFrame(peer, type, data), onError(peer, code),
 * onClose(peer). peer.authMs is the upgrade → WELCOME time.
 */
export function openPeer(i, handlers) {
  const t0 = Date.now();
  const ws = new WebSocket(TARGET);
  ws.binaryType = 'arraybuffer';
  const peer = { i, ws, ready: false, authMs: 0, closedByUs: false };
  ws.onmessage = (e) => {
    const type = frameType(e.data);
    if (type === FRAME.PING) return ws.send(encodePingPong(FRAME.PONG, decodeNonce(e.data)));
    if (!peer.ready && type === FRAME.CHALLENGE)
      return ws.send(hello(i, decodeChallenge(e.data).challenge, originOf(TARGET)));
    if (!peer.ready && type === FRAME.WELCOME) {
      peer.ready = true;
      peer.authMs = Date.now() - t0;
      if (handlers.onReady) handlers.onReady(peer);
      return;
    }
    if (type === FRAME.ERROR) {
      if (handlers.onError) handlers.onError(peer, decodeError(e.data).code);
      return;
    }
    if (handlers.onFrame) handlers.onFrame(peer, type, e.data);
  };
  ws.onerror = (e) => {
    if (handlers.onError) handlers.onError(peer, String(e?.error || 'socket error'));
  };
  ws.onclose = () => {
    if (handlers.onClose) handlers.onClose(peer);
  };
  return peer;
}

/** Close a peer on purpose (so onClose can tell it from a server-side close). */
export function closePeer(peer) {
  peer.closedByUs = true;
  peer.ws.close();
}
