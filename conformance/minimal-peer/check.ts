// The `check` op: compute what one conformance-kit vector asks (packages/protocol/test/vectors/
// README.md, "Kinds") and return {output} — or throw the PeerError whose code the vector
// expects. Bytes are lowercase hex in and out; identities are given by their seeds.

import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, fromUtf8, toHex } from './bytes.js';
import { type DirectProofInput, decodeDirectMessage, directSignedBytes, verifyDirectProof } from './direct-auth.js';
import { openEnvelope, sealEnvelopeParts, TIMESTAMP_WINDOW_MS } from './envelope.js';
import { EnvelopeReplayGuard } from './envelope-replay-guard.js';
import { PeerError } from './errors.js';
import { decodeFileMessage } from './file-wire.js';
import { decodeFrame, encodeFrame, type Frame } from './frames.js';
import { prologue, readMessage1AndRespond, readMessage2, writeMessage1 } from './handshake.js';
import { identityFromSeed } from './identity.js';
import { decodeInner, type Inner } from './inner-payload.js';
import { kemKeyPair } from './ml-kem.js';
import { decodePayload, type Payload } from './payload.js';
import { classifyPeerPacket } from './peer-packet.js';
import {
  type HeldPrekey,
  makeBundle,
  openPrekeyPacket,
  PrekeyReplayGuard,
  sealToBundle,
  verifyBundle,
} from './prekey.js';
import { helloSignatureInput, signHello } from './server-auth.js';
import { nextEpochKey, Session } from './session.js';
import { decodeSignal } from './signal.js';
import { sign, verifyStrict } from './strict-ed25519.js';

type Input = Record<string, unknown>;
type Output = Record<string, unknown>;

function hex(input: Input, name: string): Uint8Array {
  const value = input[name];
  if (typeof value !== 'string') throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `input.${name} must be hex`);
  return fromHex(value);
}

function num(input: Input, name: string, fallback?: number): number {
  const value = input[name] ?? fallback;
  if (typeof value !== 'number') throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `input.${name} must be a number`);
  return value;
}

function str(input: Input, name: string): string {
  const value = input[name];
  if (typeof value !== 'string') throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `input.${name} must be a string`);
  return value;
}

function hexList(input: Input, name: string): Uint8Array[] {
  const value = input[name] ?? [];
  if (!Array.isArray(value)) throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `input.${name} must be a list`);
  return value.map((item) => fromHex(String(item)));
}

export async function runCheck(vector: unknown): Promise<Output> {
  if (typeof vector !== 'object' || vector === null)
    throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', 'vector must be an object');
  const { kind, input } = vector as { kind?: unknown; input?: unknown };
  if (typeof input !== 'object' || input === null)
    throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', 'vector.input missing');
  const handler = KINDS[String(kind)];
  if (handler === undefined)
    throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', `kind ${String(kind)} is not supported`);
  return { output: handler(input as Input) };
}

const KINDS: Record<string, (input: Input) => Output> = {
  'frame.decode': frameDecode,
  'hello.build': helloBuild,
  'hello.verify': helloVerify,
  'envelope.seal': envelopeSeal,
  'envelope.open': envelopeOpen,
  'packet.classify': packetClassify,
  'handshake.initiate': handshakeInitiate,
  'handshake.respond': handshakeRespond,
  'transport.seal': transportSeal,
  'transport.open': transportOpen,
  'payload.decode': (input) => ({ payload: payloadOutput(num(input, 'envelopeType'), hex(input, 'plaintext')) }),
  'inner.decode': (input) => ({ inner: innerOutput(decodeInner(hex(input, 'plaintext'))) }),
  'prekey.bundle': prekeyBundle,
  'prekey.verify': prekeyVerify,
  'prekey.seal': prekeySeal,
  'prekey.open': prekeyOpen,
  'direct.decode': (input) => ({ message: decodeDirectMessage(hex(input, 'message'), str(input, 'expected')) }),
  'direct.prove': directProve,
  'direct.verify': directVerify,
  'file.decode': (input) => ({ file: decodeFileMessage(hex(input, 'message')) }),
};

// ── frames and hello ─────────────────────────────────────────────────────────────────────────

const FRAME_NAMES: Record<Frame['type'], string> = {
  challenge: 'CHALLENGE',
  hello: 'HELLO',
  welcome: 'WELCOME',
  signal: 'SIGNAL',
  relay: 'RELAY',
  'relay-ttl': 'RELAY_TTL',
  deliver: 'DELIVER',
  ack: 'ACK',
  'peer-offline': 'PEER_OFFLINE',
  'prekey-publish': 'PREKEY_PUBLISH',
  'prekey-fetch': 'PREKEY_FETCH',
  'prekey-bundle': 'PREKEY_BUNDLE',
  error: 'ERROR',
  ping: 'PING',
  pong: 'PONG',
  restarting: 'RESTARTING',
};

function frameOutput(frame: Frame): Output {
  const type = FRAME_NAMES[frame.type];
  switch (frame.type) {
    case 'challenge':
      return {
        type,
        version: frame.version,
        challenge: toHex(frame.challenge),
        serverTime: frame.serverTime,
        origin: frame.origin,
      };
    case 'hello':
      return {
        type,
        key: toHex(frame.key),
        timestamp: frame.timestamp,
        signature: toHex(frame.signature),
        token: frame.token,
      };
    case 'welcome':
      return { type, info: frame.infoText, welcome: frame.info };
    case 'signal':
    case 'relay':
      return { type, frameId: frame.frameId, to: toHex(frame.to), envelope: toHex(frame.packet) };
    case 'relay-ttl':
      return { type, frameId: frame.frameId, ttlS: frame.ttlS, to: toHex(frame.to), envelope: toHex(frame.packet) };
    case 'deliver':
      return { type, channel: frame.channel, from: toHex(frame.from), envelope: toHex(frame.packet) };
    case 'ack':
      return { type, frameId: frame.frameId, status: frame.status };
    case 'peer-offline':
      return { type, frameId: frame.frameId, to: toHex(frame.key) };
    case 'prekey-publish':
      return { type, frameId: frame.frameId, bundle: toHex(frame.bundle) };
    case 'prekey-fetch':
      return { type, frameId: frame.frameId, key: toHex(frame.key) };
    case 'prekey-bundle':
      return { type, frameId: frame.frameId, key: toHex(frame.key), bundle: toHex(frame.bundle) };
    case 'error':
      return { type, frameId: frame.frameId, code: frame.code, message: frame.message };
    case 'ping':
    case 'pong':
      return { type, nonce: frame.nonce };
    case 'restarting':
      return { type, retryAfterMs: frame.retryAfterMs };
  }
}

function frameDecode(input: Input): Output {
  const bytes = hex(input, 'frame');
  if (bytes.length > num(input, 'maxBytes', 65_536))
    throw new PeerError('PROTO_ERR_TOO_LARGE', 'frame over the size limit');
  return { frame: frameOutput(decodeFrame(bytes)) };
}

function helloBuild(input: Input): Output {
  const identity = identityFromSeed(hex(input, 'seed'));
  const challenge = hex(input, 'challenge');
  const origin = str(input, 'origin');
  const timestamp = num(input, 'timestamp');
  const signature = signHello(identity, challenge, origin, timestamp);
  const frame = encodeFrame({
    type: 'hello',
    key: identity.publicKey,
    timestamp,
    signature,
    token: str(input, 'token'),
  });
  return { signedBytes: toHex(helloSignatureInput(challenge, origin, timestamp)), frame: toHex(frame) };
}

/** The server's check: decode, timestamp within the window, then the signature over any origin it serves. */
function helloVerify(input: Input): Output {
  const frame = decodeFrame(hex(input, 'frame'));
  if (frame.type !== 'hello') throw new PeerError('PROTO_ERR_BAD_TYPE', 'not a HELLO');
  const now = num(input, 'now');
  if (Math.abs(frame.timestamp - now) > num(input, 'windowMs', TIMESTAMP_WINDOW_MS)) {
    throw new PeerError('PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW', 'hello timestamp outside the window');
  }
  const challenge = hex(input, 'challenge');
  const origins = Array.isArray(input.origins) ? input.origins.map(String) : [];
  const verified = origins.some((origin) =>
    verifyStrict(frame.signature, helloSignatureInput(challenge, origin, frame.timestamp), frame.key),
  );
  if (!verified) throw new PeerError('PROTO_ERR_BAD_SIGNATURE', 'hello signature does not verify');
  return { key: toHex(frame.key) };
}

// ── envelope v1 ──────────────────────────────────────────────────────────────────────────────

function envelopeSeal(input: Input): Output {
  const sealed = sealEnvelopeParts(
    identityFromSeed(hex(input, 'senderSeed')),
    hex(input, 'recipient'),
    num(input, 'type'),
    hex(input, 'plaintext'),
    num(input, 'timestamp'),
    { messageId: hex(input, 'messageId'), nonce: hex(input, 'nonce'), ephemeralSecret: hex(input, 'ephemeralSecret') },
  );
  return {
    envelope: toHex(sealed.envelope),
    recipientX25519: toHex(sealed.recipientX25519),
    ephemeralKey: toHex(sealed.ephemeralKey),
    shared: toHex(sealed.shared),
    aeadKey: toHex(sealed.aeadKey),
    aeadNonce: toHex(sealed.aeadNonce),
    signedBytes: toHex(sealed.signedBytes),
  };
}

function envelopeOpen(input: Input): Output {
  const me = identityFromSeed(hex(input, 'recipientSeed'));
  const now = num(input, 'now');
  const windowMs = num(input, 'windowMs', TIMESTAMP_WINDOW_MS);
  let guard = new EnvelopeReplayGuard();
  for (const earlier of hexList(input, 'before')) openEnvelope(me, earlier, now, guard, windowMs);
  // restart: persist, drop every in-memory object, reload.
  if (input.restart === true) guard = EnvelopeReplayGuard.restore(guard.snapshot());
  const { fields, plaintext } = openEnvelope(me, hex(input, 'envelope'), now, guard, windowMs);
  const output: Output = {
    version: fields.version,
    type: fields.type,
    messageId: toHex(fields.messageId),
    sender: toHex(fields.sender),
    recipient: toHex(fields.recipient),
    timestamp: fields.timestamp,
    nonce: toHex(fields.nonce),
    ephemeralKey: toHex(fields.ephemeral),
    plaintext: toHex(plaintext),
  };
  if (input.decode === 'payload') output.payload = payloadOutput(fields.type, plaintext);
  return output;
}

function packetClassify(input: Input): Output {
  const c = classifyPeerPacket(hex(input, 'packet'));
  const output: Output = { version: c.version, kind: c.kind, storable: c.storable };
  if (c.sender) output.sender = toHex(c.sender);
  if (c.recipient) output.recipient = toHex(c.recipient);
  if (c.messageId) output.messageId = toHex(c.messageId);
  return output;
}

// ── v2 handshake and transport ───────────────────────────────────────────────────────────────

function handshakeInitiate(input: Input): Output {
  const me = identityFromSeed(hex(input, 'initiatorSeed'));
  const responder = hex(input, 'responder');
  const random = (input.random ?? {}) as Input;
  const { message1, state } = writeMessage1(me, responder, {
    ephemeralSecret: hex(random, 'ephemeral'),
    kemSeed: hex(random, 'kemSeed'),
  });
  const output: Output = { prologue: toHex(prologue(responder)), message1: toHex(message1) };
  if (typeof input.message2 === 'string') {
    const { keys, payload } = readMessage2(me, state, hex(input, 'message2'));
    output.payload = toHex(payload);
    output.handshakeHash = toHex(keys.handshakeHash);
    output.sendKey = toHex(keys.initiatorToResponder);
    output.receiveKey = toHex(keys.responderToInitiator);
  }
  return output;
}

function handshakeRespond(input: Input): Output {
  const me = identityFromSeed(hex(input, 'responderSeed'));
  const accepted = hexList(input, 'accept').map(toHex);
  const random = (input.random ?? {}) as Input;
  const result = readMessage1AndRespond(
    me,
    hex(input, 'message1'),
    (initiator) => accepted.includes(toHex(initiator)),
    { ephemeralSecret: hex(random, 'ephemeral'), kemRandom: hex(random, 'kemRandom') },
    typeof input.payload === 'string' ? hex(input, 'payload') : new Uint8Array(0),
  );
  return {
    initiator: toHex(result.initiatorEd25519),
    message2: toHex(result.message2),
    handshakeHash: toHex(result.keys.handshakeHash),
    sendKey: toHex(result.keys.responderToInitiator),
    receiveKey: toHex(result.keys.initiatorToResponder),
  };
}

function transportSeal(input: Input): Output {
  let key = hex(input, 'sendKey');
  const epoch = num(input, 'epoch');
  for (let e = 1; e <= epoch; e++) key = nextEpochKey(key, e);
  // A session whose sending direction stands at (epoch, counter).
  const session = Session.atPosition(key, epoch, num(input, 'counter'));
  return { packet: toHex(session.seal(hex(input, 'plaintext'), 0)) };
}

function transportOpen(input: Input): Output {
  // The receiver's clock stays at 0, so no previous epoch expires.
  const session = new Session(new Uint8Array(32), hex(input, 'receiveKey'), new Uint8Array(32), 0);
  for (const earlier of hexList(input, 'before')) session.open(earlier, 0);
  const packet = hex(input, 'packet');
  const plaintext = session.open(packet, 0);
  const view = new DataView(packet.buffer, packet.byteOffset, packet.length);
  const output: Output = {
    epoch: view.getUint32(2),
    counter: Number(view.getBigUint64(6)),
    plaintext: toHex(plaintext),
  };
  if (input.decode === 'inner') output.inner = innerOutput(decodeInner(plaintext));
  return output;
}

// ── v2 prekeys (optional for a peer; here for the kit) ─────────────────────────────────────────

function prekeyBundle(input: Input): Output {
  const random = (input.random ?? {}) as Input;
  const bundle = makeBundle(
    identityFromSeed(hex(input, 'seed')),
    num(input, 'bundleId'),
    num(input, 'createdAt'),
    num(input, 'lifetimeMs'),
    { x25519Secret: hex(random, 'x25519Secret'), kemSeed: hex(random, 'kemSeed') },
  );
  return {
    bundle: toHex(bundle.encoded),
    digest: toHex(sha256(bundle.encoded)),
    x25519Prekey: toHex(bundle.x25519Prekey),
    kemPublicKey: toHex(bundle.kemPublicKey),
  };
}

function prekeyVerify(input: Input): Output {
  const expected = typeof input.expectedIdentity === 'string' ? hex(input, 'expectedIdentity') : undefined;
  const b = verifyBundle(hex(input, 'bundle'), num(input, 'now'), expected);
  return {
    identity: toHex(b.identity),
    bundleId: b.bundleId,
    createdAt: b.createdAt,
    expiresAt: b.expiresAt,
    x25519Prekey: toHex(b.x25519Prekey),
    kemPublicKey: toHex(b.kemPublicKey),
  };
}

function prekeySeal(input: Input): Output {
  const random = (input.random ?? {}) as Input;
  const packet = sealToBundle(
    identityFromSeed(hex(input, 'senderSeed')),
    hex(input, 'recipient'),
    hex(input, 'bundle'),
    num(input, 'now'),
    num(input, 'sequence'),
    hex(input, 'messageId'),
    { ephemeral: hex(random, 'ephemeral'), kemRandom: hex(random, 'kemRandom') },
    hex(input, 'plaintext'),
  );
  return { packet: toHex(packet) };
}

function prekeyOpen(input: Input): Output {
  const me = identityFromSeed(hex(input, 'recipientSeed'));
  const held: HeldPrekey[] = ((input.prekeys ?? []) as Input[]).map((p) => ({
    bundle: hex(p, 'bundle'),
    x25519Secret: hex(p, 'x25519Secret'),
    kemSecret: kemKeyPair(hex(p, 'kemSeed')).secretKey,
  }));
  let guard = new PrekeyReplayGuard();
  for (const earlier of hexList(input, 'before')) openPrekeyPacket(me, earlier, held, guard);
  if (input.restart === true) guard = PrekeyReplayGuard.restore(guard.snapshot());
  const opened = openPrekeyPacket(me, hex(input, 'packet'), held, guard);
  const output: Output = {
    sender: toHex(opened.sender),
    bundleId: opened.bundleId,
    sequence: opened.sequence,
    messageId: toHex(opened.messageId),
    plaintext: toHex(opened.plaintext),
  };
  if (input.decode === 'inner') {
    const inner = decodeInner(opened.plaintext);
    // Files run only under a live session; a DATA's id must be the prekey message id.
    if (inner.kind === 'file') throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'FILE inside a prekey message');
    if (inner.kind === 'payload' && inner.payload.type === 5 && inner.payload.header.id !== output.messageId) {
      throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'DATA id differs from the prekey message id');
    }
    output.inner = innerOutput(inner);
  }
  return output;
}

// ── direct link handshake (optional for a peer; here for the kit) ──────────────────────────────

function directProofInput(input: Input): DirectProofInput {
  const role = str(input, 'role');
  if (role !== 'dialer' && role !== 'listener') throw new PeerError('CLIENT_ERR_INVALID_ARGUMENT', 'role');
  return {
    role,
    dialerChallenge: hex(input, 'dialerChallenge'),
    listenerChallenge: hex(input, 'listenerChallenge'),
    dialerKey: hex(input, 'dialerKey'),
    listenerKey: hex(input, 'listenerKey'),
  };
}

function directProve(input: Input): Output {
  const signedBytes = directSignedBytes(directProofInput(input));
  return { signedBytes: toHex(signedBytes), signature: toHex(sign(hex(input, 'seed'), signedBytes)) };
}

function directVerify(input: Input): Output {
  verifyDirectProof(hex(input, 'signer'), hex(input, 'signature'), directProofInput(input));
  return { valid: true };
}

// ── application and inner payloads ───────────────────────────────────────────────────────────

function payloadOutput(type: number, plaintext: Uint8Array): Output {
  if (type === 3) return { signal: decodeSignal(plaintext) };
  return payloadFields(decodePayload(type, plaintext));
}

function payloadFields(payload: Payload): Output {
  const output: Output = { header: payload.header, body: '' };
  if (payload.type === 5) {
    output.body = toHex(payload.body);
    if (payload.header.enc === 'text') output.text = fromUtf8(payload.body);
  }
  return output;
}

const INNER_NAMES: Record<number, string> = { 5: 'data', 6: 'ack', 7: 'revoke' };

function innerOutput(inner: Inner): Output {
  switch (inner.kind) {
    case 'payload':
      return { kind: INNER_NAMES[inner.payload.type], ...payloadFields(inner.payload) };
    case 'confirm':
      return { kind: 'confirm' };
    case 'bundle':
      return { kind: 'bundle', bundle: toHex(inner.bundle) };
    case 'file':
      return { kind: 'file', message: toHex(inner.message), file: decodeFileMessage(inner.message) };
  }
}
