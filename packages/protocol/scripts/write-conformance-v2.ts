/**
 * Conformance vectors of the v2 layers: peer packets as a relay checks them (peer-packets.json),
 * the hybrid handshake (handshake.json), transport packets (transport.json), prekey bundles and
 * messages (prekey.json) and the handshake → rekey transcript. Part of write-conformance.ts.
 */
import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../src/crypto/convert.js';
import { nodeSuite } from '../src/crypto/node.js';
import {
  decodePrekeyBundle,
  encodePrekeyBundle,
  HandshakeState,
  MAX_TRANSPORT_PACKET_BYTES,
  PREKEY_BUNDLE_BYTES,
  PREKEY_BUNDLE_MAX_LIFETIME_MS,
  prekeyBundleSignedBytes,
  SESSION_PROTOCOL_NAME,
  sessionPrologue,
  utf8,
} from '../src/index.js';
import { scriptedRandom } from '../src/session/random.js';
import { encodeHandshakePacket } from '../src/session/session-packet.js';
import { GOLDEN_PREKEY } from '../test/session/golden-prekey-build.js';
import { GOLDEN_RESPONDER_PAYLOAD, GOLDEN_SESSION_RANDOM } from '../test/session/golden-session-inputs.js';
import { checkVector, hexIn, sealTransportAt } from './write-conformance-check.js';
import {
  alice,
  bob,
  carol,
  concat,
  fill,
  flip,
  hex,
  partiesJson,
  patch,
  ramp,
  SEEDS,
  serialize,
  VectorSet,
} from './write-conformance-common.js';

import { envelopeInputs, SOURCE, sealed } from './write-conformance-v1.js';

// ---------------------------------------------------------------------------------------------
// handshake, transport, prekey fixtures (the golden session and prekey inputs)
// ---------------------------------------------------------------------------------------------

const R = GOLDEN_SESSION_RANDOM;

function goldenHandshake() {
  const m1 = checkOk('handshake.initiate', {
    initiatorSeed: hex(SEEDS.alice),
    responder: hex(bob.publicKey),
    random: { ephemeral: hex(R.initiatorEphemeral), kemSeed: hex(R.initiatorKemSeed) },
  });
  const respondInput = {
    responderSeed: hex(SEEDS.bob),
    message1: m1.message1 as string,
    accept: [hex(alice.publicKey)],
    random: { ephemeral: hex(R.responderEphemeral), kemRandom: hex(R.responderKemRandom) },
    payload: hex(GOLDEN_RESPONDER_PAYLOAD),
  };
  const r = checkOk('handshake.respond', respondInput);
  return {
    message1: m1.message1 as string,
    message2: r.message2 as string,
    respondInput,
    i2r: r.receiveKey as string,
    r2i: r.sendKey as string,
  };
}

export function checkOk(kind: string, input: Record<string, unknown>): Record<string, unknown> {
  const a = checkVector({ kind, input });
  if (!a.ok) throw new Error(`${kind} fixture refused: ${a.code}`);
  return a.output;
}

export function handshake(ids: Set<string>): VectorSet {
  const set = new VectorSet('handshake', ids);
  const g = goldenHandshake();
  const initiate = {
    initiatorSeed: hex(SEEDS.alice),
    responder: hex(bob.publicKey),
    random: { ephemeral: hex(R.initiatorEphemeral), kemSeed: hex(R.initiatorKemSeed) },
  };
  set.ok(
    'initiate-golden',
    'handshake.initiate',
    'message 1 of the golden session (golden-session.json): Alice to Bob with the pinned ephemeral and ML-KEM seed',
    initiate,
  );
  set.ok(
    'respond-golden',
    'handshake.respond',
    'Bob (who trusts Alice) answers the golden message 1 with payload "p2p-comm v2 golden"',
    g.respondInput,
  );
  set.ok(
    'complete-golden',
    'handshake.initiate',
    'Alice reads the golden message 2: both sides hold the same handshake hash and mirrored keys',
    { ...initiate, message2: g.message2 },
  );
  set.ok(
    'respond-no-payload',
    'handshake.respond',
    'the client sends no payload in message 2: a 1,154-byte message 2',
    { ...g.respondInput, payload: '' },
  );
  const m1 = hexIn(g, 'message1');
  const m2 = hexIn(g, 'message2');
  const respondBad = (
    name: string,
    description: string,
    message1: Uint8Array | string,
    code: string,
    extra: Record<string, unknown> = {},
  ) =>
    set.error(
      name,
      'handshake.respond',
      description,
      { ...g.respondInput, message1: typeof message1 === 'string' ? message1 : hex(message1), ...extra },
      code,
    );
  respondBad(
    'respond-untrusted',
    'Bob does not trust Alice (accept lists only Carol)',
    m1,
    'PROTO_ERR_HANDSHAKE_IDENTITY',
    { accept: [hex(carol.publicKey)] },
  );
  respondBad(
    'respond-ephemeral-bit',
    'one bit of the clear ephemeral key flipped',
    flip(m1, 5),
    'PROTO_ERR_DECRYPT_FAILED',
  );
  respondBad(
    'respond-kem-key-bit',
    'one bit of the encrypted ML-KEM key flipped',
    flip(m1, 100),
    'PROTO_ERR_DECRYPT_FAILED',
  );
  respondBad(
    'respond-static-bit',
    'one bit of the encrypted static key flipped',
    flip(m1, 2 + 32 + 1200 + 3),
    'PROTO_ERR_DECRYPT_FAILED',
  );
  respondBad('respond-payload-tag-bit', 'one bit of the last tag flipped', flip(m1, -1), 'PROTO_ERR_DECRYPT_FAILED');
  respondBad(
    'respond-ephemeral-low-order',
    'ephemeral key replaced by 0 (low-order point)',
    patch(m1, 2, fill(32, 0)),
    'PROTO_ERR_WEAK_KEY',
  );
  respondBad(
    'respond-other-responder',
    "Carol reads Alice's message 1 for Bob (the prologue and es name Bob)",
    m1,
    'PROTO_ERR_DECRYPT_FAILED',
    { responderSeed: hex(SEEDS.carol) },
  );
  respondBad(
    'respond-truncated',
    'message 1 without its last byte (exactly 1,330 bytes)',
    m1.subarray(0, m1.length - 1),
    'PROTO_ERR_TRUNCATED',
  );
  respondBad('respond-trailing', 'message 1 with one byte appended', concat(m1, [0]), 'PROTO_ERR_TRAILING_BYTES');
  respondBad('respond-version-3', 'byte 0 set to 3', patch(m1, 0, [3]), 'PROTO_ERR_BAD_VERSION');
  respondBad('respond-type-2', 'a message 2 given where message 1 is expected', m2, 'PROTO_ERR_BAD_TYPE');
  respondBad(
    'respond-key-mismatch',
    "message 1 made with Alice's static key but naming Carol's Ed25519 key in its payload",
    mismatchedMessage1(),
    'PROTO_ERR_HANDSHAKE_IDENTITY',
    { accept: [hex(alice.publicKey), hex(carol.publicKey)] },
  );
  respondBad(
    'respond-key-not-a-point',
    "message 1 whose payload (the initiator's Ed25519 key) is no Ed25519 point",
    mismatchedMessage1(notAPoint()),
    'PROTO_ERR_BAD_KEY',
  );
  const completeBad = (name: string, description: string, message2: Uint8Array, code: string) =>
    set.error(name, 'handshake.initiate', description, { ...initiate, message2: hex(message2) }, code);
  completeBad(
    'complete-ephemeral-bit',
    'one bit of the responder ephemeral flipped',
    flip(m2, 5),
    'PROTO_ERR_DECRYPT_FAILED',
  );
  completeBad(
    'complete-ciphertext-bit',
    'one bit of the encrypted ML-KEM ciphertext flipped',
    flip(m2, 500),
    'PROTO_ERR_DECRYPT_FAILED',
  );
  completeBad('complete-tag-bit', 'one bit of the payload tag flipped', flip(m2, -1), 'PROTO_ERR_DECRYPT_FAILED');
  completeBad(
    'complete-truncated',
    'message 2 cut to 1,153 bytes (the smallest is 1,154)',
    m2.subarray(0, 1153),
    'PROTO_ERR_TRUNCATED',
  );
  completeBad('complete-type-1', 'a message 1 given where message 2 is expected', m1, 'PROTO_ERR_BAD_TYPE');
  completeBad('complete-version-1', 'byte 0 set to 1', patch(m2, 0, [1]), 'PROTO_ERR_BAD_VERSION');
  const other = checkOk('handshake.respond', {
    ...g.respondInput,
    random: { ephemeral: hex(fill(32, 0x42)), kemRandom: hex(fill(32, 0x43)) },
  });
  set.ok(
    'complete-other-answer',
    'handshake.initiate',
    'another valid message 2 to the same message 1 (other responder randomness) also completes, with other keys',
    { ...initiate, message2: other.message2 },
  );
  return set;
}

/** Message 1 with Alice's static key whose payload names another key (only a buggy or hostile initiator makes one). */
function mismatchedMessage1(payload: Uint8Array = carol.publicKey): Uint8Array {
  const state = new HandshakeState({
    protocolName: SESSION_PROTOCOL_NAME,
    initiator: true,
    prologue: sessionPrologue(bob.publicKey),
    staticSecretKey: ed25519SecretToX25519(alice.secretKey),
    remoteStaticKey: ed25519PublicToX25519(bob.publicKey),
    random: scriptedRandom([R.initiatorEphemeral, R.initiatorKemSeed]),
    suite: nodeSuite,
  });
  return encodeHandshakePacket(1, state.writeMessage(payload));
}

export function transport(ids: Set<string>): VectorSet {
  const set = new VectorSet('transport', ids);
  const { i2r, r2i } = goldenHandshake();
  const key = hexIn({ i2r }, 'i2r');
  const at = (epoch: number, counter: number, text = `e${epoch} c${counter}`) =>
    sealTransportAt(key, epoch, counter, utf8(text));
  const seal = (name: string, description: string, epoch: number, counter: number, plaintext: Uint8Array) =>
    set.ok(name, 'transport.seal', description, { sendKey: i2r, epoch, counter, plaintext: hex(plaintext) });
  seal(
    'seal-first',
    'the first packet Alice seals in the golden session (epoch 0, counter 0): golden-session.json transport[0]',
    0,
    0,
    utf8('hello bob'),
  );
  seal('seal-empty', 'an empty plaintext (30-byte packet)', 0, 1, new Uint8Array(0));
  seal('seal-epoch-1', 'epoch 1 counter 0: the key after one rekey step', 1, 0, utf8('first packet of epoch 1'));
  seal('seal-epoch-3', 'epoch 3 counter 7', 3, 7, utf8('e3 c7'));
  seal('seal-counter-2^32-1', 'the last counter of an epoch (2^32 − 1)', 0, 2 ** 32 - 1, utf8('last'));
  const open = (packet: Uint8Array, before: Uint8Array[] = [], extra: Record<string, unknown> = {}) => ({
    receiveKey: i2r,
    before: before.map(hex),
    packet: hex(packet),
    ...extra,
  });
  set.ok('open-first', 'transport.open', 'Bob opens epoch 0 counter 0', open(at(0, 0)));
  set.ok(
    'open-out-of-order',
    'transport.open',
    'counter 1 after counter 2 (reordering across paths is fine)',
    open(at(0, 1), [at(0, 0), at(0, 2)]),
  );
  set.ok(
    'open-next-epoch',
    'transport.open',
    "Alice rekeyed: epoch 1 counter 0 after epoch 0's packets; Bob follows",
    open(at(1, 0), [at(0, 0), at(0, 1)]),
  );
  set.ok(
    'open-previous-epoch-in-grace',
    'transport.open',
    'a late epoch-0 packet after epoch 1 opened (the previous epoch stays open for the grace)',
    open(at(0, 5), [at(0, 0), at(1, 0)]),
  );
  set.ok(
    'open-skip-8-epochs',
    'transport.open',
    'epoch 8 straight from epoch 0 (SESSION_MAX_EPOCH_SKIP = 8)',
    open(at(8, 0)),
  );
  set.ok(
    'open-window-edge',
    'transport.open',
    'counter 953 after counter 3000 (inside the 2,048-counter window)',
    open(at(0, 953), [at(0, 3000)]),
  );
  const bad = (
    name: string,
    description: string,
    packet: Uint8Array,
    before: Uint8Array[],
    code: string,
    extra: Record<string, unknown> = {},
  ) => set.error(name, 'transport.open', description, open(packet, before, extra), code);
  bad('replay', 'the same packet twice', at(0, 0), [at(0, 0)], 'PROTO_ERR_SESSION_REPLAY');
  bad(
    'replay-out-of-order',
    'counter 1 again after counters 2 and 1',
    at(0, 1),
    [at(0, 2), at(0, 1)],
    'PROTO_ERR_SESSION_REPLAY',
  );
  bad(
    'too-old',
    'counter 952 after counter 3000 (2,048 or more below the highest)',
    at(0, 952),
    [at(0, 3000)],
    'PROTO_ERR_SESSION_TOO_OLD',
  );
  bad(
    'epoch-too-far',
    'epoch 9 straight from epoch 0 (more than 8 ahead)',
    at(9, 0),
    [],
    'PROTO_ERR_SESSION_UNKNOWN_EPOCH',
  );
  bad(
    'epoch-erased',
    'epoch 0 after epochs 1 and 2 opened (only the previous epoch is kept)',
    at(0, 3),
    [at(0, 0), at(1, 0), at(2, 0)],
    'PROTO_ERR_SESSION_UNKNOWN_EPOCH',
  );
  bad(
    'counter-2^32',
    'counter 2^32 (SESSION_REJECT_AFTER_MESSAGES): refused before any decryption',
    at(0, 2 ** 32),
    [],
    'PROTO_ERR_SESSION_EXHAUSTED',
  );
  bad('tag-bit', 'one bit of the tag flipped', flip(at(0, 0), -1), [], 'PROTO_ERR_DECRYPT_FAILED');
  bad(
    'counter-bit',
    'one bit of the counter flipped (the header is the associated data)',
    flip(at(0, 0), 13),
    [],
    'PROTO_ERR_DECRYPT_FAILED',
  );
  bad(
    'other-direction',
    "Bob's own direction key: a packet reflected back at its sender",
    at(0, 0),
    [],
    'PROTO_ERR_DECRYPT_FAILED',
    { receiveKey: r2i },
  );
  bad(
    'forged-next-epoch',
    'a tampered epoch-1 packet does not move the receiver to epoch 1',
    flip(at(1, 0), -1),
    [at(0, 0)],
    'PROTO_ERR_DECRYPT_FAILED',
  );
  bad(
    'truncated',
    'a 29-byte packet (header 14 + tag 16 is the minimum)',
    at(0, 0).subarray(0, 29),
    [],
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'too-large',
    `${MAX_TRANSPORT_PACKET_BYTES + 1} bytes (MAX_TRANSPORT_PACKET_BYTES ${MAX_TRANSPORT_PACKET_BYTES})`,
    concat(at(0, 0).subarray(0, 14), fill(MAX_TRANSPORT_PACKET_BYTES + 1 - 14, 0)),
    [],
    'PROTO_ERR_TOO_LARGE',
  );
  bad('version-1', 'byte 0 set to 1', patch(at(0, 0), 0, [1]), [], 'PROTO_ERR_BAD_VERSION');
  bad(
    'type-handshake',
    'byte 1 set to 2 (a handshake response type)',
    patch(at(0, 0), 1, [2]),
    [],
    'PROTO_ERR_BAD_TYPE',
  );
  return set;
}

// ---------------------------------------------------------------------------------------------
// prekey.json
// ---------------------------------------------------------------------------------------------

const G = GOLDEN_PREKEY;

export function goldenBundleInput(): Record<string, unknown> {
  return {
    seed: hex(SEEDS.bob),
    bundleId: G.bundleId,
    createdAt: G.createdAt,
    lifetimeMs: G.lifetimeMs,
    random: { x25519Secret: hex(G.bundleRandom.x25519Prekey), kemSeed: hex(G.bundleRandom.kemSeed) },
  };
}

export function goldenBundle(): string {
  return checkOk('prekey.bundle', goldenBundleInput()).bundle as string;
}

export function heldGolden(): Record<string, unknown>[] {
  return [
    { bundle: goldenBundle(), x25519Secret: hex(G.bundleRandom.x25519Prekey), kemSeed: hex(G.bundleRandom.kemSeed) },
  ];
}

/** One pinned message: the golden-prekey.json ones first, then more in the same pattern. */
function prekeyDraws(sequence: number, messageId?: Uint8Array) {
  const golden = G.messages.find((m) => m.sequence === sequence);
  if (golden && messageId === undefined)
    return { messageId: golden.messageId, ephemeral: golden.ephemeral, kemRandom: golden.kemRandom };
  return {
    messageId: messageId ?? fill(16, 0x11 + (sequence % 200)),
    ephemeral: ramp(32, sequence),
    kemRandom: fill(32, 0x3c + (sequence % 100)),
  };
}

export function prekeySealInput(
  sequence: number,
  plaintext: Uint8Array,
  messageId?: Uint8Array,
): Record<string, unknown> {
  const d = prekeyDraws(sequence, messageId);
  return {
    senderSeed: hex(SEEDS.alice),
    recipient: hex(bob.publicKey),
    bundle: goldenBundle(),
    now: G.sealedAt,
    sequence,
    messageId: hex(d.messageId),
    random: { ephemeral: hex(d.ephemeral), kemRandom: hex(d.kemRandom) },
    plaintext: hex(plaintext),
  };
}

export function prekeyPacket(sequence: number, plaintext: Uint8Array, messageId?: Uint8Array): Uint8Array {
  return hexIn(checkOk('prekey.seal', prekeySealInput(sequence, plaintext, messageId)), 'packet');
}

export function prekey(ids: Set<string>): VectorSet {
  const set = new VectorSet('prekey', ids);
  set.ok(
    'bundle-golden',
    'prekey.bundle',
    "Bob's golden bundle (golden-prekey.json): id 7, created 2026-01-01, 7 days, pinned X25519 secret and ML-KEM seed",
    goldenBundleInput(),
  );
  const bundle = hexIn({ b: goldenBundle() }, 'b');
  const verify = { bundle: hex(bundle), now: G.sealedAt, expectedIdentity: hex(bob.publicKey) };
  set.ok('verify-golden', 'prekey.verify', 'Alice checks the bundle she fetched for Bob', verify);
  set.ok('verify-created-skew-edge', 'prekey.verify', 'created exactly 5 min ahead of the checker clock: still valid', {
    ...verify,
    now: G.createdAt - 300_000,
  });
  const vbad = (name: string, description: string, b: Uint8Array, code: string, extra: Record<string, unknown> = {}) =>
    set.error(name, 'prekey.verify', description, { ...verify, bundle: hex(b), ...extra }, code);
  vbad('verify-expired', 'checked at its expiry time', bundle, 'PROTO_ERR_PREKEY_EXPIRED', {
    now: G.createdAt + G.lifetimeMs,
  });
  vbad('verify-created-future', 'created more than 5 min after the checker clock', bundle, 'PROTO_ERR_PREKEY_EXPIRED', {
    now: G.createdAt - 300_001,
  });
  vbad(
    'verify-lifetime-over-max',
    'signed by Bob with a lifetime of 30 days + 1 ms (PREKEY_BUNDLE_MAX_LIFETIME_MS)',
    overLongBundle(bundle),
    'PROTO_ERR_PREKEY_EXPIRED',
  );
  vbad('verify-signature-bit', 'one bit of the signature flipped', flip(bundle, -1), 'PROTO_ERR_BAD_SIGNATURE');
  vbad('verify-prekey-bit', 'one bit of the X25519 prekey flipped', flip(bundle, 60), 'PROTO_ERR_BAD_SIGNATURE');
  vbad('verify-kem-bit', 'one bit of the ML-KEM key flipped', flip(bundle, 500), 'PROTO_ERR_BAD_SIGNATURE');
  vbad(
    'verify-expiry-extended',
    'expiry moved a day later',
    patch(bundle, 45, u64(G.createdAt + G.lifetimeMs + 86_400_000)),
    'PROTO_ERR_BAD_SIGNATURE',
  );
  vbad('verify-other-owner', "a valid bundle of Bob checked as Carol's", bundle, 'PROTO_ERR_WRONG_RECIPIENT', {
    expectedIdentity: hex(carol.publicKey),
  });
  vbad('verify-truncated', '1,332 bytes', bundle.subarray(0, PREKEY_BUNDLE_BYTES - 1), 'PROTO_ERR_TRUNCATED');
  vbad('verify-too-long', '1,334 bytes', concat(bundle, [0]), 'PROTO_ERR_TOO_LARGE');
  vbad('verify-version-2', 'byte 0 (version) set to 2', patch(bundle, 0, [2]), 'PROTO_ERR_BAD_VERSION');
  vbad(
    'verify-time-2^53',
    'created at 2^53 ms',
    patch(bundle, 37, [0, 0x20, 0, 0, 0, 0, 0, 0]),
    'PROTO_ERR_BAD_ENCODING',
  );

  set.error(
    'seal-kem-key-unreduced',
    'prekey.seal',
    'Alice seals to a bundle Bob signed whose ML-KEM key has a coefficient ≥ q (FIPS 203 encapsulation key check)',
    { ...prekeySealInput(0, utf8('x')), bundle: hex(unreducedKemBundle(bundle)) },
    'PROTO_ERR_BAD_KEY',
  );
  set.error(
    'seal-expired-bundle',
    'prekey.seal',
    "Alice seals to Bob's bundle after it expired: the sender checks the bundle first",
    { ...prekeySealInput(0, utf8('x')), now: G.createdAt + G.lifetimeMs },
    'PROTO_ERR_PREKEY_EXPIRED',
  );
  const msgs = G.messages.map((m) => ({ seq: m.sequence, text: new TextDecoder().decode(m.plaintext) }));
  for (const m of msgs)
    set.ok(
      `seal-${m.seq}`,
      'prekey.seal',
      `Alice seals message ${m.seq} to Bob's golden bundle, one day after it was made (the golden-prekey.json inputs, as a PREKEY peer packet)`,
      prekeySealInput(m.seq, utf8(m.text)),
    );
  const p0 = prekeyPacket(0, utf8(msgs[0]!.text));
  const p1 = prekeyPacket(1, utf8(msgs[1]!.text));
  const open = (packet: Uint8Array, before: Uint8Array[] = [], extra: Record<string, unknown> = {}) => ({
    recipientSeed: hex(SEEDS.bob),
    prekeys: heldGolden(),
    packet: hex(packet),
    before: before.map(hex),
    ...extra,
  });
  set.ok('open-0', 'prekey.open', 'Bob opens message 0', open(p0));
  set.ok('open-1-after-0', 'prekey.open', 'Bob opens message 1 after message 0', open(p1, [p0]));
  set.ok(
    'open-0-after-1',
    'prekey.open',
    'message 0 after message 1 (mailbox order is not guaranteed)',
    open(p0, [p1]),
  );
  set.ok(
    'open-after-restart',
    'prekey.open',
    'message 1 after message 0, the replay state persisted and reloaded in between',
    open(p1, [p0], { restart: true }),
  );
  const p1100 = prekeyPacket(1100, utf8('far ahead'));
  set.ok(
    'open-window-edge',
    'prekey.open',
    'sequence 77 after 1100 (inside the 1,024 window)',
    open(prekeyPacket(77, utf8('x')), [p1100]),
  );
  const bad = (
    name: string,
    description: string,
    packet: Uint8Array,
    before: Uint8Array[],
    code: string,
    extra: Record<string, unknown> = {},
  ) => set.error(name, 'prekey.open', description, open(packet, before, extra), code);
  bad('replay', 'message 0 twice', p0, [p0], 'PROTO_ERR_PREKEY_REPLAY');
  bad(
    'replay-after-restart',
    'message 0 again after the receiver persisted and reloaded its replay state',
    p0,
    [p0, p1],
    'PROTO_ERR_PREKEY_REPLAY',
    { restart: true },
  );
  bad(
    'replay-new-ephemeral',
    'another message from Alice reusing sequence 0 (a resend must take a new sequence)',
    prekeyPacket(0, utf8('other'), fill(16, 0x99)),
    [p0],
    'PROTO_ERR_PREKEY_REPLAY',
  );
  bad(
    'below-window',
    'sequence 76 after 1100 (1,024 or more below the highest)',
    prekeyPacket(76, utf8('x')),
    [p1100],
    'PROTO_ERR_PREKEY_REPLAY',
  );
  bad(
    'bundle-erased',
    'Bob no longer holds the secrets of bundle 7 (rotated out and erased)',
    p0,
    [],
    'PROTO_ERR_PREKEY_UNKNOWN',
    { prekeys: [] },
  );
  bad('wrong-recipient', "Alice's message for Bob opened by Carol", p0, [], 'PROTO_ERR_WRONG_RECIPIENT', {
    recipientSeed: hex(SEEDS.carol),
  });
  bad('ciphertext-bit', 'one bit of the ciphertext flipped', flip(p0, -20), [], 'PROTO_ERR_DECRYPT_FAILED');
  bad('tag-bit', 'one bit of the tag flipped', flip(p0, -1), [], 'PROTO_ERR_DECRYPT_FAILED');
  bad(
    'message-id-bit',
    'one bit of the message id flipped (the header is the associated data)',
    flip(p0, 2 + 1197),
    [],
    'PROTO_ERR_DECRYPT_FAILED',
  );
  bad(
    'kem-ciphertext-bit',
    'one bit of the ML-KEM ciphertext flipped (implicit rejection: another key)',
    flip(p0, 2 + 200),
    [],
    'PROTO_ERR_DECRYPT_FAILED',
  );
  bad(
    'sender-replaced',
    "sender replaced by Carol's key (DH1 authenticates the sender)",
    patch(p0, 3, carol.publicKey),
    [],
    'PROTO_ERR_DECRYPT_FAILED',
  );
  bad(
    'sender-not-a-point',
    'sender replaced by bytes that are no Ed25519 point',
    patch(p0, 3, notAPoint()),
    [],
    'PROTO_ERR_BAD_KEY',
  );
  bad(
    'ephemeral-low-order',
    'ephemeral key replaced by 0 (a low-order point)',
    patch(p0, 2 + 69, fill(32, 0)),
    [],
    'PROTO_ERR_WEAK_KEY',
  );
  bad(
    'inner-version-2',
    'prekey message version (byte 2 of the packet) set to 2',
    patch(p0, 2, [2]),
    [],
    'PROTO_ERR_BAD_VERSION',
  );
  bad('sequence-2^53', 'sequence 2^53', patch(p0, 2 + 1189, [0, 0x20, 0, 0, 0, 0, 0, 0]), [], 'PROTO_ERR_BAD_ENCODING');
  bad('truncated', 'a packet shorter than header and tag', p0.subarray(0, 1200), [], 'PROTO_ERR_TRUNCATED');
  bad('not-prekey', 'a TRANSPORT-typed packet given as a prekey packet', patch(p0, 1, [3]), [], 'PROTO_ERR_BAD_TYPE');
  return set;
}

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** 32 bytes that decode to no Ed25519 point (y = 2, not on the curve). */
function notAPoint(): Uint8Array {
  return patch(fill(32, 0), 0, [2]);
}

/** The golden bundle with ML-KEM coefficient 0 set to 4,095 (≥ q = 3,329), re-signed by Bob. */
function unreducedKemBundle(bundle: Uint8Array): Uint8Array {
  const b = decodePrekeyBundle(bundle);
  const unsigned = { ...b, kemPublicKey: patch(b.kemPublicKey, 0, [0xff, 0x0f | (b.kemPublicKey[1]! & 0xf0)]) };
  const signature = nodeSuite.sign(bob.secretKey, prekeyBundleSignedBytes(unsigned));
  return encodePrekeyBundle({ ...unsigned, signature });
}

/** The golden bundle re-signed by Bob with expiry = created + 30 days + 1 ms. */
function overLongBundle(bundle: Uint8Array): Uint8Array {
  const b = decodePrekeyBundle(bundle);
  const unsigned = { ...b, expiresAt: b.createdAt + PREKEY_BUNDLE_MAX_LIFETIME_MS + 1 };
  const signature = nodeSuite.sign(bob.secretKey, prekeyBundleSignedBytes(unsigned));
  return encodePrekeyBundle({ ...unsigned, signature });
}

// ---------------------------------------------------------------------------------------------
// peer-packets.json
// ---------------------------------------------------------------------------------------------

export function peerPackets(ids: Set<string>): VectorSet {
  const set = new VectorSet('packet', ids);
  const env = sealed(envelopeInputs().find((e) => e.name === 'consent-request')!.seal);
  const g = goldenHandshake();
  const m1 = hexIn(g, 'message1');
  const m2 = hexIn(g, 'message2');
  const t = sealTransportAt(hexIn(g, 'i2r'), 0, 0, utf8('hello bob'));
  const p = prekeyPacket(0, utf8('hello bob, you were offline'));
  const ok = (name: string, description: string, packet: Uint8Array) =>
    set.ok(name, 'packet.classify', description, { packet: hex(packet) });
  ok('envelope', 'an envelope v1 (storable: the server may mailbox it; sender, recipient, message id visible)', env);
  ok('handshake-init', 'HANDSHAKE_INIT (live only: PEER_OFFLINE to an offline peer)', m1);
  ok('handshake-response', 'HANDSHAKE_RESPONSE with an 18-byte payload', m2);
  ok('transport', 'TRANSPORT', t);
  ok('prekey', 'PREKEY (storable; sender, recipient and message id at fixed offsets)', p);
  const bad = (name: string, description: string, packet: Uint8Array | number[], code: string) =>
    set.error(name, 'packet.classify', description, { packet: hex(Uint8Array.from(packet)) }, code);
  bad('empty', 'no bytes', [], 'PROTO_ERR_TRUNCATED');
  bad('version-0', 'byte 0 = 0', patch(env, 0, [0]), 'PROTO_ERR_BAD_VERSION');
  bad(
    'version-3',
    'byte 0 = 3: a future version (servers answer RDV_ERR_UNSUPPORTED_PEER_PACKET)',
    concat([3, 1], fill(100, 0)),
    'PROTO_ERR_BAD_VERSION',
  );
  bad('v2-no-type', 'byte 0 = 2 and nothing else', [2], 'PROTO_ERR_TRUNCATED');
  bad('v2-type-0', 'v2 type 0', concat([2, 0], fill(100, 0)), 'PROTO_ERR_BAD_TYPE');
  bad('v2-type-5', 'v2 type 5 (1–4 are defined)', concat([2, 5], fill(100, 0)), 'PROTO_ERR_BAD_TYPE');
  bad('envelope-bad-type', 'an envelope of type 9', patch(env, 1, [9]), 'PROTO_ERR_BAD_TYPE');
  bad(
    'envelope-truncated',
    'an envelope without its last byte',
    env.subarray(0, env.length - 1),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'handshake-init-short',
    'HANDSHAKE_INIT of 1,329 bytes (exactly 1,330)',
    m1.subarray(0, 1329),
    'PROTO_ERR_TRUNCATED',
  );
  bad('handshake-init-long', 'HANDSHAKE_INIT of 1,331 bytes', concat(m1, [0]), 'PROTO_ERR_TOO_LARGE');
  bad(
    'handshake-response-short',
    'HANDSHAKE_RESPONSE of 1,153 bytes (at least 1,154)',
    m2.subarray(0, 1153),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'handshake-response-long',
    'HANDSHAKE_RESPONSE with a 1,025-byte payload (at most 1,024)',
    concat(m2.subarray(0, 1154), fill(1025, 0)),
    'PROTO_ERR_TOO_LARGE',
  );
  bad('transport-short', 'TRANSPORT of 29 bytes', t.subarray(0, 29), 'PROTO_ERR_TRUNCATED');
  bad(
    'transport-long',
    `TRANSPORT of ${MAX_TRANSPORT_PACKET_BYTES + 1} bytes`,
    concat(t.subarray(0, 14), fill(MAX_TRANSPORT_PACKET_BYTES + 1 - 14, 0)),
    'PROTO_ERR_TOO_LARGE',
  );
  bad('prekey-short', 'PREKEY shorter than a header and a tag', p.subarray(0, 1200), 'PROTO_ERR_TRUNCATED');
  bad('prekey-inner-version', 'PREKEY whose prekey message version is 2', patch(p, 2, [2]), 'PROTO_ERR_BAD_VERSION');
  bad(
    'prekey-sequence-2^53',
    'PREKEY whose sequence is 2^53',
    patch(p, 2 + 1189, [0, 0x20, 0, 0, 0, 0, 0, 0]),
    'PROTO_ERR_BAD_ENCODING',
  );
  return set;
}

// ---------------------------------------------------------------------------------------------
// transcripts/handshake-rekey.json
// ---------------------------------------------------------------------------------------------

interface Step {
  step: number;
  from: string;
  to: string;
  [k: string]: unknown;
}

export function handshakeRekeyTranscript(ids: Set<string>): string {
  const set = new VectorSet('transcript/handshake-rekey', ids);
  const g = goldenHandshake();
  const steps: Step[] = [];
  const add = (from: string, to: string, v: ReturnType<VectorSet['ok']>) => {
    steps.push({ step: steps.length + 1, from, to, ...v });
  };
  const initiate = {
    initiatorSeed: hex(SEEDS.alice),
    responder: hex(bob.publicKey),
    random: { ephemeral: hex(R.initiatorEphemeral), kemSeed: hex(R.initiatorKemSeed) },
  };
  add(
    'alice',
    'bob',
    set.ok(
      '1-message1',
      'handshake.respond',
      'Alice → Bob HANDSHAKE_INIT (message1 is what Alice sends); Bob trusts Alice and answers',
      g.respondInput,
    ),
  );
  add(
    'bob',
    'alice',
    set.ok(
      '2-message2',
      'handshake.initiate',
      'Bob → Alice HANDSHAKE_RESPONSE; Alice completes: both hold the same keys',
      { ...initiate, message2: g.message2 },
    ),
  );
  const i2r = hexIn(g, 'i2r');
  const r2i = hexIn(g, 'r2i');
  // Alice rekeys every 2 packets (golden-session.json: rekeyAfterMessages 2), Bob after 1.
  const a = [
    sealTransportAt(i2r, 0, 0, utf8('a0')),
    sealTransportAt(i2r, 0, 1, utf8('a1')),
    sealTransportAt(i2r, 1, 0, utf8('a2 after rekey')),
    sealTransportAt(i2r, 1, 1, utf8('a3')),
  ];
  const b = [sealTransportAt(r2i, 0, 0, utf8('b0')), sealTransportAt(r2i, 1, 0, utf8('b1 after rekey'))];
  const toBob = (name: string, description: string, packet: Uint8Array, before: Uint8Array[]) =>
    add(
      'alice',
      'bob',
      set.ok(name, 'transport.open', description, {
        receiveKey: hex(i2r),
        before: before.map(hex),
        packet: hex(packet),
      }),
    );
  const toAlice = (name: string, description: string, packet: Uint8Array, before: Uint8Array[]) =>
    add(
      'bob',
      'alice',
      set.ok(name, 'transport.open', description, {
        receiveKey: hex(r2i),
        before: before.map(hex),
        packet: hex(packet),
      }),
    );
  toBob('3-a0', 'Alice → Bob epoch 0 counter 0', a[0]!, []);
  toAlice('4-b0', 'Bob → Alice epoch 0 counter 0', b[0]!, []);
  toBob('5-a1', 'Alice → Bob epoch 0 counter 1', a[1]!, [a[0]!]);
  toBob('6-a2-rekey', 'Alice rekeyed: epoch 1 counter 0; Bob derives epoch 1 and moves on', a[2]!, [a[0]!, a[1]!]);
  toAlice('7-b1-rekey', 'Bob rekeyed on his side: epoch 1 counter 0', b[1]!, [b[0]!]);
  toBob('8-a3', 'Alice → Bob epoch 1 counter 1', a[3]!, [a[0]!, a[1]!, a[2]!]);
  const late = sealTransportAt(i2r, 0, 2, utf8('late epoch 0'));
  toBob(
    '9-late-previous-epoch',
    'a late epoch-0 packet (counter 2) still opens during the grace after the rekey',
    late,
    [a[0]!, a[1]!, a[2]!, a[3]!],
  );
  add(
    'alice',
    'bob',
    set.error(
      '10-replay',
      'transport.open',
      'the relay replays step 6 (epoch 1 counter 0): refused',
      { receiveKey: hex(i2r), before: [a[0]!, a[1]!, a[2]!, a[3]!].map(hex), packet: hex(a[2]!) },
      'PROTO_ERR_SESSION_REPLAY',
    ),
  );
  add(
    'alice',
    'bob',
    set.error(
      '11-tampered',
      'transport.open',
      'step 8 with one tag bit flipped: refused, state unchanged',
      { receiveKey: hex(i2r), before: [a[0]!, a[1]!, a[2]!].map(hex), packet: hex(flip(a[3]!, -1)) },
      'PROTO_ERR_DECRYPT_FAILED',
    ),
  );
  return serialize({
    source: SOURCE('transcript "handshake → transport both ways → rekey"'),
    version: 1,
    name: 'handshake-rekey',
    description:
      'Alice opens a v2 session to Bob (the golden handshake), both send, each side moves its sending direction to epoch 1, a late epoch-0 packet still opens, a replay and a tampered packet are refused.',
    parties: partiesJson(),
    steps,
  });
}

// ---------------------------------------------------------------------------------------------
