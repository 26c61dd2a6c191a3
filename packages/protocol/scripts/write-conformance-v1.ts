import { nodeSuite } from '../src/crypto/node.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  encodeKey,
  type Frame,
  FrameType,
  lengthPrefixed,
  MAX_ENVELOPE_BYTES,
  PREKEY_BUNDLE_BYTES,
  sealEnvelope,
  utf8,
} from '../src/index.js';
import { GOLDEN_ENVELOPE_INPUTS, GOLDEN_FRAMES } from '../test/golden-inputs.js';
import { envelopeSignedBytes, frameToJson } from './write-conformance-check.js';
import { alice, bob, carol, concat, fill, flip, hex, patch, SEEDS, T0, VectorSet } from './write-conformance-common.js';

export const SOURCE = (what: string) =>
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

export function frames(ids: Set<string>): VectorSet {
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

export function hellos(ids: Set<string>): VectorSet {
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
  set.error(
    'verify-too-old-and-bad-signature',
    'hello.verify',
    'both outside the window and with a flipped signature bit: the window is checked first (no signature work for a stale hello)',
    { ...verify, frame: hex(flip(hello(SEEDS.alice, GOLDEN_CHALLENGE, GOLDEN_ORIGIN, T0), 50)), now: T0 + 300_001 },
    'PROTO_ERR_TIMESTAMP_OUT_OF_WINDOW',
  );
  return set;
}

// ---------------------------------------------------------------------------------------------
// envelopes.json
// ---------------------------------------------------------------------------------------------

/** One envelope per type, with the client payload each type carries (type 4 and 8 are reserved: no client sends them). */
export function envelopeInputs(): { name: string; description: string; seal: SealInput }[] {
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

export function sealed(s: SealInput): Uint8Array {
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

export function envelopes(ids: Set<string>): VectorSet {
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
