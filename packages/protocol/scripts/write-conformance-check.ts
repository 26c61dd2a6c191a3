/**
 * Answers one conformance vector (test/vectors/README.md, "Conformance kit") with this
 * package's real code: the protocol-layer kinds here, the client-layer kinds (payload, inner,
 * file) through `hooks` supplied by the client. Used by the vector tests and by
 * write-conformance*.ts to fill in outputs; a second implementation answers the same objects.
 * Everything is recomputed from `input`: nothing is read from `expect`.
 */
import { DEFAULT_TIMESTAMP_WINDOW_MS } from '../src/constants.js';
import { ed25519PublicToX25519 } from '../src/crypto/convert.js';
import { nodeSuite } from '../src/crypto/node.js';
import type { CryptoSuite } from '../src/crypto/suite.js';
import {
  acceptSession,
  aeadOpen,
  bytesEqual,
  classifyPeerPacket,
  createPrekeyBundle,
  decodeFrame,
  decodePrekeyBundle,
  decodePrekeyPacket,
  deriveEnvelopeKey,
  encodeFrame,
  encodePrekeyPacket,
  type Frame,
  FrameType,
  fromHex,
  identityFromSecret,
  initiateSession,
  isProtocolError,
  lengthPrefixed,
  openEnvelope,
  openPrekeyMessage,
  PrekeyReplayGuard,
  type PrekeySecrets,
  ProtocolError,
  prekeyBundleDigest,
  ReplayGuard,
  Session,
  sealEnvelope,
  sealToPrekey,
  sessionPrologue,
  toHex,
  utf8,
  verifyEnvelopeSignature,
  verifyHello,
  verifyPrekeyBundle,
} from '../src/index.js';
import { chachaEncrypt } from '../src/session/chacha-poly.js';
import { nextEpochKey } from '../src/session/epoch-key.js';
import { mlKemGenerateKeyPair } from '../src/session/ml-kem.js';
import { scriptedRandom } from '../src/session/random.js';
import { TRANSPORT_HEADER_BYTES, writeTransportHeader } from '../src/session/session-packet.js';

/** One vector as stored (README "File layout"). */
export interface Vector {
  readonly id: string;
  readonly kind: string;
  readonly description: string;
  readonly input: Record<string, unknown>;
  readonly expect: { readonly output: Record<string, unknown> } | { readonly error: string };
}

/** A checker's answer: the output, or the error code. */
export type Answer =
  | { readonly ok: true; readonly output: Record<string, unknown> }
  | { readonly ok: false; readonly code: string };

/** Client-layer decoders (client/src), given by the client's test and generator. */
export interface ClientHooks {
  /** `payload.decode` output for a v1 envelope's plaintext; throws a coded error. */
  payload(envelopeType: number, plaintext: Uint8Array): Record<string, unknown>;
  /**
   * `inner.decode` output for a TRANSPORT / PREKEY plaintext; throws a coded error. With
   * `prekeyMessageId` (the plaintext came in a prekey message) it also applies the rules for
   * that carrier: no FILE, and a DATA's id must be the message id.
   */
  inner(plaintext: Uint8Array, prekeyMessageId?: Uint8Array): Record<string, unknown>;
  /** `file.decode` output for one file-transfer message; throws a coded error. */
  file(message: Uint8Array): Record<string, unknown>;
  /** The direct link's handshake (`direct.decode`, `direct.prove`, `direct.verify`); throws a coded error. */
  direct(kind: 'decode' | 'prove' | 'verify', input: Record<string, unknown>): Record<string, unknown>;
}

/** The error code of anything our code throws (ProtocolError or the client's coded errors). */
export function errorCode(err: unknown): string {
  if (isProtocolError(err)) return err.code;
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string') return code;
  throw err;
}

/**
 * The suite the kinds run X25519 and Ed25519 with: nodeSuite unless checkVector is told
 * otherwise (both suites must give every vector the same answer). Set only for the span of one
 * synchronous checkVector call.
 */
let suite: CryptoSuite = nodeSuite;

// ---- input readers: a vector with a missing or malformed field is a broken vector, not an answer ----

function field(input: Record<string, unknown>, name: string): unknown {
  if (!(name in input)) throw new Error(`vector input lacks ${name}`);
  return input[name];
}

export function hexIn(input: Record<string, unknown>, name: string): Uint8Array {
  const v = field(input, name);
  const b = typeof v === 'string' ? fromHex(v) : null;
  if (!b) throw new Error(`vector input ${name} is not hex`);
  return b;
}

function numIn(input: Record<string, unknown>, name: string): number {
  const v = field(input, name);
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error(`vector input ${name} is not an integer`);
  return v;
}

function strIn(input: Record<string, unknown>, name: string): string {
  const v = field(input, name);
  if (typeof v !== 'string') throw new Error(`vector input ${name} is not a string`);
  return v;
}

function objIn(input: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = field(input, name);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`vector input ${name} is not an object`);
  return v as Record<string, unknown>;
}

function hexList(input: Record<string, unknown>, name: string): Uint8Array[] {
  const v = input[name] ?? [];
  if (!Array.isArray(v)) throw new Error(`vector input ${name} is not a list`);
  return v.map((h, i) => hexIn({ [`${name}[${i}]`]: h }, `${name}[${i}]`));
}

function fail(what: string): never {
  throw new Error(`vector input ${what} is malformed`);
}

function identityIn(input: Record<string, unknown>, name: string) {
  return identityFromSecret(suite, hexIn(input, name));
}

// ---- frames ----

const FRAME_NAMES = new Map<number, string>(Object.entries(FrameType).map(([name, type]) => [type, name]));

/** A frame as vector JSON: type name, bytes as hex, numbers and strings as they are. */
export function frameToJson(frame: Frame): Record<string, unknown> {
  const out: Record<string, unknown> = { type: FRAME_NAMES.get(frame.type) };
  for (const [k, v] of Object.entries(frame)) {
    if (k === 'type') continue;
    out[k] = v instanceof Uint8Array ? toHex(v) : v;
  }
  if (frame.type === FrameType.WELCOME) out.welcome = JSON.parse(frame.info) as unknown;
  return out;
}

/** The inverse of frameToJson (for the round-trip check of every decoded frame). */
export function frameFromJson(json: Record<string, unknown>): Frame {
  const type = FrameType[json.type as keyof typeof FrameType];
  if (type === undefined) throw new Error(`unknown frame name ${String(json.type)}`);
  const out: Record<string, unknown> = { type };
  const bytesFields = new Set(['challenge', 'key', 'signature', 'to', 'from', 'envelope', 'bundle']);
  for (const [k, v] of Object.entries(json)) {
    if (k === 'type' || k === 'welcome') continue;
    out[k] = bytesFields.has(k) ? hexIn(json, k) : v;
  }
  return out as unknown as Frame;
}

// ---- kinds ----

function frameDecode(input: Record<string, unknown>): Record<string, unknown> {
  const maxBytes = input.maxBytes === undefined ? undefined : numIn(input, 'maxBytes');
  return { frame: frameToJson(decodeFrame(hexIn(input, 'frame'), maxBytes)) };
}

function helloBuild(input: Record<string, unknown>): Record<string, unknown> {
  const id = identityIn(input, 'seed');
  const challenge = hexIn(input, 'challenge');
  const origin = strIn(input, 'origin');
  const timestamp = numIn(input, 'timestamp');
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(timestamp));
  const signedBytes = lengthPrefixed(utf8('p2p-comm/v1/server-auth'), challenge, utf8(origin), ts);
  const frame: Frame = {
    type: FrameType.HELLO,
    key: id.publicKey,
    timestamp,
    signature: suite.sign(id.secretKey, signedBytes),
    token: strIn(input, 'token'),
  };
  return { signedBytes: toHex(signedBytes), frame: toHex(encodeFrame(frame)) };
}

function helloVerify(input: Record<string, unknown>): Record<string, unknown> {
  const frame = decodeFrame(hexIn(input, 'frame'));
  if (frame.type !== FrameType.HELLO) throw new ProtocolError('PROTO_ERR_BAD_TYPE', 'not a HELLO');
  const origins = field(input, 'origins');
  if (!Array.isArray(origins) || !origins.every((o) => typeof o === 'string')) fail('origins');
  verifyHello(suite, frame, hexIn(input, 'challenge'), origins as string[], {
    now: numIn(input, 'now'),
    windowMs: input.windowMs === undefined ? DEFAULT_TIMESTAMP_WINDOW_MS : numIn(input, 'windowMs'),
  });
  return { key: toHex(frame.key) };
}

/** `envelope.seal`'s intermediates are recomputed from the inputs and the sealed bytes. */
function envelopeSeal(input: Record<string, unknown>): Record<string, unknown> {
  const sender = identityIn(input, 'senderSeed');
  const recipient = hexIn(input, 'recipient');
  const ephemeralSecret = hexIn(input, 'ephemeralSecret');
  const envelope = sealWith(sender, recipient, ephemeralSecret, input);
  const fields = verifyEnvelopeSignature(suite, envelope);
  const recipientX25519 = ed25519PublicToX25519(recipient);
  const shared = suite.x25519(ephemeralSecret, recipientX25519);
  const { key, nonce } = deriveEnvelopeKey(shared, fields.ephemeralKey, recipientX25519);
  if (!aeadOpen(key, nonce, fields.ciphertext, fields.header)) throw new Error('sealed envelope does not open');
  return {
    envelope: toHex(envelope),
    recipientX25519: toHex(recipientX25519),
    ephemeralKey: toHex(fields.ephemeralKey),
    shared: toHex(shared),
    aeadKey: toHex(key),
    aeadNonce: toHex(nonce),
    signedBytes: toHex(envelopeSignedBytes(envelope)),
  };
}

function sealWith(
  sender: ReturnType<typeof identityIn>,
  recipient: Uint8Array,
  ephemeralSecret: Uint8Array,
  input: Record<string, unknown>,
): Uint8Array {
  return sealEnvelope(suite, {
    type: numIn(input, 'type') as 1,
    sender,
    recipient,
    plaintext: hexIn(input, 'plaintext'),
    timestamp: numIn(input, 'timestamp'),
    messageId: hexIn(input, 'messageId'),
    nonce: hexIn(input, 'nonce'),
    ephemeralSecret,
  });
}

/** lp(tag) ‖ lp(each header field) ‖ lp(ciphertext), from the envelope's bytes (the spec's rule, written out). */
export function envelopeSignedBytes(envelope: Uint8Array): Uint8Array {
  const n = new DataView(envelope.buffer, envelope.byteOffset).getUint32(138);
  return lengthPrefixed(
    utf8('p2p-comm/v1/envelope-signature'),
    envelope.subarray(0, 1),
    envelope.subarray(1, 2),
    envelope.subarray(2, 18),
    envelope.subarray(18, 50),
    envelope.subarray(50, 82),
    envelope.subarray(82, 90),
    envelope.subarray(90, 106),
    envelope.subarray(106, 138),
    envelope.subarray(142, 142 + n),
  );
}

function envelopeOpen(input: Record<string, unknown>, hooks?: ClientHooks): Record<string, unknown> {
  const recipient = identityIn(input, 'recipientSeed');
  const now = numIn(input, 'now');
  const windowMs = input.windowMs === undefined ? undefined : numIn(input, 'windowMs');
  let guard = new ReplayGuard();
  for (const earlier of hexList(input, 'before'))
    openEnvelope(suite, earlier, { recipient, replayGuard: guard, now, windowMs });
  // A restart: the guard survives only as its persisted form.
  if (input.restart === true) guard = ReplayGuard.restore(JSON.parse(JSON.stringify(guard.snapshot())), {}, now);
  const { fields, plaintext } = openEnvelope(suite, hexIn(input, 'envelope'), {
    recipient,
    replayGuard: guard,
    now,
    windowMs,
  });
  const out: Record<string, unknown> = {
    version: fields.version,
    type: fields.type,
    messageId: toHex(fields.messageId),
    sender: toHex(fields.sender),
    recipient: toHex(fields.recipient),
    timestamp: fields.timestamp,
    nonce: toHex(fields.nonce),
    ephemeralKey: toHex(fields.ephemeralKey),
    plaintext: toHex(plaintext),
  };
  if (input.decode === 'payload') out.payload = needHooks(hooks).payload(fields.type, plaintext);
  return out;
}

function needHooks(hooks: ClientHooks | undefined): ClientHooks {
  if (!hooks) throw new Error('this vector needs the client layer (client/test/conformance-vectors.test.ts)');
  return hooks;
}

function packetClassify(input: Record<string, unknown>): Record<string, unknown> {
  const p = classifyPeerPacket(hexIn(input, 'packet'));
  const out: Record<string, unknown> = { version: p.version, kind: p.kind, storable: p.storable };
  if (p.sender) out.sender = toHex(p.sender);
  if (p.recipient) out.recipient = toHex(p.recipient);
  if (p.messageId) out.messageId = toHex(p.messageId);
  return out;
}

function handshakeInitiate(input: Record<string, unknown>): Record<string, unknown> {
  const identity = identityIn(input, 'initiatorSeed');
  const responder = hexIn(input, 'responder');
  const random = objIn(input, 'random');
  const { packet, pending } = initiateSession({
    identity,
    remotePublicKey: responder,
    random: scriptedRandom([hexIn(random, 'ephemeral'), hexIn(random, 'kemSeed')]),
    suite: suite,
  });
  const out: Record<string, unknown> = { prologue: toHex(sessionPrologue(responder)), message1: toHex(packet) };
  if (input.message2 === undefined) {
    pending.destroy();
    return out;
  }
  const { keys, payload } = pending.complete(hexIn(input, 'message2'));
  return {
    ...out,
    payload: toHex(payload),
    handshakeHash: toHex(keys.handshakeHash),
    sendKey: toHex(keys.sendKey),
    receiveKey: toHex(keys.receiveKey),
  };
}

function handshakeRespond(input: Record<string, unknown>): Record<string, unknown> {
  const identity = identityIn(input, 'responderSeed');
  const accept = hexList(input, 'accept');
  const random = objIn(input, 'random');
  const { packet, keys } = acceptSession(hexIn(input, 'message1'), {
    identity,
    acceptInitiator: (key) => accept.some((k) => bytesEqual(k, key)),
    payload: hexIn(input, 'payload'),
    random: scriptedRandom([hexIn(random, 'ephemeral'), hexIn(random, 'kemRandom')]),
    suite: suite,
  });
  return {
    initiator: toHex(keys.remotePublicKey),
    message2: toHex(packet),
    handshakeHash: toHex(keys.handshakeHash),
    sendKey: toHex(keys.sendKey),
    receiveKey: toHex(keys.receiveKey),
  };
}

/** The epoch-e key of one direction from its epoch-0 key (the spec's rekey step, e times). */
export function epochKey(key0: Uint8Array, epoch: number): Uint8Array {
  let key = key0;
  for (let e = 1; e <= epoch; e++) key = nextEpochKey(key, e);
  return key;
}

/**
 * A TRANSPORT packet at an explicit (epoch, counter): what a Session seals there, written out
 * from its parts so vectors can name any position (Session.seal only walks forward).
 */
export function sealTransportAt(key0: Uint8Array, epoch: number, counter: number, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(TRANSPORT_HEADER_BYTES + plaintext.length + 16);
  writeTransportHeader(out, epoch, counter);
  out.set(
    chachaEncrypt(epochKey(key0, epoch), counter, out.subarray(0, TRANSPORT_HEADER_BYTES), plaintext),
    TRANSPORT_HEADER_BYTES,
  );
  return out;
}

function transportSeal(input: Record<string, unknown>): Record<string, unknown> {
  return {
    packet: toHex(
      sealTransportAt(
        hexIn(input, 'sendKey'),
        numIn(input, 'epoch'),
        numIn(input, 'counter'),
        hexIn(input, 'plaintext'),
      ),
    ),
  };
}

function transportOpen(input: Record<string, unknown>, hooks?: ClientHooks): Record<string, unknown> {
  // The send key is never used by open; a distinct dummy keeps the Session's invariants.
  const session = new Session(
    {
      initiator: false,
      remotePublicKey: new Uint8Array(32),
      sendKey: new Uint8Array(32).fill(0xee),
      receiveKey: Uint8Array.from(hexIn(input, 'receiveKey')),
      handshakeHash: new Uint8Array(32),
    },
    { now: () => 0 },
  );
  for (const earlier of hexList(input, 'before')) session.open(earlier);
  const packet = hexIn(input, 'packet');
  const plaintext = session.open(packet);
  const view = new DataView(packet.buffer, packet.byteOffset);
  const out: Record<string, unknown> = {
    epoch: view.getUint32(2),
    counter: view.getUint32(6) * 2 ** 32 + view.getUint32(10),
    plaintext: toHex(plaintext),
  };
  if (input.decode === 'inner') out.inner = needHooks(hooks).inner(plaintext);
  return out;
}

/** Rebuilds the secrets of a held bundle: its X25519 secret and the ML-KEM pair from its seed. */
function heldPrekeys(input: Record<string, unknown>): Map<number, PrekeySecrets> {
  const list = field(input, 'prekeys');
  if (!Array.isArray(list)) fail('prekeys');
  const held = new Map<number, PrekeySecrets>();
  for (const entry of list as Record<string, unknown>[]) {
    const encoded = hexIn(entry, 'bundle');
    const bundle = decodePrekeyBundle(encoded);
    const kem = mlKemGenerateKeyPair(scriptedRandom([hexIn(entry, 'kemSeed')]));
    if (!bytesEqual(kem.publicKey, bundle.kemPublicKey))
      throw new Error('prekeys: kemSeed does not give the bundle key');
    held.set(bundle.bundleId, {
      bundleId: bundle.bundleId,
      x25519SecretKey: hexIn(entry, 'x25519Secret'),
      kemSecretKey: kem.secretKey,
      bundleDigest: prekeyBundleDigest(encoded),
    });
  }
  return held;
}

function prekeyBundle(input: Record<string, unknown>): Record<string, unknown> {
  const random = objIn(input, 'random');
  const { encoded, bundle } = createPrekeyBundleWith(input, random);
  return {
    bundle: toHex(encoded),
    digest: toHex(prekeyBundleDigest(encoded)),
    x25519Prekey: toHex(bundle.x25519Prekey),
    kemPublicKey: toHex(bundle.kemPublicKey),
  };
}

function createPrekeyBundleWith(input: Record<string, unknown>, random: Record<string, unknown>) {
  return createPrekeyBundle(suite, {
    identity: identityIn(input, 'seed'),
    bundleId: numIn(input, 'bundleId'),
    createdAt: numIn(input, 'createdAt'),
    lifetimeMs: numIn(input, 'lifetimeMs'),
    random: scriptedRandom([hexIn(random, 'x25519Secret'), hexIn(random, 'kemSeed')]),
  });
}

function prekeyVerify(input: Record<string, unknown>): Record<string, unknown> {
  const b = verifyPrekeyBundle(suite, hexIn(input, 'bundle'), {
    now: numIn(input, 'now'),
    expectedIdentity: input.expectedIdentity === undefined ? undefined : hexIn(input, 'expectedIdentity'),
  });
  return {
    identity: toHex(b.identityKey),
    bundleId: b.bundleId,
    createdAt: b.createdAt,
    expiresAt: b.expiresAt,
    x25519Prekey: toHex(b.x25519Prekey),
    kemPublicKey: toHex(b.kemPublicKey),
  };
}

function prekeySeal(input: Record<string, unknown>): Record<string, unknown> {
  const random = objIn(input, 'random');
  const { message } = sealToPrekey(suite, {
    sender: identityIn(input, 'senderSeed'),
    recipient: hexIn(input, 'recipient'),
    bundle: hexIn(input, 'bundle'),
    now: numIn(input, 'now'),
    sequence: numIn(input, 'sequence'),
    messageId: hexIn(input, 'messageId'),
    plaintext: hexIn(input, 'plaintext'),
    random: scriptedRandom([hexIn(random, 'ephemeral'), hexIn(random, 'kemRandom')]),
  });
  return { packet: toHex(encodePrekeyPacket(message)) };
}

function prekeyOpen(input: Record<string, unknown>, hooks?: ClientHooks): Record<string, unknown> {
  const recipient = identityIn(input, 'recipientSeed');
  const held = heldPrekeys(input);
  let guard = new PrekeyReplayGuard();
  const open = (packet: Uint8Array) =>
    openPrekeyMessage(suite, decodePrekeyPacket(packet), {
      recipient,
      prekeys: (id) => held.get(id),
      replayGuard: guard,
    });
  for (const earlier of hexList(input, 'before')) open(earlier);
  if (input.restart === true) guard = PrekeyReplayGuard.fromState(JSON.parse(JSON.stringify(guard.toState())));
  const m = open(hexIn(input, 'packet'));
  const out: Record<string, unknown> = {
    sender: toHex(m.sender),
    bundleId: m.bundleId,
    sequence: m.sequence,
    messageId: toHex(m.messageId),
    plaintext: toHex(m.plaintext),
  };
  if (input.decode === 'inner') out.inner = needHooks(hooks).inner(m.plaintext, m.messageId);
  return out;
}

const KINDS: Record<string, (input: Record<string, unknown>, hooks?: ClientHooks) => Record<string, unknown>> = {
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
  'prekey.bundle': prekeyBundle,
  'prekey.verify': prekeyVerify,
  'prekey.seal': prekeySeal,
  'prekey.open': prekeyOpen,
  'payload.decode': (input, hooks) => ({
    payload: needHooks(hooks).payload(numIn(input, 'envelopeType'), hexIn(input, 'plaintext')),
  }),
  'inner.decode': (input, hooks) => ({ inner: needHooks(hooks).inner(hexIn(input, 'plaintext')) }),
  'file.decode': (input, hooks) => needHooks(hooks).file(hexIn(input, 'message')),
  'direct.decode': (input, hooks) => needHooks(hooks).direct('decode', input),
  'direct.prove': (input, hooks) => needHooks(hooks).direct('prove', input),
  'direct.verify': (input, hooks) => needHooks(hooks).direct('verify', input),
};

export const VECTOR_KINDS: readonly string[] = Object.freeze(Object.keys(KINDS));

/** The kinds answered by client code (ClientHooks); the rest are this package's. */
export const CLIENT_VECTOR_KINDS: ReadonlySet<string> = new Set([
  'payload.decode',
  'inner.decode',
  'file.decode',
  'direct.decode',
  'direct.prove',
  'direct.verify',
]);

/** Answer one vector with our code. A broken vector (unknown kind, bad input) throws a plain Error. */
export function checkVector(
  vector: Pick<Vector, 'kind' | 'input'>,
  hooks?: ClientHooks,
  options: { readonly suite?: CryptoSuite } = {},
): Answer {
  const run = KINDS[vector.kind];
  if (!run) throw new Error(`unknown vector kind ${vector.kind}`);
  suite = options.suite ?? nodeSuite;
  try {
    return { ok: true, output: run(vector.input, hooks) };
  } catch (err) {
    if (err instanceof Error && !isProtocolError(err) && typeof (err as { code?: unknown }).code !== 'string')
      throw err;
    return { ok: false, code: errorCode(err) };
  } finally {
    suite = nodeSuite;
  }
}

/** Deep equality of the fields `expected` lists (README: extra answer fields are ignored at the top level). */
export function answerMatches(answer: Answer, expect: Vector['expect']): boolean {
  if ('error' in expect) return !answer.ok && answer.code === expect.error;
  if (!answer.ok) return false;
  return Object.entries(expect.output).every(([k, v]) => deepEqual(answer.output[k], v));
}

/** JSON values equal regardless of object key order. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
