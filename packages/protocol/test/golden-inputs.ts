/**
 * Fixed inputs for the golden vectors. Everything random in an envelope (message id, nonce,
 * ephemeral key) is pinned here so the output bytes are reproducible by any implementation.
 */
import { EnvelopeType, type Frame, FrameType, fromHex, PREKEY_BUNDLE_BYTES, utf8 } from '../src/index.js';

const hex = (h: string): Uint8Array => {
  const b = fromHex(h);
  if (!b) throw new Error(`bad hex ${h}`);
  return b;
};
const fill = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte);

export const ALICE_SECRET = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
export const BOB_SECRET = hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');

export interface GoldenEnvelopeInput {
  name: string;
  type: EnvelopeType;
  plaintext: Uint8Array;
  timestamp: number;
  messageId: Uint8Array;
  nonce: Uint8Array;
  ephemeralSecret: Uint8Array;
}

export const GOLDEN_ENVELOPE_INPUTS: GoldenEnvelopeInput[] = [
  {
    name: 'data-hello',
    type: EnvelopeType.DATA,
    plaintext: utf8('{"kind":"text","text":"hello, bob"}'),
    timestamp: 1_764_000_000_000,
    messageId: fill(16, 0x11),
    nonce: fill(16, 0x22),
    ephemeralSecret: fill(32, 0x33),
  },
  {
    name: 'ack-empty',
    type: EnvelopeType.ACK,
    plaintext: new Uint8Array(0),
    timestamp: 1_764_000_000_001,
    messageId: fill(16, 0x44),
    nonce: fill(16, 0x55),
    ephemeralSecret: fill(32, 0x66),
  },
  {
    name: 'consent-request',
    type: EnvelopeType.CONSENT_REQUEST,
    plaintext: utf8('{"name":"Alice","scopes":["chat"]}'),
    timestamp: 1_764_000_000_002,
    messageId: fill(16, 0x77),
    nonce: fill(16, 0x88),
    ephemeralSecret: fill(32, 0x99),
  },
];

export const GOLDEN_FRAMES: { name: string; frame: Frame }[] = [
  {
    name: 'challenge',
    frame: {
      type: FrameType.CHALLENGE,
      version: 1,
      challenge: fill(32, 0xab),
      serverTime: 1_764_000_000_000,
      origin: 'rdv.example.org:443',
    },
  },
  { name: 'welcome', frame: { type: FrameType.WELCOME, info: '{"instanceId":"i-1","heartbeatMs":30000}' } },
  { name: 'ack-delivered', frame: { type: FrameType.ACK, frameId: 7, status: 0 } },
  { name: 'ack-queued', frame: { type: FrameType.ACK, frameId: 8, status: 1 } },
  { name: 'peer-offline', frame: { type: FrameType.PEER_OFFLINE, frameId: 9, to: fill(32, 0x01) } },
  {
    name: 'error',
    frame: {
      type: FrameType.ERROR,
      frameId: 0,
      code: 'RDV_ERR_REPLACED',
      message: 'another connection took over this key',
    },
  },
  { name: 'ping', frame: { type: FrameType.PING, nonce: 42 } },
  { name: 'pong', frame: { type: FrameType.PONG, nonce: 42 } },
  { name: 'restarting', frame: { type: FrameType.RESTARTING, retryAfterMs: 2000 } },
  { name: 'relay', frame: { type: FrameType.RELAY, frameId: 1, to: fill(32, 0x02), envelope: utf8('opaque') } },
  {
    name: 'relay-ttl',
    frame: { type: FrameType.RELAY_TTL, frameId: 3, ttlS: 172_800, to: fill(32, 0x02), envelope: utf8('opaque') },
  },
  { name: 'signal', frame: { type: FrameType.SIGNAL, frameId: 2, to: fill(32, 0x03), envelope: utf8('opaque') } },
  { name: 'deliver', frame: { type: FrameType.DELIVER, channel: 1, from: fill(32, 0x04), envelope: utf8('opaque') } },
  // Prekey frames carry an opaque PREKEY_BUNDLE_BYTES bundle here: the frame layer checks only its length.
  {
    name: 'prekey-publish',
    frame: { type: FrameType.PREKEY_PUBLISH, frameId: 10, bundle: fill(PREKEY_BUNDLE_BYTES, 0x05) },
  },
  { name: 'prekey-fetch', frame: { type: FrameType.PREKEY_FETCH, frameId: 11, key: fill(32, 0x06) } },
  {
    name: 'prekey-bundle',
    frame: { type: FrameType.PREKEY_BUNDLE, frameId: 11, key: fill(32, 0x06), bundle: fill(PREKEY_BUNDLE_BYTES, 0x05) },
  },
  {
    name: 'prekey-bundle-none',
    frame: { type: FrameType.PREKEY_BUNDLE, frameId: 12, key: fill(32, 0x07), bundle: fill(0, 0) },
  },
];
