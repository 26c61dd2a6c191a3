/**
 * Fixed inputs of the golden v2 session vectors (test/vectors/golden-session.json). Every
 * random draw of the handshake is pinned, in the order the implementation draws them:
 * initiator: X25519 ephemeral secret (32), ML-KEM-768 key-generation seed d ‖ z (64);
 * responder: X25519 ephemeral secret (32), ML-KEM-768 encapsulation randomness m (32).
 */
import { utf8 } from '../../src/bytes.js';

const fill = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte);
const ramp = (n: number, from: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

export const GOLDEN_SESSION_RANDOM = {
  initiatorEphemeral: ramp(32, 0x10),
  initiatorKemSeed: ramp(64, 0x40),
  responderEphemeral: ramp(32, 0x90),
  responderKemRandom: fill(32, 0xa5),
} as const;

/** Responder payload in message 2. */
export const GOLDEN_RESPONDER_PAYLOAD = utf8('p2p-comm v2 golden');

/** Sessions rekey every 2 packets in the vectors, so epoch 1 appears. */
export const GOLDEN_REKEY_AFTER_MESSAGES = 2;

/** Transport packets, in sealing order. */
export const GOLDEN_TRANSPORT: readonly { from: 'initiator' | 'responder'; plaintext: Uint8Array }[] = [
  { from: 'initiator', plaintext: utf8('hello bob') },
  { from: 'responder', plaintext: utf8('hello alice') },
  { from: 'initiator', plaintext: new Uint8Array(0) },
  { from: 'initiator', plaintext: utf8('first packet of epoch 1') },
  { from: 'responder', plaintext: fill(100, 0x5a) },
];
