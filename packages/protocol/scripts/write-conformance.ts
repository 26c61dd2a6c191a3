/**
 * Writes the protocol-layer conformance vectors under test/vectors/conformance/ (README.md there,
 * "Conformance kit"): frames, hello, envelopes, peer packets, handshake, transport, prekeys and
 * the handshake → rekey transcript. Fixed seeds, nonces, ephemerals and clocks; each vector is
 * proven against our code before it is written (VectorSet). Run after a deliberate wire change:
 *   node --conditions=source --import tsx packages/protocol/scripts/write-conformance.ts
 * test/conformance-vectors.test.ts checks that the files are what this produces.
 */

import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../src/crypto/convert.js';
import { nodeSuite } from '../src/crypto/node.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  decodePrekeyBundle,
  encodeFrame,
  encodeKey,
  encodePrekeyBundle,
  type Frame,
  FrameType,
  HandshakeState,
  lengthPrefixed,
  MAX_ENVELOPE_BYTES,
  MAX_TRANSPORT_PACKET_BYTES,
  PREKEY_BUNDLE_BYTES,
  PREKEY_BUNDLE_MAX_LIFETIME_MS,
  prekeyBundleSignedBytes,
  SESSION_PROTOCOL_NAME,
  sealEnvelope,
  sessionPrologue,
  utf8,
} from '../src/index.js';
import { scriptedRandom } from '../src/session/random.js';
import { encodeHandshakePacket } from '../src/session/session-packet.js';
import { GOLDEN_ENVELOPE_INPUTS, GOLDEN_FRAMES } from '../test/golden-inputs.js';
import { GOLDEN_PREKEY } from '../test/session/golden-prekey-build.js';
import { GOLDEN_RESPONDER_PAYLOAD, GOLDEN_SESSION_RANDOM } from '../test/session/golden-session-inputs.js';
import { checkVector, envelopeSignedBytes, frameToJson, hexIn, sealTransportAt } from './write-conformance-check.js';
import {
  alice,
  bob,
  carol,
  concat,
  fill,
  flip,
  hex,
  isMain,
  partiesJson,
  patch,
  ramp,
  SEEDS,
  serialize,
  T0,
  VectorSet,
  vectorFile,
  writeFiles,
} from './write-conformance-common.js';

const SOURCE = (what: string) =>
  `p2p-comm conformance vectors: ${what}. Written by packages/protocol/scripts/write-conformance.ts from fixed inputs; schema in test/vectors/README.md ("Conformance kit"). Hex throughout, times in ms since the Unix epoch.`;

const DIRECTION: Record<string, string> = {
  CHALLENGE: 'S→C',
  HELLO: 'C→S',
  WELCOME: 'S→C',
  SIGNAL: 'C→S',
  RELAY: 'C→S',
  RELAY_TTL: 'C→S',
  DELIVER: 'S→C',
  ACK: 'S→C',
  PEER_OFFLINE: 'S→C',
  PREKEY_PUBLISH: 'C→S',
  PREKEY_FETCH: 'C→S',
  PREKEY_BUNDLE: 'S→C',
  ERROR: 'S→C',
  PING: 'both',
  PONG: 'both',
  RESTARTING: 'S→C',
};

// ---------------------------------------------------------------------------------------------
// shared fixtures
// ---------------------------------------------------------------------------------------------

const GOLDEN_ORIGIN = 'rdv.example.org:443';
const GOLDEN_CHALLENGE = fill(32, 0xab);

function hello(seed: Uint8Array, challenge: Uint8Array, origin: string, timestamp: number, token = ''): Uint8Array {
  const id = seed === SEEDS.alice ? alice : seed === SEEDS.bob ? bob : carol;
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(timestamp));
  const signature = nodeSuite.sign(
    id.secretKey,
    lengthPrefixed(utf8('p2p-comm/v1/server-auth'), challenge, utf8(origin), ts),
  );
  return encodeFrame({ type: FrameType.HELLO, key: id.publicKey, timestamp, signature, token });
}

/** u16 BE length ‖ JSON header ‖ body: the client payload layer, written out (the envelope treats it as opaque). */
export function clientPayload(header: Record<string, unknown>, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = utf8(JSON.stringify(header));
  return concat([h.length >> 8, h.length & 0xff], h, body);
}

interface SealInput {
  senderSeed: Uint8Array;
  recipient: Uint8Array;
  type: number;
  timestamp: number;
  messageId: Uint8Array;
  nonce: Uint8Array;
  ephemeralSecret: Uint8Array;
  plaintext: Uint8Array;
}

function sealInputJson(s: SealInput): Record<string, unknown> {
  return {
    senderSeed: hex(s.senderSeed),
    recipient: hex(s.recipient),
    type: s.type,
    timestamp: s.timestamp,
    messageId: hex(s.messageId),
    nonce: hex(s.nonce),
    ephemeralSecret: hex(s.ephemeralSecret),
    plaintext: hex(s.plaintext),
  };
}

/** Re-sign an envelope after tampering: the sender made it so (a forger could not). */
function resign(envelope: Uint8Array, seed: Uint8Array): Uint8Array {
  const id = seed === SEEDS.alice ? alice : seed === SEEDS.bob ? bob : carol;
  const sig = nodeSuite.sign(id.secretKey, envelopeSignedBytes(envelope));
  return patch(envelope, envelope.length - 64, sig);
}

// ---------------------------------------------------------------------------------------------
// frames.json
// ---------------------------------------------------------------------------------------------

function frames(ids: Set<string>): VectorSet {
  const set = new VectorSet('frame', ids);
  const decode = (name: string, description: string, frame: Frame) => {
    const bytes = encodeFrame(frame);
    const json = frameToJson(frame);
    set.ok(
      name,
      'frame.decode',
      description,
      { frame: hex(bytes), direction: DIRECTION[json.type as string] },
      { frame: json },
    );
    return bytes;
  };
  for (const g of GOLDEN_FRAMES) decode(g.name, `golden frame "${g.name}" (test/vectors/golden-frames.json)`, g.frame);
  decode('hello', 'golden frame "hello": Alice answers the golden challenge (inputs in hello.json)', {
    type: FrameType.HELLO,
    ...decodeHello(hello(SEEDS.alice, GOLDEN_CHALLENGE, GOLDEN_ORIGIN, T0)),
  });
  decode('hello-with-token', 'HELLO with an invite token (servers with ADMISSION=token)', {
    type: FrameType.HELLO,
    ...decodeHello(hello(SEEDS.alice, GOLDEN_CHALLENGE, GOLDEN_ORIGIN, T0, 'inv_0123456789abcdef')),
  });
  const welcome = JSON.stringify({
    instanceId: 'rdv-1',
    key: encodeKey(alice.publicKey),
    heartbeatMs: 30_000,
    maxFrameBytes: 65_536,
    iceServers: [
      { urls: ['stun:rdv.example.org:3478'] },
      {
        urls: ['turn:turn.example.org:3478'],
        username: `1764086400:${encodeKey(alice.publicKey)}`,
        credential: 'c2VjcmV0LWhtYWMtc2hhMQ==',
      },
    ],
    sendQueueMaxBytes: 1_048_576,
    mailboxTtlMs: 604_800_000,
    stun: { host: 'rdv.example.org', port: 3478, altPort: 3479 },
  });
  decode(
    'welcome-all-fields',
    'WELCOME with every field a server sends: instanceId, key (the authenticated key, base64url), heartbeatMs, maxFrameBytes, iceServers (STUN, and TURN with time-limited credentials), sendQueueMaxBytes, mailboxTtlMs, stun {host?, port, altPort}. Clients ignore fields they do not know.',
    { type: FrameType.WELCOME, info: welcome },
  );
  decode('deliver-signal', 'DELIVER on channel 0 (from a SIGNAL: live only)', {
    type: FrameType.DELIVER,
    channel: 0,
    from: fill(32, 0x04),
    envelope: utf8('opaque'),
  });
  decode('error-with-frame-id', 'ERROR refusing frame 5 (the frame stays refused, the connection stays)', {
    type: FrameType.ERROR,
    frameId: 5,
    code: 'RDV_ERR_RECIPIENT_MISMATCH',
    message: 'to differs from the envelope recipient',
  });
  decode('ping-large-nonce', 'PING with a nonce near 2^53 (u64 fields stay below 2^53)', {
    type: FrameType.PING,
    nonce: 2 ** 53 - 1,
  });
  decode('relay-ttl-max', 'RELAY_TTL with ttlS = 2^32 − 1 (servers clamp it to their MAILBOX_TTL_S)', {
    type: FrameType.RELAY_TTL,
    frameId: 0xffff_ffff,
    ttlS: 0xffff_ffff,
    to: fill(32, 0x02),
    envelope: utf8('opaque'),
  });

  const bad = (
    name: string,
    description: string,
    bytes: Uint8Array | number[],
    code: string,
    extra: Record<string, unknown> = {},
  ) => set.error(name, 'frame.decode', description, { frame: hex(Uint8Array.from(bytes)), ...extra }, code);
  const challenge = encodeFrame(GOLDEN_FRAMES[0]!.frame);
  const goodHello = hello(SEEDS.alice, GOLDEN_CHALLENGE, GOLDEN_ORIGIN, T0);
  bad('empty', 'an empty binary message (no type byte)', [], 'PROTO_ERR_TRUNCATED');
  bad('unknown-type-0x00', 'type byte 0x00 is no frame', [0x00], 'PROTO_ERR_BAD_TYPE');
  bad(
    'unknown-type-0x7f',
    'type byte 0x7f is no frame (servers close 1008, RDV_ERR_UNKNOWN_FRAME)',
    [0x7f, 0, 0, 0, 1],
    'PROTO_ERR_BAD_TYPE',
  );
  bad(
    'challenge-version-2',
    'CHALLENGE with frame-protocol version 2',
    patch(challenge, 1, [2]),
    'PROTO_ERR_BAD_VERSION',
  );
  bad(
    'challenge-truncated',
    'CHALLENGE cut inside its challenge bytes',
    challenge.subarray(0, 20),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'challenge-origin-too-long',
    'CHALLENGE whose origin declares 513 bytes (MAX_ORIGIN_BYTES 512)',
    concat(challenge.subarray(0, 42), [0x02, 0x01]),
    'PROTO_ERR_TOO_LARGE',
  );
  bad(
    'challenge-origin-not-utf8',
    'CHALLENGE whose origin is not UTF-8',
    concat(challenge.subarray(0, 42), [0x00, 0x02, 0xc3, 0x28]),
    'PROTO_ERR_BAD_ENCODING',
  );
  bad('hello-truncated', 'HELLO cut inside its signature', goodHello.subarray(0, 80), 'PROTO_ERR_TRUNCATED');
  bad('hello-trailing', 'HELLO with one byte after its token', concat(goodHello, [0]), 'PROTO_ERR_TRAILING_BYTES');
  bad(
    'hello-token-too-long',
    'HELLO whose token declares 1,025 bytes (MAX_TOKEN_BYTES 1,024)',
    concat(goodHello.subarray(0, 105), [0x04, 0x01]),
    'PROTO_ERR_TOO_LARGE',
  );
  bad(
    'hello-timestamp-2^53',
    'HELLO whose u64 timestamp is 2^53 (u64 fields must stay below 2^53)',
    patch(goodHello, 33, [0x00, 0x20, 0, 0, 0, 0, 0, 0]),
    'PROTO_ERR_BAD_ENCODING',
  );
  bad('welcome-not-utf8', 'WELCOME whose info is not UTF-8', [0x03, 0x00, 0x01, 0xff], 'PROTO_ERR_BAD_ENCODING');
  bad(
    'welcome-too-long',
    'WELCOME whose info declares 16,385 bytes (MAX_WELCOME_BYTES 16,384)',
    [0x03, 0x40, 0x01],
    'PROTO_ERR_TOO_LARGE',
  );
  bad(
    'relay-short-header',
    'RELAY shorter than its 37-byte header (servers close 1007)',
    concat([0x11, 0, 0, 0, 1], fill(20, 2)),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'relay-ttl-short-header',
    'RELAY_TTL shorter than its 41-byte header',
    concat([0x17, 0, 0, 0, 1, 0, 0, 0, 60], fill(31, 2)),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'deliver-channel-2',
    'DELIVER on channel 2 (0 signal, 1 relay)',
    concat([0x12, 0x02], fill(32, 4), utf8('opaque')),
    'PROTO_ERR_BAD_ENCODING',
  );
  bad('ack-status-2', 'ACK with status 2 (0 delivered, 1 queued)', [0x13, 0, 0, 0, 7, 2], 'PROTO_ERR_BAD_ENCODING');
  bad('ack-trailing', 'ACK with a byte after its status', [0x13, 0, 0, 0, 7, 0, 0], 'PROTO_ERR_TRAILING_BYTES');
  bad(
    'peer-offline-truncated',
    'PEER_OFFLINE cut inside its key',
    concat([0x14, 0, 0, 0, 9], fill(31, 1)),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'prekey-publish-short-bundle',
    'PREKEY_PUBLISH whose bundle is 1,332 bytes (exactly 1,333)',
    concat([0x15, 0, 0, 0, 10], fill(PREKEY_BUNDLE_BYTES - 1, 5)),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'prekey-publish-long-bundle',
    'PREKEY_PUBLISH whose bundle is 1,334 bytes',
    concat([0x15, 0, 0, 0, 10], fill(PREKEY_BUNDLE_BYTES + 1, 5)),
    'PROTO_ERR_TRAILING_BYTES',
  );
  bad(
    'prekey-fetch-trailing',
    'PREKEY_FETCH with a byte after its key',
    concat([0x16, 0, 0, 0, 11], fill(33, 6)),
    'PROTO_ERR_TRAILING_BYTES',
  );
  bad(
    'prekey-bundle-partial',
    'PREKEY_BUNDLE with a 5-byte bundle (empty or exactly 1,333)',
    concat([0x24, 0, 0, 0, 11], fill(32, 6), fill(5, 5)),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'error-code-too-long',
    'ERROR whose code declares 65 bytes (MAX_ERROR_CODE_BYTES 64)',
    [0x20, 0, 0, 0, 0, 65],
    'PROTO_ERR_TOO_LARGE',
  );
  bad('ping-truncated', 'PING with a 7-byte nonce', [0x21, 0, 0, 0, 0, 0, 0, 42], 'PROTO_ERR_TRUNCATED');
  bad('pong-trailing', 'PONG with a 9-byte nonce', [0x22, 0, 0, 0, 0, 0, 0, 0, 42, 0], 'PROTO_ERR_TRAILING_BYTES');
  bad('restarting-truncated', 'RESTARTING with a 3-byte retryAfterMs', [0x23, 0, 7, 208], 'PROTO_ERR_TRUNCATED');
  bad(
    'relay-over-max-frame',
    `RELAY of ${DEFAULT_MAX_FRAME_BYTES + 1} bytes, one over the server's default MAX_FRAME_BYTES (a server closes 1009 before decoding)`,
    concat([0x11, 0, 0, 0, 1], fill(32, 2), fill(DEFAULT_MAX_FRAME_BYTES + 1 - 37, 0x61)),
    'PROTO_ERR_TOO_LARGE',
  );
  bad(
    'frame-over-given-limit',
    'a 38-byte SIGNAL decoded with maxBytes 37',
    concat([0x10, 0, 0, 0, 1], fill(32, 3), [0x61]),
    'PROTO_ERR_TOO_LARGE',
    { maxBytes: 37 },
  );
  return set;
}

function decodeHello(bytes: Uint8Array) {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  const tokenLength = v.getUint16(105);
  return {
    key: bytes.slice(1, 33),
    timestamp: Number(v.getBigUint64(33)),
    signature: bytes.slice(41, 105),
    token: new TextDecoder().decode(bytes.subarray(107, 107 + tokenLength)),
  };
}

// ---------------------------------------------------------------------------------------------
// hello.json
// ---------------------------------------------------------------------------------------------

function hellos(ids: Set<string>): VectorSet {
  const set = new VectorSet('hello', ids);
  const build = {
    seed: hex(SEEDS.alice),
    challenge: hex(GOLDEN_CHALLENGE),
    origin: GOLDEN_ORIGIN,
    timestamp: T0,
    token: '',
  };
  set.ok(
    'golden',
    'hello.build',
    'the inputs of the golden "hello" frame (golden-frames.json): Alice, challenge ab×32, origin "rdv.example.org:443", timestamp 1764000000000, no token',
    build,
  );
  set.ok(
    'with-token',
    'hello.build',
    'a hello carrying an invite token (the token is not signed: the server checks it separately)',
    {
      ...build,
      token: 'inv_0123456789abcdef',
    },
  );
  set.ok(
    'default-port-omitted',
    'hello.build',
    'a client that dialed wss://rdv.example.org (no port) signs the origin "rdv.example.org": the origin is host[:port] exactly as dialed',
    {
      ...build,
      origin: 'rdv.example.org',
    },
  );
  const frame = hex(hello(SEEDS.alice, GOLDEN_CHALLENGE, GOLDEN_ORIGIN, T0));
  const verify = { frame, challenge: hex(GOLDEN_CHALLENGE), origins: [GOLDEN_ORIGIN], now: T0 };
  set.ok(
    'verify-golden',
    'hello.verify',
    'the server that sent the golden challenge and answers to "rdv.example.org:443" accepts the golden hello',
    verify,
  );
  set.ok(
    'verify-second-origin',
    'hello.verify',
    'a server answering to several origins accepts a hello signed for any of them',
    {
      ...verify,
      origins: ['rdv.example.org', GOLDEN_ORIGIN],
    },
  );
  set.ok(
    'verify-skew-edge',
    'hello.verify',
    'timestamp exactly 5 min behind the server clock: still inside the window',
    { ...verify, now: T0 + 300_000 },
  );
  set.error(
    'verify-signature-bit',
    'hello.verify',
    'the golden hello with one bit of its signature flipped',
    {
      ...verify,
      frame: hex(flip(hello(SEEDS.alice, GOLDEN_CHALLENGE, GOLDEN_ORIGIN, T0), 50)),
    },
    'PROTO_ERR_BAD_SIGNATURE',
  );
  set.error(
    'verify-other-challenge',
    'hello.verify',
    'the golden hello replayed to a connection that was sent another challenge',
    {
      ...verify,
      challenge: hex(fill(32, 0xac)),
    },
    'PROTO_ERR_BAD_SIGNATURE',
  );
  set.error(
    'verify-other-origin',
    'hello.verify',
    'the golden hello replayed to a server that answers to another origin',
    {
      ...verify,
      origins: ['evil.example.org:443'],
    },
    'PROTO_ERR_BAD_SIGNATURE',
  );
  set.error(
    'verify-default-port-differs',
    'hello.verify',
    'a hello signed for "rdv.example.org" (no port) is not valid for the origin "rdv.example.org:443": origins compare as strings',
    {
      ...verify,
      frame: hex(hello(SEEDS.alice, GOLDEN_CHALLENGE, 'rdv.example.org', T0)),
    },
    'PROTO_ERR_BAD_SIGNATURE',
  );
  set.error(
    'verify-other-key',
    'hello.verify',
    "the golden hello with Carol's key in place of Alice's",
    {
      ...verify,
      frame: hex(patch(hello(SEEDS.alice, GOLDEN_CHALLENGE, GOLDEN_ORIGIN, T0), 1, carol.publicKey)),
    },
    'PROTO_ERR_BAD_SIGNATURE',
  );
  set.error(
    'verify-too-old',
    'hello.verify',
    'timestamp 5 min + 1 ms behind the server clock',
    { ...verify, now: T0 + 300_001 },
    'PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW',
  );
  set.error(
    'verify-too-new',
    'hello.verify',
    'timestamp 5 min + 1 ms ahead of the server clock',
    { ...verify, now: T0 - 300_001 },
    'PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW',
  );
  return set;
}

// ---------------------------------------------------------------------------------------------
// envelopes.json
// ---------------------------------------------------------------------------------------------

/** One envelope per type, with the client payload each type carries (type 4 and 8 are reserved: no client sends them). */
function envelopeInputs(): { name: string; description: string; seal: SealInput }[] {
  const base = { senderSeed: SEEDS.alice, recipient: bob.publicKey };
  const golden = GOLDEN_ENVELOPE_INPUTS.map((g) => ({
    name: `golden-${g.name}`,
    description: `the inputs of golden envelope "${g.name}" (golden-envelopes.json)`,
    seal: { ...base, ...g },
  }));
  const one = (i: number, name: string, type: number, plaintext: Uint8Array, description: string) => ({
    name,
    description,
    seal: {
      ...base,
      type,
      timestamp: T0 + 1000 * i,
      messageId: fill(16, 0x10 + i),
      nonce: fill(16, 0x20 + i),
      ephemeralSecret: fill(32, 0x30 + i),
      plaintext,
    },
  });
  return [
    ...golden,
    one(
      1,
      'consent-request',
      1,
      clientPayload({ v: 1, name: 'Alice' }),
      'type 1 CONSENT_REQUEST with its client payload {v:1,name}',
    ),
    one(
      2,
      'consent-response',
      2,
      clientPayload({ v: 1, accept: true, name: 'Bob' }),
      'type 2 CONSENT_RESPONSE (accept) with its client payload {v:1,accept,name}',
    ),
    one(
      3,
      'signal',
      3,
      utf8(JSON.stringify({ t: 'addrs', a: [{ h: '192.0.2.10', p: 7001 }] })),
      'type 3 SIGNAL: path negotiation JSON (here the direct-listener addresses)',
    ),
    one(
      4,
      'direct-handshake',
      4,
      new Uint8Array(0),
      'type 4 DIRECT_HANDSHAKE (reserved: the direct link authenticates with its own frames; an envelope of this type is still valid)',
    ),
    one(
      5,
      'data',
      5,
      clientPayload({ v: 1, id: '00112233445566778899aabbccddeeff', s: 'AbCdEfGh12', q: 0, enc: 'text' }, utf8('hi')),
      'type 5 DATA with a text body (v1 data, for peers without a session)',
    ),
    one(
      6,
      'ack',
      6,
      clientPayload({ v: 1, s: 'AbCdEfGh12', upTo: 0 }),
      'type 6 ACK: cumulative, stream AbCdEfGh12 up to sequence 0',
    ),
    one(7, 'revoke', 7, clientPayload({ v: 1 }), 'type 7 REVOKE'),
    one(
      8,
      'addresses',
      8,
      utf8('[]'),
      'type 8 ADDRESSES (reserved: addresses travel in SIGNAL envelopes; an envelope of this type is still valid)',
    ),
    one(
      9,
      'max-plaintext',
      5,
      fill(61_440, 0x61),
      'largest plaintext, 61,440 bytes (MAX_PLAINTEXT_BYTES): the largest envelope, 61,662 bytes',
    ),
  ];
}

function sealed(s: SealInput): Uint8Array {
  const id = s.senderSeed === SEEDS.alice ? alice : s.senderSeed === SEEDS.bob ? bob : carol;
  return sealEnvelopeFixed(id, s);
}

function sealEnvelopeFixed(id: typeof alice, s: SealInput): Uint8Array {
  return sealEnvelope(nodeSuite, {
    type: s.type as 1,
    sender: id,
    recipient: s.recipient,
    plaintext: s.plaintext,
    timestamp: s.timestamp,
    messageId: s.messageId,
    nonce: s.nonce,
    ephemeralSecret: s.ephemeralSecret,
  });
}

function envelopes(ids: Set<string>): VectorSet {
  const set = new VectorSet('envelope', ids);
  const inputs = envelopeInputs();
  for (const e of inputs) set.ok(`seal-${e.name}`, 'envelope.seal', e.description, sealInputJson(e.seal));
  for (const e of inputs) {
    const bytes = sealed(e.seal);
    set.ok(
      `open-${e.name}`,
      'envelope.open',
      `Bob opens ${e.description}`,
      {
        recipientSeed: hex(SEEDS.bob),
        envelope: hex(bytes),
        now: e.seal.timestamp,
      },
      {
        version: 1,
        type: e.seal.type,
        messageId: hex(e.seal.messageId),
        sender: hex(alice.publicKey),
        recipient: hex(bob.publicKey),
        timestamp: e.seal.timestamp,
        nonce: hex(e.seal.nonce),
        plaintext: hex(e.seal.plaintext),
      },
    );
  }
  const base = inputs.find((e) => e.name === 'consent-request')!.seal;
  const env = sealed(base);
  const open = (envelope: Uint8Array, extra: Record<string, unknown> = {}) => ({
    recipientSeed: hex(SEEDS.bob),
    envelope: hex(envelope),
    now: base.timestamp,
    ...extra,
  });
  const bad = (
    name: string,
    description: string,
    envelope: Uint8Array,
    code: string,
    extra: Record<string, unknown> = {},
  ) => set.error(name, 'envelope.open', description, open(envelope, extra), code);
  set.ok(
    'open-skew-edge',
    'envelope.open',
    'timestamp exactly 5 min ahead of the receiver clock: still inside the window',
    open(env, { now: base.timestamp - 300_000 }),
  );
  bad('truncated', 'the consent request without its last byte', env.subarray(0, env.length - 1), 'PROTO_ERR_TRUNCATED');
  bad(
    'shorter-than-minimum',
    'the first 221 bytes (header + tag + signature is 222)',
    env.subarray(0, 221),
    'PROTO_ERR_TRUNCATED',
  );
  bad('trailing-byte', 'the consent request with one byte appended', concat(env, [0]), 'PROTO_ERR_TRAILING_BYTES');
  bad('version-0', 'byte 0 (version) set to 0', patch(env, 0, [0]), 'PROTO_ERR_BAD_VERSION');
  bad('version-3', 'byte 0 (version) set to 3', patch(env, 0, [3]), 'PROTO_ERR_BAD_VERSION');
  bad('type-0', 'byte 1 (type) set to 0', patch(env, 1, [0]), 'PROTO_ERR_BAD_TYPE');
  bad('type-9', 'byte 1 (type) set to 9', patch(env, 1, [9]), 'PROTO_ERR_BAD_TYPE');
  bad(
    'length-over-max',
    'ciphertext length field 61,457 (MAX_CIPHERTEXT_BYTES 61,456)',
    patch(env, 138, [0, 0, 0xf0, 0x11]),
    'PROTO_ERR_TOO_LARGE',
  );
  bad(
    'length-under-tag',
    'ciphertext length field 15 (shorter than the tag)',
    patch(env, 138, [0, 0, 0, 15]),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'length-mismatch-long',
    'ciphertext length field one more than the bytes present',
    patch(env, 138, [0, 0, 0, env[141]! + 1]),
    'PROTO_ERR_TRUNCATED',
  );
  bad(
    'length-mismatch-short',
    'ciphertext length field one less than the bytes present',
    patch(env, 138, [0, 0, 0, env[141]! - 1]),
    'PROTO_ERR_TRAILING_BYTES',
  );
  bad(
    'over-max-envelope',
    `${MAX_ENVELOPE_BYTES + 1} bytes (MAX_ENVELOPE_BYTES ${MAX_ENVELOPE_BYTES})`,
    concat(env.subarray(0, 142), fill(MAX_ENVELOPE_BYTES + 1 - 142, 0)),
    'PROTO_ERR_TOO_LARGE',
  );
  bad(
    'timestamp-2^53',
    'timestamp 2^53 ms (u64 must stay below 2^53): refused by the structure check',
    patch(env, 82, [0, 0x20, 0, 0, 0, 0, 0, 0]),
    'PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW',
  );
  bad('signature-bit', 'one bit of the signature flipped', flip(env, -1, 7), 'PROTO_ERR_BAD_SIGNATURE');
  bad(
    'signature-s-plus-l',
    'signature S replaced by S + L (same point, non-canonical scalar: strict verification refuses)',
    sPlusL(env),
    'PROTO_ERR_BAD_SIGNATURE',
  );
  bad(
    'ciphertext-bit',
    'one bit of the ciphertext flipped (the signature covers the ciphertext)',
    flip(env, 150),
    'PROTO_ERR_BAD_SIGNATURE',
  );
  bad('tag-bit', 'one bit of the AEAD tag flipped', flip(env, env.length - 65), 'PROTO_ERR_BAD_SIGNATURE');
  bad('header-nonce-bit', 'one bit of the header nonce flipped', flip(env, 95), 'PROTO_ERR_BAD_SIGNATURE');
  bad(
    'sender-replaced',
    "sender key replaced by Carol's (signature no longer verifies under it)",
    patch(env, 18, carol.publicKey),
    'PROTO_ERR_BAD_SIGNATURE',
  );
  bad(
    're-addressed',
    "recipient replaced by Carol's, opened by Carol (surreptitious forwarding: the signature covers the recipient)",
    patch(env, 50, carol.publicKey),
    'PROTO_ERR_BAD_SIGNATURE',
    { recipientSeed: hex(SEEDS.carol) },
  );
  bad('wrong-recipient', "Alice's envelope for Bob, opened by Carol", env, 'PROTO_ERR_WRONG_RECIPIENT', {
    recipientSeed: hex(SEEDS.carol),
  });
  bad('too-old', 'receiver clock 5 min + 1 ms after the timestamp', env, 'PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW', {
    now: base.timestamp + 300_001,
  });
  bad('too-new', 'receiver clock 5 min + 1 ms before the timestamp', env, 'PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW', {
    now: base.timestamp - 300_001,
  });
  bad('replay', 'the same envelope a second time (sender, nonce seen)', env, 'PROTO_ERR_REPLAY', {
    before: [hex(env)],
  });
  bad(
    'replay-after-restart',
    'the same envelope after the receiver persisted and reloaded its replay state',
    env,
    'PROTO_ERR_REPLAY',
    { before: [hex(env)], restart: true },
  );
  const sameNonce = sealed({ ...base, messageId: fill(16, 0x5e), timestamp: base.timestamp + 1 });
  bad(
    'replay-new-id-same-nonce',
    'another envelope from Alice reusing an accepted nonce (the guard keys on sender + nonce)',
    sameNonce,
    'PROTO_ERR_REPLAY',
    { before: [hex(env)] },
  );
  bad(
    'aead-tampered-resigned',
    'ciphertext bit flipped and the envelope re-signed by its sender: only the AEAD tag catches it',
    resign(flip(env, 150), SEEDS.alice),
    'PROTO_ERR_DECRYPT_FAILED',
  );
  bad(
    'aad-tampered-resigned',
    'header nonce changed and re-signed by its sender: the header is the AEAD associated data',
    resign(flip(env, 95), SEEDS.alice),
    'PROTO_ERR_DECRYPT_FAILED',
  );
  bad(
    'ephemeral-low-order',
    'ephemeral key 0 (a low-order point), signed by its sender: X25519 gives all zeros',
    resign(patch(env, 106, fill(32, 0)), SEEDS.alice),
    'PROTO_ERR_WEAK_KEY',
  );
  return set;
}

/** The envelope with its signature's S replaced by S + L (L = the Ed25519 group order). */
function sPlusL(envelope: Uint8Array): Uint8Array {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const at = envelope.length - 32;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(envelope[at + i]!);
  s += L;
  const out = Uint8Array.from(envelope);
  for (let i = 0; i < 32; i++) {
    out[at + i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

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

function checkOk(kind: string, input: Record<string, unknown>): Record<string, unknown> {
  const a = checkVector({ kind, input });
  if (!a.ok) throw new Error(`${kind} fixture refused: ${a.code}`);
  return a.output;
}

function handshake(ids: Set<string>): VectorSet {
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

/** Message 1 with Alice's static key whose payload names Carol's Ed25519 key (only a buggy or hostile initiator makes one). */
function mismatchedMessage1(): Uint8Array {
  const state = new HandshakeState({
    protocolName: SESSION_PROTOCOL_NAME,
    initiator: true,
    prologue: sessionPrologue(bob.publicKey),
    staticSecretKey: ed25519SecretToX25519(alice.secretKey),
    remoteStaticKey: ed25519PublicToX25519(bob.publicKey),
    random: scriptedRandom([R.initiatorEphemeral, R.initiatorKemSeed]),
    suite: nodeSuite,
  });
  return encodeHandshakePacket(1, state.writeMessage(carol.publicKey));
}

function transport(ids: Set<string>): VectorSet {
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

function prekey(ids: Set<string>): VectorSet {
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

function peerPackets(ids: Set<string>): VectorSet {
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

function handshakeRekeyTranscript(ids: Set<string>): string {
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

/** Every protocol-layer file, name (under conformance/) → exact bytes. */
export function buildProtocolConformance(): Map<string, string> {
  const ids = new Set<string>();
  const files = new Map<string, string>();
  files.set('frames.json', vectorFile(SOURCE('client⇄server frames (frame.decode)'), frames(ids).vectors));
  files.set('hello.json', vectorFile(SOURCE('server authentication (hello.build, hello.verify)'), hellos(ids).vectors));
  files.set('envelopes.json', vectorFile(SOURCE('envelope v1 (envelope.seal, envelope.open)'), envelopes(ids).vectors));
  files.set(
    'peer-packets.json',
    vectorFile(SOURCE('peer packets as a relay checks them (packet.classify)'), peerPackets(ids).vectors),
  );
  files.set(
    'handshake.json',
    vectorFile(SOURCE('v2 handshake (handshake.initiate, handshake.respond)'), handshake(ids).vectors),
  );
  files.set(
    'transport.json',
    vectorFile(SOURCE('v2 transport packets (transport.seal, transport.open)'), transport(ids).vectors),
  );
  files.set(
    'prekey.json',
    vectorFile(
      SOURCE('v2 prekey bundles and messages (prekey.bundle, prekey.verify, prekey.seal, prekey.open)'),
      prekey(ids).vectors,
    ),
  );
  files.set('transcripts/handshake-rekey.json', handshakeRekeyTranscript(ids));
  return files;
}

if (isMain(import.meta.url)) {
  const files = buildProtocolConformance();
  writeFiles(files);
  console.log(`wrote ${[...files.keys()].join(', ')}`);
}
