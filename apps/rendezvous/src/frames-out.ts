/** Server→client frames built on the hot path without the generic encoder's allocations. */
import { encodeFrame, FrameType, MAX_WELCOME_BYTES, PREKEY_BUNDLE_FRAME_HEADER_BYTES } from '@p2p-comm/protocol';
import { RDV_ERRORS, type RendezvousErrorCode } from './errors.js';

export function ackFrame(frameId: number, status: number): Buffer {
  const b = Buffer.allocUnsafe(6);
  b[0] = FrameType.ACK;
  b.writeUInt32BE(frameId, 1);
  b[5] = status;
  return b;
}

export function peerOfflineFrame(frameId: number, to: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(37);
  b[0] = FrameType.PEER_OFFLINE;
  b.writeUInt32BE(frameId, 1);
  b.set(to, 5);
  return b;
}

/** PREKEY_BUNDLE: frameId, the owner's key, then its bundle (null = none held: empty). */
export function prekeyBundleFrame(frameId: number, key: Uint8Array, bundle: Uint8Array | null): Buffer {
  const b = Buffer.allocUnsafe(PREKEY_BUNDLE_FRAME_HEADER_BYTES + (bundle?.length ?? 0));
  b[0] = FrameType.PREKEY_BUNDLE;
  b.writeUInt32BE(frameId >>> 0, 1);
  b.set(key, 5);
  if (bundle !== null) b.set(bundle, PREKEY_BUNDLE_FRAME_HEADER_BYTES);
  return b;
}

// Error frames never change per code: encode each once.
const errorFrames = new Map<string, Uint8Array>();

export function errorFrame(frameId: number, code: RendezvousErrorCode): Buffer {
  let cached = errorFrames.get(code);
  if (cached === undefined) {
    cached = encodeFrame({ type: FrameType.ERROR, frameId: 0, code, message: RDV_ERRORS[code].message });
    errorFrames.set(code, cached);
  }
  const b = Buffer.from(cached);
  b.writeUInt32BE(frameId >>> 0, 1);
  return b;
}

/** An ERROR with its own message (the registry's message, then `: detail`). */
export function errorFrameWith(frameId: number, code: RendezvousErrorCode, detail: string): Buffer {
  return Buffer.from(
    encodeFrame({
      type: FrameType.ERROR,
      frameId: frameId >>> 0,
      code,
      message: `${RDV_ERRORS[code].message}: ${detail}`,
    }),
  );
}

export function restartingFrame(retryAfterMs: number): Buffer {
  return Buffer.from(encodeFrame({ type: FrameType.RESTARTING, retryAfterMs }));
}

/** WELCOME: type, u16 length, UTF-8 JSON; one allocation (the generic encoder makes three). */
export function welcomeFrame(info: string): Buffer {
  const len = Buffer.byteLength(info, 'utf8');
  if (len > MAX_WELCOME_BYTES) throw new RangeError(`WELCOME info over ${MAX_WELCOME_BYTES} bytes`);
  const b = Buffer.allocUnsafe(3 + len);
  b[0] = FrameType.WELCOME;
  b.writeUInt16BE(len, 1);
  b.write(info, 3, 'utf8');
  return b;
}
