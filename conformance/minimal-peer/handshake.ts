// v2 session handshake (docs/protocol.md "v2 sessions — handshake"):
// Noise_IKhfs_25519+MLKEM768_ChaChaPoly_SHA256
//
//   <- s
//   ...
//   -> e, es, e1, s, ss      payload = initiator's Ed25519 public key (32 bytes)
//   <- e, ee, ekem1, se      payload = optional responder data (≤ 1,024 bytes)
//
// Packets: message 1 = 0x02 0x01 ‖ e 32 ‖ enc(ek) 1,200 ‖ enc(s) 48 ‖ enc(Ed25519 key) 48 (1,330);
//          message 2 = 0x02 0x02 ‖ e 32 ‖ enc(ct) 1,104 ‖ enc(payload) n + 16 (1,154 + n).
// Random draws, in order: initiator e (32), ML-KEM d ‖ z (64); responder e (32), ML-KEM m (32).

import { x25519 } from '@noble/curves/ed25519.js';
import { concat, equalBytes, lp, u8, utf8 } from './bytes.js';
import { PeerError } from './errors.js';
import { type Identity, x25519FromEd25519, x25519Shared } from './identity.js';
import { kemDecapsulate, kemEncapsulate, kemKeyPair } from './ml-kem.js';
import { SymmetricState } from './noise.js';

export const SESSION_VERSION = 0x02;
export const PACKET_TYPE = { HANDSHAKE_INIT: 1, HANDSHAKE_RESPONSE: 2, TRANSPORT: 3, PREKEY: 4 } as const;
export const PROTOCOL_NAME = 'Noise_IKhfs_25519+MLKEM768_ChaChaPoly_SHA256';
export const ALGORITHMS = 'X25519,ML-KEM-768,ChaCha20-Poly1305,SHA-256,HKDF-SHA-256';
export const MESSAGE1_BYTES = 1330;
export const MESSAGE2_MIN_BYTES = 1154;
/** SESSION_MAX_HANDSHAKE_PAYLOAD_BYTES (docs/limits.md). */
export const MAX_HANDSHAKE_PAYLOAD_BYTES = 1024;

/** The result both sides hold after message 2. */
export interface SessionKeys {
  /** k₁: initiator → responder, epoch 0. */
  initiatorToResponder: Uint8Array;
  /** k₂: responder → initiator, epoch 0. */
  responderToInitiator: Uint8Array;
  /** h after message 2: the public session id. */
  handshakeHash: Uint8Array;
}

/** Prologue: lp(domain) ‖ lp([0x02]) ‖ lp(protocol name) ‖ lp(algorithms) ‖ lp(responder Ed25519 key). */
export function prologue(responderEd25519: Uint8Array): Uint8Array {
  return concat(
    lp(utf8('p2p-comm/v2/session-prologue')),
    lp(u8(SESSION_VERSION)),
    lp(utf8(PROTOCOL_NAME)),
    lp(utf8(ALGORITHMS)),
    lp(responderEd25519),
  );
}

/** DH(secret, public): X25519, all-zero output refused (PROTO_ERR_WEAK_KEY). */
const dh = x25519Shared;

/** Both sides start the same way: h = SHA-256(name), MixHash(prologue), MixHash(rs). */
function initialState(responderEd25519: Uint8Array, responderX25519: Uint8Array): SymmetricState {
  const state = new SymmetricState(utf8(PROTOCOL_NAME));
  state.mixHash(prologue(responderEd25519));
  state.mixHash(responderX25519);
  return state;
}

export interface InitiatorState {
  readonly responderEd25519: Uint8Array;
  readonly ephemeralSecret: Uint8Array;
  readonly ephemeralPublic: Uint8Array;
  readonly kemSecret: Uint8Array;
  readonly symmetric: SymmetricState;
}

export interface InitiatorRandom {
  ephemeralSecret: Uint8Array; // 32
  kemSeed: Uint8Array; // 64 = d ‖ z
}

/** Initiator: build message 1 to `responderEd25519`. */
export function writeMessage1(
  me: Identity,
  responderEd25519: Uint8Array,
  random: InitiatorRandom,
): { message1: Uint8Array; state: InitiatorState } {
  const responderX = x25519FromEd25519(responderEd25519);
  const symmetric = initialState(responderEd25519, responderX);
  // e
  const ephemeralPublic = x25519.getPublicKey(random.ephemeralSecret);
  symmetric.mixHash(ephemeralPublic);
  // es
  symmetric.mixKey(dh(random.ephemeralSecret, responderX));
  // e1: a fresh ML-KEM key pair; its encapsulation key travels encrypted under the es key.
  const kem = kemKeyPair(random.kemSeed);
  const encEk = symmetric.encryptAndHash(kem.publicKey);
  // s
  const encS = symmetric.encryptAndHash(me.x25519Public);
  // ss
  symmetric.mixKey(dh(me.x25519Secret, responderX));
  // payload: our Ed25519 key (message 1 never carries application data)
  const encPayload = symmetric.encryptAndHash(me.publicKey);
  const message1 = concat(
    u8(SESSION_VERSION),
    u8(PACKET_TYPE.HANDSHAKE_INIT),
    ephemeralPublic,
    encEk,
    encS,
    encPayload,
  );
  return {
    message1,
    state: {
      responderEd25519,
      ephemeralSecret: random.ephemeralSecret,
      ephemeralPublic,
      kemSecret: kem.secretKey,
      symmetric,
    },
  };
}

export interface ResponderRandom {
  ephemeralSecret: Uint8Array; // 32
  kemRandom: Uint8Array; // 32 = m
}

/**
 * Responder: read message 1, check the initiator's identity, answer with message 2.
 * `accept` is the application's decision on the initiator's Ed25519 key (a trusted peer).
 */
export function readMessage1AndRespond(
  me: Identity,
  message1: Uint8Array,
  accept: (initiatorEd25519: Uint8Array) => boolean,
  random: ResponderRandom,
  payload: Uint8Array = new Uint8Array(0),
): { message2: Uint8Array; initiatorEd25519: Uint8Array; keys: SessionKeys; initiatorEphemeral: Uint8Array } {
  // Version, then type, then length (the order of every v2 packet).
  if (message1.length < 2) throw new PeerError('PROTO_ERR_TRUNCATED', 'message 1 is 1,330 bytes');
  if (message1[0] !== SESSION_VERSION) {
    throw new PeerError('PROTO_ERR_BAD_VERSION', `unknown session version ${message1[0]}`);
  }
  if (message1[1] !== PACKET_TYPE.HANDSHAKE_INIT) throw new PeerError('PROTO_ERR_BAD_TYPE', 'not a handshake init');
  if (message1.length < MESSAGE1_BYTES) throw new PeerError('PROTO_ERR_TRUNCATED', 'message 1 is 1,330 bytes');
  if (message1.length > MESSAGE1_BYTES) throw new PeerError('PROTO_ERR_TRAILING_BYTES', 'message 1 is 1,330 bytes');
  if (payload.length > MAX_HANDSHAKE_PAYLOAD_BYTES)
    throw new PeerError('PROTO_ERR_TOO_LARGE', 'message 2 payload over 1,024 bytes');
  const symmetric = initialState(me.publicKey, me.x25519Public);
  try {
    // e
    const initiatorEphemeral = message1.subarray(2, 34);
    symmetric.mixHash(initiatorEphemeral);
    // es (responder side: DH(s, re))
    symmetric.mixKey(dh(me.x25519Secret, initiatorEphemeral));
    // e1
    const ek = symmetric.decryptAndHash(message1.subarray(34, 1234));
    // s
    const initiatorX = symmetric.decryptAndHash(message1.subarray(1234, 1282));
    // ss
    symmetric.mixKey(dh(me.x25519Secret, initiatorX));
    // payload: the initiator's Ed25519 key, whose X25519 form must be the static key just authenticated
    const initiatorEd25519 = symmetric.decryptAndHash(message1.subarray(1282, 1330));
    // A payload that is no Ed25519 point is PROTO_ERR_BAD_KEY ("Identity"; the kit's
    // respond-key-not-a-point), one that is another key PROTO_ERR_HANDSHAKE_IDENTITY.
    const claimedX = x25519FromEd25519(initiatorEd25519);
    if (!equalBytes(claimedX, initiatorX)) {
      throw new PeerError('PROTO_ERR_HANDSHAKE_IDENTITY', 'message 1 identity does not match its static key');
    }
    if (!accept(initiatorEd25519)) throw new PeerError('PROTO_ERR_HANDSHAKE_IDENTITY', 'initiator not accepted');

    // Message 2. e
    const ephemeralPublic = x25519.getPublicKey(random.ephemeralSecret);
    symmetric.mixHash(ephemeralPublic);
    // ee
    symmetric.mixKey(dh(random.ephemeralSecret, initiatorEphemeral));
    // ekem1: encapsulate to the initiator's ML-KEM key, send ct encrypted under the ee key, then MixKey(K)
    const { cipherText, sharedSecret } = kemEncapsulate(ek, random.kemRandom);
    const encCt = symmetric.encryptAndHash(cipherText);
    symmetric.mixKey(sharedSecret);
    // se (responder side: DH(e, rs))
    symmetric.mixKey(dh(random.ephemeralSecret, initiatorX));
    const encPayload = symmetric.encryptAndHash(payload);
    const message2 = concat(
      u8(SESSION_VERSION),
      u8(PACKET_TYPE.HANDSHAKE_RESPONSE),
      ephemeralPublic,
      encCt,
      encPayload,
    );
    const [k1, k2] = symmetric.split();
    return {
      message2,
      initiatorEd25519: initiatorEd25519.slice(),
      initiatorEphemeral: initiatorEphemeral.slice(),
      keys: { initiatorToResponder: k1, responderToInitiator: k2, handshakeHash: symmetric.h.slice() },
    };
  } finally {
    symmetric.wipe();
    random.ephemeralSecret.fill(0);
  }
}

/** Initiator: read message 2 and finish. The state's secrets are erased whatever the outcome. */
export function readMessage2(
  me: Identity,
  state: InitiatorState,
  message2: Uint8Array,
): { keys: SessionKeys; payload: Uint8Array } {
  const { symmetric } = state;
  try {
    if (message2.length < MESSAGE2_MIN_BYTES)
      throw new PeerError('PROTO_ERR_TRUNCATED', 'message 2 is at least 1,154 bytes');
    if (message2.length > MESSAGE2_MIN_BYTES + MAX_HANDSHAKE_PAYLOAD_BYTES) {
      throw new PeerError('PROTO_ERR_TOO_LARGE', 'message 2 over 2,178 bytes');
    }
    if (message2[0] !== SESSION_VERSION)
      throw new PeerError('PROTO_ERR_BAD_VERSION', `unknown session version ${message2[0]}`);
    if (message2[1] !== PACKET_TYPE.HANDSHAKE_RESPONSE)
      throw new PeerError('PROTO_ERR_BAD_TYPE', 'not a handshake response');
    // e
    const responderEphemeral = message2.subarray(2, 34);
    symmetric.mixHash(responderEphemeral);
    // ee
    symmetric.mixKey(dh(state.ephemeralSecret, responderEphemeral));
    // ekem1: read ct, K = Decaps(ct, dk), MixKey(K)
    const ct = symmetric.decryptAndHash(message2.subarray(34, 1138));
    symmetric.mixKey(kemDecapsulate(ct, state.kemSecret));
    // se (initiator side: DH(s, re))
    symmetric.mixKey(dh(me.x25519Secret, responderEphemeral));
    const payload = symmetric.decryptAndHash(message2.subarray(1138));
    const [k1, k2] = symmetric.split();
    return {
      payload,
      keys: { initiatorToResponder: k1, responderToInitiator: k2, handshakeHash: symmetric.h.slice() },
    };
  } finally {
    symmetric.wipe();
    state.ephemeralSecret.fill(0);
    state.kemSecret.fill(0);
  }
}
