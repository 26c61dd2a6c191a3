/**
 * The one seam between the WebRTC path and a WebRTC stack. A DataPeer is one peer connection
 * with one reliable, ordered data channel. The default factory uses simple-peer over
 * @roamhq/wrtc (Node); node-datachannel or a browser's RTCPeerConnection can replace it by
 * implementing this interface.
 */
import { createRequire } from 'node:module';
import { PathError } from './direct-errors.js';

/** An ICE server as the rendezvous WELCOME lists it (RTCIceServer shape). */
export interface IceServer {
  readonly urls: string | readonly string[];
  readonly username?: string;
  readonly credential?: string;
}

/** Offer, answer or one trickled ICE candidate, as JSON-safe data. */
export type WebRtcSignal =
  | { readonly type: 'offer' | 'answer'; readonly sdp: string }
  | {
      readonly type: 'candidate';
      readonly candidate: {
        readonly candidate: string;
        readonly sdpMid?: string | null;
        readonly sdpMLineIndex?: number | null;
        readonly usernameFragment?: string | null;
      };
    };

/** Why a DataPeer ended: ICE found no pair, the stack failed, or it was closed. */
export type DataPeerEnd = { kind: 'ice-failed' | 'failed' | 'closed'; detail: string };

export interface DataPeerEvents {
  onSignal(signal: WebRtcSignal): void;
  onConnect(): void;
  onData(bytes: Uint8Array): void;
  onEnd(end: DataPeerEnd): void;
}

export interface DataPeer {
  /** Feed a signal from the remote side. */
  signal(signal: WebRtcSignal): void;
  send(bytes: Uint8Array): void;
  /** Bytes queued in the data channel, not yet sent. */
  readonly bufferedAmount: number;
  destroy(): void;
}

export interface DataPeerFactory {
  readonly name: string;
  create(opts: { initiator: boolean; iceServers: readonly IceServer[] }, events: DataPeerEvents): DataPeer;
}

// simple-peer and wrtc are CommonJS without types we can use in Node (their typings pull in
// the DOM lib); this is the small part of simple-peer's surface we use.
interface SimplePeerInstance {
  signal(data: unknown): void;
  send(data: Uint8Array): void;
  destroy(): void;
  readonly bufferSize: number;
  on(event: 'signal', fn: (data: unknown) => void): void;
  on(event: 'connect' | 'close', fn: () => void): void;
  on(event: 'data', fn: (data: Uint8Array) => void): void;
  on(event: 'error', fn: (err: Error & { code?: string }) => void): void;
}
type SimplePeerCtor = new (opts: Record<string, unknown>) => SimplePeerInstance;

let loaded: { SimplePeer: SimplePeerCtor; wrtc: unknown } | undefined;

function load(): { SimplePeer: SimplePeerCtor; wrtc: unknown } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    loaded = { SimplePeer: require('simple-peer') as SimplePeerCtor, wrtc: require('@roamhq/wrtc') };
  } catch (err) {
    throw new PathError('CLIENT_ERR_WEBRTC_UNAVAILABLE', err instanceof Error ? err.message : String(err));
  }
  return loaded;
}

/** simple-peer 9 over @roamhq/wrtc. Throws CLIENT_ERR_WEBRTC_UNAVAILABLE if the native module is missing. */
export function simplePeerFactory(): DataPeerFactory {
  const { SimplePeer, wrtc } = load();
  return Object.freeze({
    name: 'simple-peer+wrtc',
    create(opts: { initiator: boolean; iceServers: readonly IceServer[] }, events: DataPeerEvents): DataPeer {
      const peer = new SimplePeer({
        initiator: opts.initiator,
        wrtc,
        trickle: true,
        config: { iceServers: opts.iceServers.map((s) => ({ ...s })) },
        channelConfig: { ordered: true },
      });
      let ended = false;
      const end = (e: DataPeerEnd) => {
        if (ended) return;
        ended = true;
        events.onEnd(e);
      };
      peer.on('signal', (data) => {
        const signal = toSignal(data);
        if (signal) events.onSignal(signal);
      });
      peer.on('connect', () => events.onConnect());
      peer.on('data', (data) => events.onData(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
      peer.on('error', (err) =>
        end({ kind: err.code === 'ERR_ICE_CONNECTION_FAILURE' ? 'ice-failed' : 'failed', detail: err.message }),
      );
      peer.on('close', () => end({ kind: 'closed', detail: 'closed' }));
      return {
        signal: (s) => peer.signal(s),
        send: (bytes) => peer.send(bytes),
        get bufferedAmount() {
          return peer.bufferSize;
        },
        destroy: () => peer.destroy(),
      };
    },
  });
}

/** Keep only offer/answer/candidate signals (simple-peer may also emit renegotiation requests). */
function toSignal(data: unknown): WebRtcSignal | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as Record<string, unknown>;
  if ((d.type === 'offer' || d.type === 'answer') && typeof d.sdp === 'string') return { type: d.type, sdp: d.sdp };
  if (d.type === 'candidate' && typeof d.candidate === 'object' && d.candidate !== null) {
    const c = d.candidate as Record<string, unknown>;
    if (typeof c.candidate !== 'string') return undefined;
    return {
      type: 'candidate',
      candidate: {
        candidate: c.candidate,
        sdpMid: typeof c.sdpMid === 'string' ? c.sdpMid : null,
        sdpMLineIndex: typeof c.sdpMLineIndex === 'number' ? c.sdpMLineIndex : null,
      },
    };
  }
  return undefined;
}
