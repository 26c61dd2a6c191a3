// Path-upgrade signals (docs/protocol.md "Path upgrade signalling"): the plaintext of an
// envelope of type 3 is one UTF-8 JSON object. The minimal peer opens no direct or WebRTC path
// (MAY), so it only checks their shape; a bad one is CLIENT_ERR_WEBRTC_BAD_SIGNAL.

import { isIP } from 'node:net';
import { fromUtf8 } from './bytes.js';
import { PeerError } from './errors.js';

/** UPGRADE_MAX_SIGNAL_PAYLOAD_BYTES. */
const MAX_SIGNAL_BYTES = 16_384;
/** UPGRADE_MAX_ADDRESSES_PER_PEER. */
const MAX_ADDRESSES = 8;

function bad(why: string): never {
  throw new PeerError('CLIENT_ERR_WEBRTC_BAD_SIGNAL', why);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function decodeSignal(plaintext: Uint8Array): Record<string, unknown> {
  if (plaintext.length > MAX_SIGNAL_BYTES) bad('signal over 16,384 bytes');
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(plaintext));
  } catch {
    bad('signal is not JSON');
  }
  if (!isObject(value)) bad('signal is not a JSON object');
  switch (value.t) {
    case 'addrs': {
      if (!Array.isArray(value.a)) bad('addrs without a list');
      // Names are ignored: a peer must not make us resolve names it chose.
      const a = value.a
        .filter((x): x is { h: string; p: number } => isObject(x) && typeof x.h === 'string' && isIP(x.h) !== 0)
        .filter((x) => Number.isInteger(x.p) && x.p > 0 && x.p < 65_536)
        .slice(0, MAX_ADDRESSES)
        .map((x) => ({ h: x.h, p: x.p }));
      return { t: 'addrs', a };
    }
    case 'rtc': {
      if (typeof value.id !== 'string' || !isObject(value.s)) bad('rtc without id or s');
      const s = value.s;
      if (s.type === 'offer' || s.type === 'answer') {
        if (typeof s.sdp !== 'string') bad('offer/answer without sdp');
      } else if (s.type === 'candidate') {
        const c = s.candidate;
        if (!isObject(c) || typeof c.candidate !== 'string') bad('candidate without a candidate line');
        const index = c.sdpMLineIndex;
        if (
          index !== undefined &&
          index !== null &&
          !(Number.isInteger(index) && (index as number) >= 0 && (index as number) <= 255)
        ) {
          bad('sdpMLineIndex out of range');
        }
      } else {
        bad('unknown rtc signal type');
      }
      return value;
    }
    case 'rtc-req':
    case 'rtc-off':
      return value;
    default:
      bad('unknown signal');
  }
}
