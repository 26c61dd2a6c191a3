/**
 * Signal messages as they travel inside SIGNAL envelopes: UTF-8 JSON, bounded. Untrusted
 * input: anything malformed is CLIENT_ERR_WEBRTC_BAD_SIGNAL and never reaches the stack.
 */

import { PathError } from './direct-errors.js';
import { WEBRTC_MAX_SIGNAL_BYTES } from './webrtc-constants.js';
import type { WebRtcSignal } from './webrtc-factory.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeSignal(signal: WebRtcSignal): Uint8Array {
  const bytes = encoder.encode(JSON.stringify(signal));
  if (bytes.length > WEBRTC_MAX_SIGNAL_BYTES)
    throw new PathError('CLIENT_ERR_WEBRTC_BAD_SIGNAL', `signal of ${bytes.length} bytes`);
  return bytes;
}

const isOptString = (v: unknown) => v === undefined || v === null || typeof v === 'string';

export function decodeSignal(bytes: Uint8Array): WebRtcSignal {
  if (bytes.length > WEBRTC_MAX_SIGNAL_BYTES) throw new PathError('CLIENT_ERR_WEBRTC_BAD_SIGNAL', 'too large');
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new PathError('CLIENT_ERR_WEBRTC_BAD_SIGNAL', 'not UTF-8 JSON');
  }
  return checkSignal(value);
}

/** Validate a signal object from elsewhere (e.g. JSON-RPC). */
export function checkSignal(value: unknown): WebRtcSignal {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PathError('CLIENT_ERR_WEBRTC_BAD_SIGNAL', 'not an object');
  const v = value as Record<string, unknown>;
  if ((v.type === 'offer' || v.type === 'answer') && typeof v.sdp === 'string') return { type: v.type, sdp: v.sdp };
  if (v.type === 'candidate' && typeof v.candidate === 'object' && v.candidate !== null) {
    const c = v.candidate as Record<string, unknown>;
    const line = c.sdpMLineIndex;
    if (
      typeof c.candidate === 'string' &&
      isOptString(c.sdpMid) &&
      (line === undefined ||
        line === null ||
        (Number.isInteger(line) && (line as number) >= 0 && (line as number) < 256))
    )
      return {
        type: 'candidate',
        candidate: {
          candidate: c.candidate,
          sdpMid: (c.sdpMid as string | null | undefined) ?? null,
          sdpMLineIndex: (line as number | null | undefined) ?? null,
        },
      };
  }
  throw new PathError('CLIENT_ERR_WEBRTC_BAD_SIGNAL', 'unknown signal shape');
}
