/** Limits and timeouts of the WebRTC path, each with its unit (docs/limits.md). */
import { MAX_ENVELOPE_BYTES } from '@p2p-comm/protocol';

/**
 * From the first signal to an open data channel, ms. A failing ICE attempt takes ~19.5 s
 * before the stack says so; we give up earlier and report "webrtc: timeout". Messages never
 * wait for this: they go on the relay meanwhile.
 */
export const WEBRTC_CONNECT_TIMEOUT_MS = 15_000;
/** Largest signal message (offer/answer/candidate as JSON), bytes. */
export const WEBRTC_MAX_SIGNAL_BYTES = 16 * 1024;
/** Signals accepted per attempt (an offer/answer plus trickled candidates), count. */
export const WEBRTC_MAX_SIGNALS_PER_ATTEMPT = 64;
/** One data-channel message: a 1-byte kind + one envelope, bytes (libwebrtc allows 256 KiB). */
export const WEBRTC_MAX_MESSAGE_BYTES = 1 + MAX_ENVELOPE_BYTES;
/** Interval between heartbeats on an open channel, ms. */
export const WEBRTC_PING_INTERVAL_MS = 2_000;
/**
 * Silence after which the peer is dead, ms. ICE itself notices only after ~30 s; the session
 * layer needs to fall back much sooner.
 */
export const WEBRTC_DEAD_AFTER_MS = 6_000;
/** ICE servers taken from the rendezvous WELCOME, servers (the rest are ignored). */
export const WEBRTC_MAX_ICE_SERVERS = 8;
/** Data-channel send buffer bound, bytes (libwebrtc closes the channel at 16 MiB). */
export const WEBRTC_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
