/**
 * Wire format of the PeerJS server (`peer` package): JSON text messages
 * `{type, dst, payload}` forwarded as `{type, src, dst, payload}`. Signaling only: no acks,
 * no authentication (an id + token in the query string).
 */
import { buildClientFrame, Opcode } from '../ws/frame.js';
import type { PeerProtocol, SignalKind } from './types.js';

const TYPE: Record<SignalKind, string> = {
  offer: 'OFFER',
  answer: 'ANSWER',
  candidate: 'CANDIDATE',
  data: 'CANDIDATE',
};

export const peerjsProtocol: PeerProtocol = {
  name: 'peerjs',
  path: (peer) => `/peerjs?key=peerjs&id=${peer.textId}&token=t${peer.index}`,
  handshake(ws, peer) {
    return new Promise((resolve, reject) => {
      ws.onMessage = (_op, payload) => {
        const text = payload.toString('utf8');
        if (text.startsWith('{"type":"OPEN"')) resolve({ heartbeatMs: null });
        else reject(new Error(`peerjs ${peer.textId}: ${text.slice(0, 200)}`));
      };
    });
  },
  message(ws, _from, to, envelope, kind) {
    const json = JSON.stringify({
      type: TYPE[kind],
      dst: to.textId,
      payload: Buffer.from(envelope).toString('base64'),
    });
    const frame = buildClientFrame(Opcode.TEXT, Buffer.from(json), ws.mask).bytes;
    return { next: () => frame, envelopeBytes: envelope.length };
  },
  classify(_ws, opcode, payload, _self, partner) {
    if (opcode !== Opcode.TEXT) return { kind: 'other' };
    // The server re-serialises {type, src, dst, payload}: read src without parsing the body.
    const s = payload.toString('latin1', 0, 160);
    if (s.startsWith('{"type":"ERROR"')) return { kind: 'error', code: s.slice(0, 120) };
    const at = s.indexOf('"src":"');
    if (at < 0) return { kind: 'other' };
    const src = s.slice(at + 7, s.indexOf('"', at + 7));
    // JSON re-encoding changes the length: no size check (-1).
    return { kind: 'deliver', fromOk: src === partner.textId, bytes: -1 };
  },
  heartbeat: (ws) => buildClientFrame(Opcode.TEXT, Buffer.from('{"type":"HEARTBEAT"}'), ws.mask).bytes,
};
