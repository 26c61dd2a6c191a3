import { bytesEqual, lengthPrefixed, utf8 } from '../bytes.js';
import {
  DOMAIN,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SESSION_MAX_HANDSHAKE_PAYLOAD_BYTES,
  SESSION_VERSION,
} from '../constants.js';
import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../crypto/convert.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { assertBytes, ProtocolError } from '../errors.js';
import { HandshakeState } from './handshake-state.js';
import type { RandomSource } from './random.js';
import { decodeHandshakePacket, encodeHandshakePacket, SessionPacketType } from './session-packet.js';

/**
 * The p2p-comm v2 session handshake (docs/protocol.md "v2 sessions — handshake"):
 * Noise_IKhfs_25519+MLKEM768_ChaChaPoly_SHA256 between two Ed25519 identities whose X25519 forms
 * are the Noise static keys.
 *
 *   prologue = lengthPrefixed(DOMAIN.sessionPrologue, [SESSION_VERSION], protocol name,
 *                             algorithm list, responder's Ed25519 public key)
 *   → e, es, e1, s, ss   payload: the initiator's Ed25519 public key (32 bytes)
 *   ← e, ee, ekem1, se   payload: optional responder data (≤ SESSION_MAX_HANDSHAKE_PAYLOAD_BYTES)
 *
 * The final keys depend on ee, es, se, ss (X25519) and the ML-KEM-768 shared secret.
 */

export const SESSION_PROTOCOL_NAME = 'Noise_IKhfs_25519+MLKEM768_ChaChaPoly_SHA256';
/** Algorithms named in the prologue, so a downgrade changes the transcript. */
export const SESSION_ALGORITHMS = 'X25519,ML-KEM-768,ChaCha20-Poly1305,SHA-256,HKDF-SHA-256';
/** Message 1 on the wire: prefix 2 + e 32 + enc(e1) 1,184+16 + enc(s) 32+16 + enc(payload) 32+16, bytes. */
export const HANDSHAKE_INIT_BYTES = 2 + 32 + 1_200 + 48 + 48;
/** Message 2 without payload: prefix 2 + e 32 + enc(ct) 1,088+16 + tag 16, bytes. */
export const HANDSHAKE_RESPONSE_MIN_BYTES = 2 + 32 + 1_104 + 16;

/** An Ed25519 identity (the shape of identity.ts's Identity). */
export interface SessionIdentity {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** What a finished handshake gives one side: its keys (owned by the Session that takes them). */
export interface SessionKeys {
  readonly initiator: boolean;
  /** The peer's Ed25519 identity key, as authenticated by the handshake. */
  readonly remotePublicKey: Uint8Array;
  /** Key for what we send (epoch 0). */
  readonly sendKey: Uint8Array;
  /** Key for what we receive (epoch 0). */
  readonly receiveKey: Uint8Array;
  /** Final handshake hash h: public, unique per session (a session id / channel binding). */
  readonly handshakeHash: Uint8Array;
}

/** The prologue both sides hash first: version, protocol name, algorithms, responder identity. */
export function sessionPrologue(responderPublicKey: Uint8Array): Uint8Array {
  return lengthPrefixed(
    utf8(DOMAIN.sessionPrologue),
    Uint8Array.of(SESSION_VERSION),
    utf8(SESSION_PROTOCOL_NAME),
    utf8(SESSION_ALGORITHMS),
    responderPublicKey,
  );
}

function keysFrom(state: HandshakeState, remotePublicKey: Uint8Array): SessionKeys {
  const r = state.result();
  const i2r = r.initiatorToResponder.exportKey();
  const r2i = r.responderToInitiator.exportKey();
  r.initiatorToResponder.destroy();
  r.responderToInitiator.destroy();
  return {
    initiator: state.initiator,
    remotePublicKey: Uint8Array.from(remotePublicKey),
    sendKey: state.initiator ? i2r : r2i,
    receiveKey: state.initiator ? r2i : i2r,
    handshakeHash: r.handshakeHash,
  };
}

export interface InitiateOptions {
  readonly identity: SessionIdentity;
  /** The responder's Ed25519 public key (known after consent). */
  readonly remotePublicKey: Uint8Array;
  readonly random?: RandomSource;
  /** X25519 implementation: pass `nodeSuite` in Node (OpenSSL); default `portableSuite` (@noble). */
  readonly suite?: CryptoSuite;
}

/** The initiator between message 1 and message 2. One use: `complete` or `destroy`. */
export class PendingSession {
  constructor(
    private readonly state: HandshakeState,
    private readonly remotePublicKey: Uint8Array,
  ) {}

  /** Read message 2; returns our keys and the responder's payload. Fails closed (state destroyed). */
  complete(packet: Uint8Array): { keys: SessionKeys; payload: Uint8Array } {
    try {
      const payload = this.state.readMessage(decodeHandshakePacket(packet, SessionPacketType.HANDSHAKE_RESPONSE));
      return { keys: keysFrom(this.state, this.remotePublicKey), payload };
    } catch (err) {
      this.state.destroy();
      throw err;
    }
  }

  /** Erase the ephemeral X25519 and ML-KEM secrets (give up on this handshake). */
  destroy(): void {
    this.state.destroy();
  }
}

/** Start a session: returns message 1 and the pending state that reads message 2. */
export function initiateSession(options: InitiateOptions): { packet: Uint8Array; pending: PendingSession } {
  assertBytes(options.remotePublicKey, PUBLIC_KEY_BYTES, 'remotePublicKey');
  assertBytes(options.identity?.publicKey, PUBLIC_KEY_BYTES, 'identity.publicKey');
  assertBytes(options.identity.secretKey, SECRET_KEY_BYTES, 'identity.secretKey');
  const state = new HandshakeState({
    protocolName: SESSION_PROTOCOL_NAME,
    initiator: true,
    prologue: sessionPrologue(options.remotePublicKey),
    staticSecretKey: ed25519SecretToX25519(options.identity.secretKey),
    remoteStaticKey: ed25519PublicToX25519(options.remotePublicKey),
    random: options.random,
    suite: options.suite,
  });
  const message = state.writeMessage(options.identity.publicKey);
  return {
    packet: encodeHandshakePacket(SessionPacketType.HANDSHAKE_INIT, message),
    pending: new PendingSession(state, options.remotePublicKey),
  };
}

export interface AcceptOptions {
  readonly identity: SessionIdentity;
  /** Decides whether this Ed25519 key may open a session (a trusted peer); false refuses. */
  readonly acceptInitiator: (publicKey: Uint8Array) => boolean;
  /** Optional data for the initiator inside message 2 (fully protected: ee, se and ML-KEM). */
  readonly payload?: Uint8Array;
  readonly random?: RandomSource;
  /** X25519 implementation: pass `nodeSuite` in Node (OpenSSL); default `portableSuite` (@noble). */
  readonly suite?: CryptoSuite;
}

/**
 * Answer message 1: verifies that its Ed25519 key matches its static key and is accepted, and
 * returns message 2 with our keys. Any failure throws a ProtocolError and leaves nothing behind.
 */
export function acceptSession(packet: Uint8Array, options: AcceptOptions): { packet: Uint8Array; keys: SessionKeys } {
  assertBytes(options.identity?.publicKey, PUBLIC_KEY_BYTES, 'identity.publicKey');
  assertBytes(options.identity.secretKey, SECRET_KEY_BYTES, 'identity.secretKey');
  const payload = options.payload ?? new Uint8Array(0);
  if (payload.length > SESSION_MAX_HANDSHAKE_PAYLOAD_BYTES)
    throw new ProtocolError('PROTO_ERR_TOO_LARGE', 'handshake payload');
  const noiseMessage = decodeHandshakePacket(packet, SessionPacketType.HANDSHAKE_INIT);
  if (packet.length !== HANDSHAKE_INIT_BYTES)
    throw new ProtocolError(packet.length < HANDSHAKE_INIT_BYTES ? 'PROTO_ERR_TRUNCATED' : 'PROTO_ERR_TRAILING_BYTES');
  const state = new HandshakeState({
    protocolName: SESSION_PROTOCOL_NAME,
    initiator: false,
    prologue: sessionPrologue(options.identity.publicKey),
    staticSecretKey: ed25519SecretToX25519(options.identity.secretKey),
    random: options.random,
    suite: options.suite,
  });
  try {
    const initiatorKey = state.readMessage(noiseMessage);
    const rs = state.remoteStaticKey;
    if (initiatorKey.length !== PUBLIC_KEY_BYTES || !rs)
      throw new ProtocolError('PROTO_ERR_HANDSHAKE_IDENTITY', 'message 1 must carry a 32-byte Ed25519 key');
    // The Ed25519 key must be the one whose X25519 form proved itself in ss.
    if (!bytesEqual(ed25519PublicToX25519(initiatorKey), rs))
      throw new ProtocolError('PROTO_ERR_HANDSHAKE_IDENTITY', 'Ed25519 key does not match the static key');
    if (!options.acceptInitiator(Uint8Array.from(initiatorKey)))
      throw new ProtocolError('PROTO_ERR_HANDSHAKE_IDENTITY', 'initiator not accepted');
    const message = state.writeMessage(payload);
    return {
      packet: encodeHandshakePacket(SessionPacketType.HANDSHAKE_RESPONSE, message),
      keys: keysFrom(state, initiatorKey),
    };
  } catch (err) {
    state.destroy();
    throw err;
  }
}
