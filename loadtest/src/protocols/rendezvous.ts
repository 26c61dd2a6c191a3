/**
 * Wire format of the p2p-comm rendezvous server (packages/protocol/src/frames.ts):
 * CHALLENGE → HELLO (Ed25519 over the challenge and the origin we dialed) → WELCOME, then
 * RELAY/SIGNAL frames answered by ACK, and DELIVER to the recipient.
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import {
  AckStatus,
  DELIVER_FRAME_HEADER_BYTES,
  decodeFrame,
  encodeFrame,
  FrameType,
  type Identity,
  ROUTED_FRAME_HEADER_BYTES,
  serverAuthMessage,
} from '@p2p-comm/protocol';
import { buildClientFrame, Opcode, patchU32 } from '../ws/frame.js';
import type { PeerProtocol } from './types.js';

/** WebSocket path of the rendezvous service. */
export const RENDEZVOUS_WS_PATH = '/v1/ws';

/** RFC 8410 PKCS#8 prefix wrapping a raw 32-byte Ed25519 seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
/** Signing keys built ahead of the connect phase; lives as long as the identities do. */
const signingKeys = new WeakMap<Identity, KeyObject>();

function signingKey(identity: Identity): KeyObject {
  let key = signingKeys.get(identity);
  if (!key) {
    key = createPrivateKey({
      key: Buffer.concat([ED25519_PKCS8_PREFIX, identity.secretKey]),
      format: 'der',
      type: 'pkcs8',
    });
    signingKeys.set(identity, key);
  }
  return key;
}

/**
 * The HELLO that buildHello() would produce (Ed25519 is deterministic: same bytes), signed
 * with a key object built before the storm, so the generator's cost per connection stays
 * small next to the server's verification.
 */
export function fastHello(
  identity: Identity,
  challenge: Uint8Array,
  origin: string,
  timestamp = Date.now(),
): Uint8Array {
  const signature = new Uint8Array(sign(null, serverAuthMessage(challenge, origin, timestamp), signingKey(identity)));
  return encodeFrame({ type: FrameType.HELLO, key: identity.publicKey, timestamp, signature, token: '' });
}

function welcomeHeartbeat(info: string): number | null {
  try {
    const parsed = JSON.parse(info) as Record<string, unknown>;
    for (const key of ['heartbeatMs', 'heartbeatIntervalMs', 'heartbeat']) {
      const v = parsed[key];
      if (typeof v === 'number' && v > 0) return v;
    }
  } catch {
    // not JSON: no hint
  }
  return null;
}

export const rendezvousProtocol: PeerProtocol = {
  name: 'rendezvous',
  path: () => RENDEZVOUS_WS_PATH,
  prepare: (peer) => {
    signingKey(peer.identity);
  },
  handshake(ws, peer, origin) {
    return new Promise((resolve, reject) => {
      ws.onMessage = (op, payload) => {
        if (op !== Opcode.BINARY) return reject(new Error('text frame during auth'));
        let frame: ReturnType<typeof decodeFrame>;
        try {
          frame = decodeFrame(payload);
        } catch (e) {
          return reject(e);
        }
        if (frame.type === FrameType.CHALLENGE) {
          const hello = fastHello(peer.identity, frame.challenge, origin);
          ws.send(buildClientFrame(Opcode.BINARY, hello, ws.mask).bytes);
        } else if (frame.type === FrameType.WELCOME) resolve({ heartbeatMs: welcomeHeartbeat(frame.info) });
        else if (frame.type === FrameType.ERROR) reject(new Error(`${frame.code}: ${frame.message}`));
        else if (frame.type === FrameType.PING)
          ws.send(
            buildClientFrame(Opcode.BINARY, encodeFrame({ type: FrameType.PONG, nonce: frame.nonce }), ws.mask).bytes,
          );
      };
    });
  },
  message(ws, _from, to, envelope, _kind, channel) {
    const type = channel === 'signal' ? FrameType.SIGNAL : FrameType.RELAY;
    const template = buildClientFrame(
      Opcode.BINARY,
      encodeFrame({ type, frameId: 0, to: to.identity.publicKey, envelope }),
      ws.mask,
    );
    let frameId = 0;
    return {
      envelopeBytes: envelope.length,
      next() {
        // A socket may still hold the previous bytes (corked), so every send gets its own copy.
        const copy = { ...template, bytes: Buffer.from(template.bytes) };
        frameId = (frameId + 1) >>> 0;
        patchU32(copy, 1, frameId);
        return copy.bytes;
      },
    };
  },
  classify(ws, opcode, payload, _self, partner) {
    if (opcode !== Opcode.BINARY || payload.length === 0) return { kind: 'other' };
    const type = payload[0];
    // Hot path: DELIVER and ACK are read in place, without a full decode.
    if (type === FrameType.DELIVER) {
      const from = payload.subarray(2, 2 + 32);
      return {
        kind: 'deliver',
        fromOk: from.equals(partner.identity.publicKey),
        bytes: payload.length - DELIVER_FRAME_HEADER_BYTES,
      };
    }
    if (type === FrameType.ACK) {
      return payload.length === 6 && payload[5] === AckStatus.DELIVERED
        ? { kind: 'ack' }
        : { kind: 'error', code: 'ACK_QUEUED' };
    }
    let frame: ReturnType<typeof decodeFrame>;
    try {
      frame = decodeFrame(payload);
    } catch (e) {
      return { kind: 'error', code: e instanceof Error ? e.message : 'undecodable' };
    }
    if (frame.type === FrameType.PING)
      return {
        kind: 'ping',
        reply: buildClientFrame(Opcode.BINARY, encodeFrame({ type: FrameType.PONG, nonce: frame.nonce }), ws.mask)
          .bytes,
      };
    if (frame.type === FrameType.ERROR) return { kind: 'error', code: frame.code };
    if (frame.type === FrameType.PEER_OFFLINE) return { kind: 'error', code: 'PEER_OFFLINE' };
    return { kind: 'other' };
  },
  heartbeat: (ws) =>
    buildClientFrame(Opcode.BINARY, encodeFrame({ type: FrameType.PING, nonce: Date.now() }), ws.mask).bytes,
};

/** Bytes before the envelope in the frames we send (exported for tests). */
export const SENT_HEADER_BYTES = ROUTED_FRAME_HEADER_BYTES;
