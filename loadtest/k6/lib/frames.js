// p2p-comm client⇄server frames for k6 scripts (the table is at the top of
// packages/protocol/src/frames.ts). Plain ES2017 on ArrayBuffer/DataView, no BigInt and no
// k6 imports, so the same file is unit-tested under Node against the protocol package.

export const FRAME = Object.freeze({
  CHALLENGE: 0x01,
  HELLO: 0x02,
  WELCOME: 0x03,
  SIGNAL: 0x10,
  RELAY: 0x11,
  DELIVER: 0x12,
  ACK: 0x13,
  PEER_OFFLINE: 0x14,
  ERROR: 0x20,
  PING: 0x21,
  PONG: 0x22,
  RESTARTING: 0x23,
});

const TWO_32 = 4294967296;

function bytesOf(buf) {
  return buf instanceof Uint8Array ? buf : new Uint8Array(buf);
}

/** Frame type byte of a received frame (ArrayBuffer or Uint8Array), or -1 when empty. */
export function frameType(buf) {
  const b = bytesOf(buf);
  return b.length > 0 ? b[0] : -1;
}

/** CHALLENGE → { challenge: Uint8Array(32), serverTime, origin }. */
export function decodeChallenge(buf) {
  const b = bytesOf(buf);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 46 || b[0] !== FRAME.CHALLENGE) throw new Error('not a CHALLENGE frame');
  const challenge = b.slice(2, 34);
  const serverTime = v.getUint32(34) * TWO_32 + v.getUint32(38);
  const n = v.getUint16(42);
  let origin = '';
  for (let i = 0; i < n; i++) origin += String.fromCharCode(b[44 + i]);
  return { challenge, serverTime, origin };
}

/** ACK → { frameId, status } ; DELIVER → { channel, from: Uint8Array(32), envelopeBytes }. */
export function decodeAck(buf) {
  const b = bytesOf(buf);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { frameId: v.getUint32(1), status: b[5] };
}

export function decodeDeliver(buf) {
  const b = bytesOf(buf);
  return { channel: b[1], from: b.slice(2, 34), envelopeBytes: b.length - 34 };
}

/** ERROR → { frameId, code }. */
export function decodeError(buf) {
  const b = bytesOf(buf);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = b[5];
  let code = '';
  for (let i = 0; i < n; i++) code += String.fromCharCode(b[6 + i]);
  return { frameId: v.getUint32(1), code };
}

/** PING/PONG nonce (u64, read as a double: exact below 2^53). */
export function decodeNonce(buf) {
  const b = bytesOf(buf);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return v.getUint32(1) * TWO_32 + v.getUint32(5);
}

/** PING or PONG frame as an ArrayBuffer. */
export function encodePingPong(type, nonce) {
  const out = new Uint8Array(9);
  const v = new DataView(out.buffer);
  out[0] = type;
  v.setUint32(1, Math.floor(nonce / TWO_32));
  v.setUint32(5, nonce % TWO_32);
  return out.buffer;
}

/** Write a frame id into a copy of a pre-built SIGNAL/RELAY frame; returns the ArrayBuffer. */
export function withFrameId(frame, frameId) {
  const out = bytesOf(frame).slice();
  new DataView(out.buffer).setUint32(1, frameId >>> 0);
  return out.buffer;
}

/** Equal byte arrays. */
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
