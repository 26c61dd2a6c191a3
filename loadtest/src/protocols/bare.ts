/**
 * Wire format of the bare forwarder reference: connect with `?id=<hex key>`; every binary
 * message starts with the 32-byte recipient key and is forwarded untouched.
 */
import { buildClientFrame, Opcode } from '../ws/frame.js';
import type { PeerProtocol } from './types.js';

export const bareProtocol: PeerProtocol = {
  name: 'bare',
  path: (peer) => `/?id=${peer.textId}`,
  handshake: async () => ({ heartbeatMs: null }),
  message(ws, _from, to, envelope) {
    const payload = Buffer.concat([to.identity.publicKey, envelope]);
    const frame = buildClientFrame(Opcode.BINARY, payload, ws.mask).bytes;
    // The forwarder has no frame id: the same bytes are re-sent (writes never mutate them).
    return { next: () => frame, envelopeBytes: envelope.length };
  },
  classify(_ws, opcode, payload, self) {
    if (opcode !== Opcode.BINARY || payload.length < 32) return { kind: 'other' };
    // The forwarder carries no sender; check the message reached the peer it was addressed to.
    return {
      kind: 'deliver',
      fromOk: payload.subarray(0, 32).equals(self.identity.publicKey),
      bytes: payload.length - 32,
    };
  },
  heartbeat: () => null,
};
