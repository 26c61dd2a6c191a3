/**
 * Writes the client-layer conformance vectors under test/vectors/conformance/ (README.md there,
 * "Conformance kit"): the application payload inside envelopes (payloads.json), the inner
 * payload of TRANSPORT / PREKEY packets, packets opened down to their payload (layered.json),
 * file-transfer messages (files.json), and the transcripts that need them (consent → data → ack
 * → revoke; mailbox after restart). The decoders are the client's own (client/src), given to
 * the checker as ClientHooks (write-conformance-client-hooks.ts). Run after a deliberate change:
 *   node --conditions=source --import tsx packages/protocol/scripts/write-conformance-client.ts
 * client/test/conformance-vectors.test.ts checks that the files are what this produces.
 */
import { encodeTransferMessage, type TransferMessage } from '../../../client/src/files/wire.js';
import {
  encodeInnerBundle,
  encodeInnerConfirm,
  encodeInnerFile,
  encodeInnerPayload,
} from '../../../client/src/session/inner-payload.js';
import { encodePayload, type Payload } from '../../../client/src/session/payload.js';
import { encodeFrame, FrameType, fromHex, toHex, utf8 } from '../src/index.js';
import { clientPayload, goldenBundle, goldenBundleInput, heldGolden, prekeySealInput } from './write-conformance.js';
import { checkVector, hexIn } from './write-conformance-check.js';
import { clientHooks } from './write-conformance-client-hooks.js';
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
  SEEDS,
  serialize,
  T0,
  VectorSet,
  vectorFile,
  writeFiles,
} from './write-conformance-common.js';

const SOURCE = (what: string) =>
  `p2p-comm conformance vectors: ${what}. Written by packages/protocol/scripts/write-conformance-client.ts from fixed inputs with the client's codecs (client/src/session/payload.ts, inner-payload.ts, client/src/files/wire.ts, client/src/transports/webrtc-signal.ts); schema in test/vectors/README.md ("Conformance kit"). Hex throughout.`;

// ---------------------------------------------------------------------------------------------
// payloads.json: payload.decode and inner.decode
// ---------------------------------------------------------------------------------------------

const DATA_ID = '00112233445566778899aabbccddeeff';
const STREAM = 'Ks3vQ9zT_x2LmP0a';

function payloads(ids: Set<string>): VectorSet {
  const set = new VectorSet('payload', ids, clientHooks);
  const ok = (name: string, description: string, envelopeType: number, plaintext: Uint8Array) =>
    set.ok(name, 'payload.decode', description, { envelopeType, plaintext: hex(plaintext) });
  const enc = (p: Payload) => encodePayload(p);
  ok('consent-request', 'CONSENT_REQUEST {v:1,name}', 1, enc({ type: 1, name: 'Alice' }));
  ok('consent-request-no-name', 'CONSENT_REQUEST with an empty name', 1, enc({ type: 1, name: '' }));
  ok('consent-response-accept', 'CONSENT_RESPONSE accepting', 2, enc({ type: 2, accept: true, name: 'Bob' }));
  ok('consent-response-decline', 'CONSENT_RESPONSE declining', 2, enc({ type: 2, accept: false, name: 'Bob' }));
  ok(
    'data-text',
    'DATA, text body "hello bob", stream sequence 0',
    5,
    enc({ type: 5, id: DATA_ID, stream: STREAM, seq: 0, enc: 'text', body: utf8('hello bob') }),
  );
  ok(
    'data-bytes',
    'DATA, binary body',
    5,
    enc({ type: 5, id: DATA_ID, stream: STREAM, seq: 7, enc: 'bytes', body: Uint8Array.of(0, 0xff, 0x80) }),
  );
  ok(
    'data-empty',
    'DATA with an empty text body',
    5,
    enc({ type: 5, id: DATA_ID, stream: STREAM, seq: 1, enc: 'text', body: new Uint8Array(0) }),
  );
  ok(
    'ack',
    'ACK: cumulative, every sequence of the stream up to 4 delivered (or refused)',
    6,
    enc({ type: 6, stream: STREAM, upTo: 4 }),
  );
  ok('ack-none', 'ACK upTo −1: nothing of the stream delivered yet', 6, enc({ type: 6, stream: STREAM, upTo: -1 }));
  ok('revoke', 'REVOKE {v:1}', 7, enc({ type: 7 }));
  ok(
    'extra-members-ignored',
    'a consent request with a member readers do not know (ignored) and whitespace (not significant)',
    1,
    withHeader('{ "name" : "Alice", "v": 1, "note": "hi" }'),
  );
  ok(
    'signal-offer',
    'SIGNAL: a WebRTC offer for attempt "a1"',
    3,
    utf8(JSON.stringify({ t: 'rtc', id: 'a1', s: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } })),
  );
  ok(
    'signal-candidate',
    'SIGNAL: a WebRTC ICE candidate',
    3,
    utf8(
      JSON.stringify({
        t: 'rtc',
        id: 'a1',
        s: {
          type: 'candidate',
          candidate: {
            candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 54321 typ host',
            sdpMid: '0',
            sdpMLineIndex: 0,
          },
        },
      }),
    ),
  );
  ok('signal-rtc-req', 'SIGNAL: "please start a WebRTC attempt" (from the higher key)', 3, utf8('{"t":"rtc-req"}'));
  ok('signal-rtc-off', 'SIGNAL: "WebRTC is disabled here" for attempt a1', 3, utf8('{"t":"rtc-off","id":"a1"}'));
  ok(
    'signal-addrs-over-limit',
    'SIGNAL addrs with 9 entries: only the first 8 (UPGRADE_MAX_ADDRESSES_PER_PEER) are read',
    3,
    utf8(
      JSON.stringify({ t: 'addrs', a: Array.from({ length: 9 }, (_, i) => ({ h: `192.0.2.${i + 1}`, p: 7000 + i })) }),
    ),
  );
  ok(
    'signal-addrs-bad-ports',
    'SIGNAL addrs whose ports 0, 65,536 and 1.5 are skipped (ports are integers 1–65,535)',
    3,
    utf8(
      JSON.stringify({
        t: 'addrs',
        a: [
          { h: '192.0.2.1', p: 0 },
          { h: '192.0.2.2', p: 65_536 },
          { h: '192.0.2.3', p: 1.5 },
          { h: '192.0.2.4', p: 65_535 },
        ],
      }),
    ),
  );
  ok(
    'signal-addrs',
    "SIGNAL: the sender's direct listener addresses (IP literals only: a name is skipped)",
    3,
    utf8(
      JSON.stringify({
        t: 'addrs',
        a: [
          { h: '192.0.2.10', p: 7001 },
          { h: '2001:db8::1', p: 7001 },
          { h: 'evil.example', p: 80 },
        ],
      }),
    ),
  );
  const bad = (
    name: string,
    description: string,
    envelopeType: number,
    plaintext: Uint8Array | number[],
    code = 'CLIENT_ERR_BAD_PAYLOAD',
  ) =>
    set.error(name, 'payload.decode', description, { envelopeType, plaintext: hex(Uint8Array.from(plaintext)) }, code);
  bad('empty', 'no bytes (the u16 header length is missing)', 1, []);
  bad('header-length-past-end', 'header length 10 with 5 bytes after it', 1, concat([0, 10], utf8('{"v":')));
  bad(
    'header-too-long',
    'header length 2,049 (MAX_PAYLOAD_HEADER_BYTES 2,048)',
    1,
    concat([0x08, 0x01], fill(2049, 0x20)),
  );
  bad('header-not-json', 'header is not JSON', 7, withHeader('{v:1}'));
  bad('header-array', 'header is a JSON array', 7, withHeader('[1]'));
  bad('version-2', 'header v = 2', 7, withHeader('{"v":2}'));
  bad('body-on-revoke', 'REVOKE with a body', 7, concat(withHeader('{"v":1}'), [0]));
  bad('accept-not-boolean', 'CONSENT_RESPONSE with accept "yes"', 2, withHeader('{"v":1,"accept":"yes","name":"Bob"}'));
  bad(
    'data-bad-id',
    'DATA whose id is not 32 lowercase hex characters',
    5,
    withHeader(`{"v":1,"id":"${DATA_ID.toUpperCase()}","s":"${STREAM}","q":0,"enc":"text"}`),
  );
  bad(
    'data-bad-stream',
    'DATA whose stream id has 7 characters (8–64 of [A-Za-z0-9_-])',
    5,
    withHeader(`{"v":1,"id":"${DATA_ID}","s":"abcdefg","q":0,"enc":"text"}`),
  );
  bad(
    'data-negative-seq',
    'DATA with q = −1',
    5,
    withHeader(`{"v":1,"id":"${DATA_ID}","s":"${STREAM}","q":-1,"enc":"text"}`),
  );
  bad(
    'data-bad-enc',
    'DATA with enc "utf16"',
    5,
    withHeader(`{"v":1,"id":"${DATA_ID}","s":"${STREAM}","q":0,"enc":"utf16"}`),
  );
  bad(
    'data-text-not-utf8',
    'DATA enc "text" whose body is not UTF-8',
    5,
    concat(withHeader(`{"v":1,"id":"${DATA_ID}","s":"${STREAM}","q":0,"enc":"text"}`), [0xc3, 0x28]),
  );
  bad(
    'data-body-too-large',
    'DATA body of 57,345 bytes (MAX_MESSAGE_BYTES 57,344)',
    5,
    concat(withHeader(`{"v":1,"id":"${DATA_ID}","s":"${STREAM}","q":0,"enc":"bytes"}`), fill(57_345, 0x61)),
  );
  bad('ack-bad-upto', 'ACK with upTo −2', 6, withHeader(`{"v":1,"s":"${STREAM}","upTo":-2}`));
  bad('type-4', 'envelope type 4 (DIRECT_HANDSHAKE) carries no client payload', 4, withHeader('{"v":1}'));
  bad('type-8', 'envelope type 8 (ADDRESSES) carries no client payload', 8, withHeader('{"v":1}'));
  bad('signal-not-json', 'SIGNAL whose plaintext is not JSON', 3, utf8('offer'), 'CLIENT_ERR_WEBRTC_BAD_SIGNAL');
  bad('signal-unknown-t', 'SIGNAL with t "hello"', 3, utf8('{"t":"hello"}'), 'CLIENT_ERR_WEBRTC_BAD_SIGNAL');
  bad(
    'signal-bad-rtc',
    'SIGNAL rtc whose s has type "bogus"',
    3,
    utf8('{"t":"rtc","id":"a1","s":{"type":"bogus"}}'),
    'CLIENT_ERR_WEBRTC_BAD_SIGNAL',
  );
  bad(
    'signal-candidate-line',
    'SIGNAL rtc candidate with sdpMLineIndex 256',
    3,
    utf8('{"t":"rtc","id":"a1","s":{"type":"candidate","candidate":{"candidate":"c","sdpMLineIndex":256}}}'),
    'CLIENT_ERR_WEBRTC_BAD_SIGNAL',
  );
  bad(
    'signal-too-large',
    'SIGNAL of 16,385 bytes (UPGRADE_MAX_SIGNAL_PAYLOAD_BYTES 16,384)',
    3,
    utf8(`{"t":"rtc-req","x":"${'a'.repeat(16_385 - 22)}"}`),
    'CLIENT_ERR_WEBRTC_BAD_SIGNAL',
  );

  // inner.decode
  const inner = (name: string, description: string, plaintext: Uint8Array) =>
    set.ok(`inner-${name}`, 'inner.decode', description, { plaintext: hex(plaintext) });
  inner(
    'data',
    'kind 0x05 DATA: the v1 DATA payload after the kind byte',
    encodeInnerPayload({ type: 5, id: DATA_ID, stream: STREAM, seq: 0, enc: 'text', body: utf8('hello bob') }),
  );
  inner('ack', 'kind 0x06 ACK', encodeInnerPayload({ type: 6, stream: STREAM, upTo: 0 }));
  inner(
    'revoke',
    'kind 0x07 REVOKE (accepted; our client sends revoke as an envelope)',
    encodeInnerPayload({ type: 7 }),
  );
  inner('confirm', "kind 0x10 CONFIRM: the initiator's first TRANSPORT packet", encodeInnerConfirm());
  inner('bundle', "kind 0x11 BUNDLE: Bob's golden prekey bundle", encodeInnerBundle(hexIn({ b: goldenBundle() }, 'b')));
  inner(
    'file',
    'kind 0x12 FILE: a file-transfer ACCEPT',
    encodeInnerFile(encodeTransferMessage({ type: 2, id: DATA_ID })),
  );
  const ibad = (name: string, description: string, plaintext: Uint8Array | number[], code = 'CLIENT_ERR_BAD_PAYLOAD') =>
    set.error(`inner-${name}`, 'inner.decode', description, { plaintext: hex(Uint8Array.from(plaintext)) }, code);
  ibad('empty', 'no bytes', []);
  ibad(
    'consent-kind',
    'kind 0x01 (consent never rides in a session)',
    concat([1], clientPayload({ v: 1, name: 'Alice' })),
  );
  ibad('unknown-kind', 'kind 0x13', [0x13]);
  ibad('confirm-with-bytes', 'CONFIRM followed by a byte', [0x10, 0]);
  ibad('bundle-short', 'BUNDLE of 1,332 bytes', concat([0x11], fill(1332, 0)));
  ibad('file-empty', 'FILE with no message', [0x12]);
  ibad(
    'file-bad-message',
    'FILE whose message has version 2',
    concat([0x12], patch(encodeTransferMessage({ type: 2, id: DATA_ID }), 0, [2])),
    'CLIENT_ERR_FILE_BAD_MESSAGE',
  );
  ibad('data-bad-payload', 'DATA whose header is not JSON', concat([5], withHeader('nope')));
  return set;
}

/** u16 BE length ‖ the given header text, verbatim. */
function withHeader(text: string): Uint8Array {
  const h = utf8(text);
  return concat([h.length >> 8, h.length & 0xff], h);
}

// ---------------------------------------------------------------------------------------------
// files.json: file.decode
// ---------------------------------------------------------------------------------------------

const TRANSFER_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';

function files(ids: Set<string>): VectorSet {
  const set = new VectorSet('file', ids, clientHooks);
  const sha = fromHex('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08')!;
  const offer: TransferMessage = {
    type: 1,
    id: TRANSFER_ID,
    size: 100_000,
    chunkSize: 49_152,
    sha256: sha,
    name: 'report.pdf',
    mediaType: 'application/pdf',
    note: 'Q3 numbers',
  };
  const ok = (name: string, description: string, m: TransferMessage) =>
    set.ok(name, 'file.decode', description, { message: hex(encodeTransferMessage(m)) });
  ok(
    'offer',
    'OFFER (sender → recipient): 100,000 bytes in chunks of 49,152, its SHA-256, name, media type, note',
    offer,
  );
  ok('offer-empty-file', 'OFFER of an empty file with no note, unicode name', {
    ...offer,
    size: 0,
    name: 'café ☕.txt',
    mediaType: 'text/plain',
    note: '',
  });
  ok('accept', 'ACCEPT (recipient → sender)', { type: 2, id: TRANSFER_ID });
  ok('decline', 'DECLINE with reason declined (1)', { type: 3, id: TRANSFER_ID, reason: 'declined' });
  ok('chunk', 'CHUNK index 2 with 5 bytes (only the last chunk is shorter)', {
    type: 4,
    id: TRANSFER_ID,
    index: 2,
    bytes: utf8('hello'),
  });
  ok('credit', 'CREDIT: 4 chunks received in order, send index < 8', { type: 5, id: TRANSFER_ID, next: 4, limit: 8 });
  ok('cancel', 'CANCEL with reason cancelled (3)', { type: 6, id: TRANSFER_ID, reason: 'cancelled' });
  ok('done', 'DONE (hash verified, file landed)', { type: 7, id: TRANSFER_ID });
  ok('failed', 'FAILED with reason hash-mismatch (4)', { type: 8, id: TRANSFER_ID, reason: 'hash-mismatch' });
  ok('failed-too-many', 'FAILED with reason too-many (12)', { type: 8, id: TRANSFER_ID, reason: 'too-many' });
  const good = encodeTransferMessage(offer);
  const accept = encodeTransferMessage({ type: 2, id: TRANSFER_ID });
  const bad = (name: string, description: string, bytes: Uint8Array | number[]) =>
    set.error(
      name,
      'file.decode',
      description,
      { message: hex(Uint8Array.from(bytes)) },
      'CLIENT_ERR_FILE_BAD_MESSAGE',
    );
  bad('short', 'shorter than the 18-byte common header', accept.subarray(0, 17));
  bad('version-2', 'version byte 2', patch(accept, 0, [2]));
  bad('unknown-type', 'type 9', patch(accept, 1, [9]));
  bad('accept-trailing', 'ACCEPT with a byte after it', concat(accept, [0]));
  bad('offer-truncated', 'OFFER cut inside its note', good.subarray(0, good.length - 2));
  bad('offer-trailing', 'OFFER with a byte after its note', concat(good, [0]));
  bad(
    'offer-size-too-large',
    'OFFER of 2^40 + 1 bytes (FILE_MAX_BYTES 2^40)',
    patch(good, 18, [0, 0, 1, 0, 0, 0, 0, 1]),
  );
  bad(
    'offer-chunk-too-small',
    'OFFER with chunk size 1,023 (FILE_MIN_CHUNK_BYTES 1,024)',
    patch(good, 26, [0, 0, 0x03, 0xff]),
  );
  bad('offer-empty-name', 'OFFER with an empty name', encodeRaw(offer, { name: '' }));
  bad(
    'offer-name-not-utf8',
    'OFFER whose name is not UTF-8',
    encodeRaw(offer, { nameBytes: Uint8Array.of(0xc3, 0x28) }),
  );
  bad(
    'offer-bad-media-type',
    'OFFER with media type "pdf" (type/subtype required)',
    encodeRaw(offer, { mediaType: 'pdf' }),
  );
  bad('chunk-empty', 'CHUNK with no bytes', concat(patch(accept, 1, [4]), [0, 0, 0, 0]));
  bad(
    'chunk-too-long',
    'CHUNK of 57,345 bytes (FILE_MAX_CHUNK_BYTES 57,344)',
    concat(patch(accept, 1, [4]), [0, 0, 0, 0], fill(57_345, 1)),
  );
  bad(
    'credit-limit-below-next',
    'CREDIT with limit 3 < next 4',
    concat(patch(accept, 1, [5]), [0, 0, 0, 4, 0, 0, 0, 3]),
  );
  bad('reason-unknown', 'FAILED with reason 99', concat(patch(accept, 1, [8]), [99]));
  bad('decline-no-reason', 'DECLINE without its reason byte', patch(accept, 1, [3]));
  return set;
}

/** An OFFER written field by field, for values the encoder refuses to write. */
function encodeRaw(
  o: Extract<TransferMessage, { type: 1 }>,
  change: { name?: string; nameBytes?: Uint8Array; mediaType?: string },
): Uint8Array {
  const name = change.nameBytes ?? utf8(change.name ?? o.name);
  const media = utf8(change.mediaType ?? o.mediaType);
  const note = utf8(o.note);
  const size = new Uint8Array(12);
  const v = new DataView(size.buffer);
  v.setBigUint64(0, BigInt(o.size));
  v.setUint32(8, o.chunkSize);
  return concat(
    [1, 1],
    fromHex(o.id)!,
    size,
    o.sha256,
    [name.length],
    name,
    [media.length],
    media,
    [note.length >> 8, note.length & 0xff],
    note,
  );
}

// ---------------------------------------------------------------------------------------------
// direct.json: the direct link's key-proving handshake
// ---------------------------------------------------------------------------------------------

function direct(ids: Set<string>): VectorSet {
  const set = new VectorSet('direct', ids, clientHooks);
  // Alice dials Bob's listener.
  const cd = fill(32, 0xd1);
  const cl = fill(32, 0x1d);
  const t = {
    dialerChallenge: hex(cd),
    listenerChallenge: hex(cl),
    dialerKey: hex(alice.publicKey),
    listenerKey: hex(bob.publicKey),
  };
  const prove = (seed: Uint8Array, role: string) =>
    ok('direct.prove', { seed: hex(seed), role, ...t }).signature as string;
  const sigL = prove(SEEDS.bob, 'listener');
  const sigD = prove(SEEDS.alice, 'dialer');
  set.ok('prove-listener', 'direct.prove', "Bob's listener proof over both challenges and both keys", {
    seed: hex(SEEDS.bob),
    role: 'listener',
    ...t,
  });
  set.ok('prove-dialer', 'direct.prove', "Alice's dialer proof", { seed: hex(SEEDS.alice), role: 'dialer', ...t });
  const messages: [string, string, number[] | Uint8Array, string][] = [
    ['hello', 'HELLO', concat([1, 1], alice.publicKey, cd), 'dialer → listener HELLO (66 bytes): key_d, challenge_d'],
    [
      'hello-proof',
      'HELLO_PROOF',
      concat([2, 1], bob.publicKey, cl, fromHex(sigL)!),
      'listener → dialer HELLO_PROOF (130 bytes): key_l, challenge_l, sig_l',
    ],
    ['proof', 'PROOF', concat([3, 1], fromHex(sigD)!), 'dialer → listener PROOF (66 bytes): sig_d'],
    ['accept', 'ACCEPT', [4, 1], 'listener → dialer ACCEPT (2 bytes); then every binary message is one peer packet'],
  ];
  for (const [name, expected, bytes, description] of messages)
    set.ok(`decode-${name}`, 'direct.decode', description, { message: hex(Uint8Array.from(bytes)), expected });
  const verify = (role: string, signer: Uint8Array, signature: string, extra: Record<string, unknown> = {}) => ({
    role,
    signer: hex(signer),
    signature,
    ...t,
    ...extra,
  });
  set.ok('verify-listener', 'direct.verify', "Alice checks Bob's HELLO_PROOF", verify('listener', bob.publicKey, sigL));
  set.ok('verify-dialer', 'direct.verify', "Bob checks Alice's PROOF", verify('dialer', alice.publicKey, sigD));
  const bad = (name: string, description: string, input: Record<string, unknown>) =>
    set.error(name, 'direct.verify', description, input, 'CLIENT_ERR_DIRECT_BAD_PROOF');
  bad(
    'verify-reflected',
    "Bob's listener proof reflected back as a dialer proof (the role label differs)",
    verify('dialer', bob.publicKey, sigL),
  );
  bad(
    'verify-other-challenge',
    'a proof replayed to a handshake with another listener challenge',
    verify('dialer', alice.publicKey, sigD, { listenerChallenge: hex(fill(32, 0x2d)) }),
  );
  bad(
    'verify-relayed',
    "Alice's proof made for Bob, relayed by Carol to a listener that is Carol's (key_l differs)",
    verify('dialer', alice.publicKey, sigD, { listenerKey: hex(carol.publicKey) }),
  );
  bad(
    'verify-bit',
    'a dialer proof with one bit flipped',
    verify('dialer', alice.publicKey, hex(flip(fromHex(sigD)!, 3))),
  );
  const dbad = (name: string, description: string, bytes: number[] | Uint8Array, expected: string) =>
    set.error(
      name,
      'direct.decode',
      description,
      { message: hex(Uint8Array.from(bytes)), expected },
      'CLIENT_ERR_DIRECT_BAD_FRAME',
    );
  const helloBytes = concat([1, 1], alice.publicKey, cd);
  dbad('decode-unexpected-type', 'a PROOF where HELLO is expected', concat([3, 1], fromHex(sigD)!), 'HELLO');
  dbad('decode-version-2', 'HELLO with version 2', patch(helloBytes, 1, [2]), 'HELLO');
  dbad('decode-short', 'HELLO of 65 bytes', helloBytes.subarray(0, 65), 'HELLO');
  dbad('decode-long', 'ACCEPT with a byte after it', [4, 1, 0], 'ACCEPT');
  dbad('decode-empty', 'an empty message', [], 'HELLO');
  return set;
}

// ---------------------------------------------------------------------------------------------
// layered.json: a packet opened down to its application payload (decode)
// ---------------------------------------------------------------------------------------------

function layered(ids: Set<string>): VectorSet {
  const set = new VectorSet('layered', ids, clientHooks);
  const t = T0 + 7_200_000;
  const bodies: [string, number, Uint8Array, string][] = [
    ['consent-request', 1, encodePayload({ type: 1, name: 'Alice' }), 'a consent request'],
    ['consent-response', 2, encodePayload({ type: 2, accept: false, name: 'Alice' }), 'a consent response declining'],
    [
      'signal',
      3,
      utf8(JSON.stringify({ t: 'rtc', id: 'a7', s: { type: 'answer', sdp: 'v=0\r\n' } })),
      'a WebRTC answer (SIGNAL, sent over SIGNAL frames)',
    ],
    [
      'data',
      5,
      encodePayload({ type: 5, id: DATA_ID, stream: STREAM, seq: 3, enc: 'text', body: utf8('v1 data') }),
      'DATA in an envelope (a peer without v2 sessions)',
    ],
    [
      'ack',
      6,
      encodePayload({ type: 6, stream: STREAM, upTo: 3 }),
      "an ACK in an envelope (the peer's last packet was a PREKEY message)",
    ],
    ['revoke', 7, encodePayload({ type: 7 }), 'a revoke notice'],
  ];
  bodies.forEach(([name, type, plaintext, what], i) => {
    const envelope = ok('envelope.seal', {
      senderSeed: hex(SEEDS.alice),
      recipient: hex(bob.publicKey),
      type,
      timestamp: t + i,
      messageId: hex(fill(16, 0x60 + i)),
      nonce: hex(fill(16, 0x68 + i)),
      ephemeralSecret: hex(fill(32, 0x70 + i)),
      plaintext: hex(plaintext),
    }).envelope as string;
    set.ok(`envelope-${name}`, 'envelope.open', `Bob opens ${what} from Alice, down to the payload`, {
      recipientSeed: hex(SEEDS.bob),
      envelope,
      now: t + i,
      decode: 'payload',
    });
  });
  const badEnvelope = ok('envelope.seal', {
    senderSeed: hex(SEEDS.alice),
    recipient: hex(bob.publicKey),
    type: 2,
    timestamp: t,
    messageId: hex(fill(16, 0x6f)),
    nonce: hex(fill(16, 0x6e)),
    ephemeralSecret: hex(fill(32, 0x6d)),
    plaintext: hex(withHeader('{"v":1,"accept":1}')),
  }).envelope as string;
  set.error(
    'envelope-bad-payload',
    'envelope.open',
    'a valid envelope whose consent response says accept: 1 (not a boolean)',
    { recipientSeed: hex(SEEDS.bob), envelope: badEnvelope, now: t, decode: 'payload' },
    'CLIENT_ERR_BAD_PAYLOAD',
  );

  const key = hex(fill(32, 0x5c));
  const packet = (counter: number, plaintext: Uint8Array) =>
    ok('transport.seal', { sendKey: key, epoch: 0, counter, plaintext: hex(plaintext) }).packet as string;
  const tOpen = (name: string, description: string, plaintext: Uint8Array, counter: number) =>
    set.ok(`transport-${name}`, 'transport.open', description, {
      receiveKey: key,
      before: [],
      packet: packet(counter, plaintext),
      decode: 'inner',
    });
  const chunk = encodeTransferMessage({
    type: 4,
    id: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
    index: 0,
    bytes: utf8('first chunk'),
  });
  tOpen('file-chunk', 'a TRANSPORT packet carrying a file CHUNK (inner kind 0x12)', encodeInnerFile(chunk), 0);
  tOpen(
    'file-credit',
    'a TRANSPORT packet carrying a file CREDIT',
    encodeInnerFile(encodeTransferMessage({ type: 5, id: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', next: 1, limit: 9 })),
    1,
  );
  tOpen(
    'bundle',
    "a TRANSPORT packet carrying a prekey bundle (BUNDLE, pushed on every new session; here Bob's golden one)",
    encodeInnerBundle(hexIn({ b: goldenBundle() }, 'b')),
    2,
  );
  tOpen(
    'revoke',
    'a TRANSPORT packet carrying REVOKE (accepted; ours sends revoke as an envelope)',
    encodeInnerPayload({ type: 7 }),
    3,
  );
  set.error(
    'transport-bad-inner',
    'transport.open',
    'a TRANSPORT packet whose plaintext is an unknown kind 0x13',
    { receiveKey: key, before: [], packet: packet(4, Uint8Array.of(0x13)), decode: 'inner' },
    'CLIENT_ERR_BAD_PAYLOAD',
  );

  const pOpen = (sequence: number, inner: Uint8Array, messageId: string) => ({
    recipientSeed: hex(SEEDS.bob),
    prekeys: heldGolden(),
    packet: ok('prekey.seal', prekeySealInput(sequence, inner, fromHex(messageId)!)).packet as string,
    before: [],
    decode: 'inner',
  });
  const data = (id: string) =>
    encodeInnerPayload({ type: 5, id, stream: STREAM, seq: 0, enc: 'text', body: utf8('offline hello') });
  set.ok(
    'prekey-data',
    'prekey.open',
    'a PREKEY message carrying DATA whose id is the message id',
    pOpen(10, data(DATA_ID), DATA_ID),
  );
  set.ok(
    'prekey-ack',
    'prekey.open',
    'a PREKEY message carrying an ACK (no id rule)',
    pOpen(11, encodeInnerPayload({ type: 6, stream: STREAM, upTo: 0 }), 'aa'.repeat(16)),
  );
  set.error(
    'prekey-data-id-differs',
    'prekey.open',
    'a PREKEY message whose DATA id differs from its message id',
    pOpen(12, data(DATA_ID), 'bb'.repeat(16)),
    'CLIENT_ERR_BAD_PAYLOAD',
  );
  set.error(
    'prekey-file',
    'prekey.open',
    'a PREKEY message carrying a file message (files run only under a live session: a stored copy could be a replay)',
    pOpen(13, encodeInnerFile(chunk), 'cc'.repeat(16)),
    'CLIENT_ERR_BAD_PAYLOAD',
  );
  return set;
}

// ---------------------------------------------------------------------------------------------
// transcripts
// ---------------------------------------------------------------------------------------------

interface Step {
  step: number;
  from: string;
  to: string;
  deliver?: string;
  [k: string]: unknown;
}

function deliverFrame(channel: 0 | 1, from: Uint8Array, packet: string): string {
  return toHex(encodeFrame({ type: FrameType.DELIVER, channel, from, envelope: fromHex(packet)! }));
}

function ok(kind: string, input: Record<string, unknown>): Record<string, unknown> {
  const a = checkVector({ kind, input }, clientHooks);
  if (!a.ok) throw new Error(`${kind} fixture refused: ${a.code}`);
  return a.output;
}

/** Consent over envelopes v1, then a v2 session carrying DATA and its ACK, then REVOKE. */
function consentTranscript(ids: Set<string>): string {
  const set = new VectorSet('transcript/consent-data-ack-revoke', ids, clientHooks);
  const steps: Step[] = [];
  const add = (from: string, to: string, v: ReturnType<VectorSet['ok']>, deliver?: string) =>
    steps.push({ step: steps.length + 1, from, to, ...(deliver ? { deliver } : {}), ...v });
  const t = T0 + 3_600_000;
  const seal = (seed: Uint8Array, recipient: Uint8Array, type: number, i: number, plaintext: Uint8Array) =>
    ok('envelope.seal', {
      senderSeed: hex(seed),
      recipient: hex(recipient),
      type,
      timestamp: t + i * 1000,
      messageId: hex(fill(16, 0xa0 + i)),
      nonce: hex(fill(16, 0xb0 + i)),
      ephemeralSecret: hex(fill(32, 0xc0 + i)),
      plaintext: hex(plaintext),
    }).envelope as string;
  const request = seal(SEEDS.alice, bob.publicKey, 1, 0, encodePayload({ type: 1, name: 'Alice' }));
  const response = seal(SEEDS.bob, alice.publicKey, 2, 1, encodePayload({ type: 2, accept: true, name: 'Bob' }));
  const revoke = seal(SEEDS.alice, bob.publicKey, 7, 6, encodePayload({ type: 7 }));
  const openEnv = (seed: Uint8Array, envelope: string, i: number, before: string[] = []) => ({
    recipientSeed: hex(seed),
    envelope,
    now: t + i * 1000 + 250,
    before,
    decode: 'payload',
  });
  add(
    'alice',
    'bob',
    set.ok(
      '01-consent-request',
      'envelope.open',
      'Alice asks Bob for consent (envelope v1 type 1 over RELAY); Bob shows the request',
      openEnv(SEEDS.bob, request, 0),
    ),
    deliverFrame(1, alice.publicKey, request),
  );
  add(
    'bob',
    'alice',
    set.ok(
      '02-consent-response',
      'envelope.open',
      'Bob accepts (Bob now trusts Alice); Alice trusts Bob once it opens',
      openEnv(SEEDS.alice, response, 1),
    ),
    deliverFrame(1, bob.publicKey, response),
  );
  const initiate = {
    initiatorSeed: hex(SEEDS.alice),
    responder: hex(bob.publicKey),
    random: { ephemeral: hex(fill(32, 0x71)), kemSeed: hex(fill(64, 0x72)) },
  };
  const m1 = ok('handshake.initiate', initiate).message1 as string;
  const respond = {
    responderSeed: hex(SEEDS.bob),
    message1: m1,
    accept: [hex(alice.publicKey)],
    random: { ephemeral: hex(fill(32, 0x73)), kemRandom: hex(fill(32, 0x74)) },
    payload: '',
  };
  const r = set.ok(
    '03-handshake-init',
    'handshake.respond',
    'Alice has a message for Bob and no session: HANDSHAKE_INIT; Bob (trusting Alice) answers with no payload',
    respond,
  );
  add('alice', 'bob', r, deliverFrame(1, alice.publicKey, m1));
  const m2 = (r.expect as { output: { message2: string } }).output.message2;
  add(
    'bob',
    'alice',
    set.ok('04-handshake-response', 'handshake.initiate', 'HANDSHAKE_RESPONSE: Alice completes the session', {
      ...initiate,
      message2: m2,
    }),
    deliverFrame(1, bob.publicKey, m2),
  );
  const i2r = (r.expect as { output: { receiveKey: string } }).output.receiveKey;
  const r2i = (r.expect as { output: { sendKey: string } }).output.sendKey;
  const seq = (key: string, counter: number, plaintext: Uint8Array) =>
    ok('transport.seal', { sendKey: key, epoch: 0, counter, plaintext: hex(plaintext) }).packet as string;
  const confirm = seq(i2r, 0, encodeInnerConfirm());
  const data = seq(
    i2r,
    1,
    encodeInnerPayload({ type: 5, id: DATA_ID, stream: STREAM, seq: 0, enc: 'text', body: utf8('hello bob') }),
  );
  const ack = seq(r2i, 0, encodeInnerPayload({ type: 6, stream: STREAM, upTo: 0 }));
  const openT = (key: string, packet: string, before: string[] = []) => ({
    receiveKey: key,
    before,
    packet,
    decode: 'inner',
  });
  add(
    'alice',
    'bob',
    set.ok('05-confirm', 'transport.open', 'CONFIRM: Bob treats the session as live', openT(i2r, confirm)),
    deliverFrame(1, alice.publicKey, confirm),
  );
  add(
    'alice',
    'bob',
    set.ok(
      '06-data',
      'transport.open',
      'DATA "hello bob", stream sequence 0: Bob delivers it once',
      openT(i2r, data, [confirm]),
    ),
    deliverFrame(1, alice.publicKey, data),
  );
  add(
    'bob',
    'alice',
    set.ok('07-ack', 'transport.open', 'ACK upTo 0: Alice marks the message delivered end to end', openT(r2i, ack)),
    deliverFrame(1, bob.publicKey, ack),
  );
  add(
    'alice',
    'bob',
    set.error(
      '08-data-replayed',
      'transport.open',
      'the relay replays the DATA packet: refused (and not delivered again)',
      openT(i2r, data, [confirm, data]),
      'PROTO_ERR_SESSION_REPLAY',
    ),
  );
  add(
    'bob',
    'alice',
    set.error(
      '09-ack-tampered',
      'transport.open',
      'the ACK with one tag bit flipped: refused',
      openT(r2i, hex(flip(hexIn({ a: ack }, 'a'), -1))),
      'PROTO_ERR_DECRYPT_FAILED',
    ),
  );
  add(
    'alice',
    'bob',
    set.error(
      '10-consent-replayed',
      'envelope.open',
      "the relay replays Alice's consent request: refused",
      openEnv(SEEDS.bob, request, 0, [request]),
      'PROTO_ERR_REPLAY',
    ),
  );
  add(
    'alice',
    'bob',
    set.ok(
      '11-revoke',
      'envelope.open',
      'Alice revokes (envelope v1 type 7): Bob forgets trust and closes the session',
      openEnv(SEEDS.bob, revoke, 6, [request]),
    ),
    deliverFrame(1, alice.publicKey, revoke),
  );
  return serialize({
    source: SOURCE('transcript "consent → data → ack → revoke"'),
    version: 1,
    name: 'consent-data-ack-revoke',
    description:
      'Alice and Bob, strangers, consent over envelopes v1; Alice opens a v2 session, confirms it and sends one text message over TRANSPORT; Bob acks it; a replayed DATA, a tampered ACK and a replayed consent request are refused; Alice revokes. Envelope clocks: each receiver opens 250 ms after the timestamp.',
    parties: partiesJson(),
    steps,
  });
}

/** A PREKEY message accepted once from the mailbox, across a restart of the receiver, and its replay refused. */
function mailboxTranscript(ids: Set<string>): string {
  const set = new VectorSet('transcript/mailbox-restart', ids, clientHooks);
  const steps: Step[] = [];
  const add = (from: string, to: string, v: ReturnType<VectorSet['ok']>, deliver?: string) =>
    steps.push({ step: steps.length + 1, from, to, ...(deliver ? { deliver } : {}), ...v });
  const bundle = goldenBundle();
  const bundleInput = goldenBundleInput();
  const publish = toHex(encodeFrame({ type: FrameType.PREKEY_PUBLISH, frameId: 1, bundle: fromHex(bundle)! }));
  const fetched = toHex(
    encodeFrame({ type: FrameType.PREKEY_BUNDLE, frameId: 9, key: bob.publicKey, bundle: fromHex(bundle)! }),
  );
  add(
    'bob',
    'server',
    set.ok(
      '01-publish',
      'frame.decode',
      `Bob publishes his bundle (id ${bundleInput.bundleId}) on connect: PREKEY_PUBLISH`,
      { frame: publish, direction: 'C→S' },
    ),
  );
  add(
    'server',
    'alice',
    set.ok('02-fetch', 'frame.decode', 'Bob is offline; Alice fetched his bundle: PREKEY_BUNDLE', {
      frame: fetched,
      direction: 'S→C',
    }),
  );
  const sealedAt = prekeySealInput(0, new Uint8Array(0)).now as number;
  add(
    'server',
    'alice',
    set.ok('03-verify', 'prekey.verify', "Alice checks the bundle: Bob's, signed, valid now", {
      bundle,
      now: sealedAt,
      expectedIdentity: hex(bob.publicKey),
    }),
  );
  const idOf = (i: number) => `5a${i.toString(16).padStart(2, '0')}${'0'.repeat(28)}`;
  const packet = (sequence: number, q: number, text: string) =>
    ok(
      'prekey.seal',
      prekeySealInput(
        sequence,
        encodeInnerPayload({ type: 5, id: idOf(q), stream: STREAM, seq: q, enc: 'text', body: utf8(text) }),
        fromHex(idOf(q))!,
      ),
    ).packet as string;
  const p0 = packet(0, 0, 'you were offline');
  const p1 = packet(1, 1, 'still offline?');
  const open = (p: string, before: string[], restart: boolean, extra: Record<string, unknown> = {}) => ({
    recipientSeed: hex(SEEDS.bob),
    prekeys: heldGolden(),
    packet: p,
    before,
    ...(restart ? { restart: true } : {}),
    decode: 'inner',
    ...extra,
  });
  add(
    'alice',
    'bob',
    set.ok(
      '04-first-copy',
      'prekey.open',
      'PREKEY sequence 0 (DATA q 0; the message id is the DATA id), mailboxed (ACK QUEUED) and delivered when Bob connects: accepted, delivered',
      open(p0, [], false),
    ),
    deliverFrame(1, alice.publicKey, p0),
  );
  add(
    'alice',
    'bob',
    set.ok(
      '05-after-restart',
      'prekey.open',
      'Bob restarts (replay state persisted and reloaded); PREKEY sequence 1 from the mailbox: accepted',
      open(p1, [p0], true),
    ),
    deliverFrame(1, alice.publicKey, p1),
  );
  add(
    'alice',
    'bob',
    set.error(
      '06-replay-after-restart',
      'prekey.open',
      'the mailbox (or an attacker) delivers sequence 0 again after another restart: refused',
      open(p0, [p0, p1], true),
      'PROTO_ERR_PREKEY_REPLAY',
    ),
    deliverFrame(1, alice.publicKey, p0),
  );
  add(
    'alice',
    'bob',
    set.error(
      '07-bundle-erased',
      'prekey.open',
      `a copy delivered after Bob erased bundle ${bundleInput.bundleId}'s secrets (rotated out): refused; the sender resends under a session`,
      open(packet(2, 2, 'late'), [p0, p1], true, { prekeys: [] }),
      'PROTO_ERR_PREKEY_UNKNOWN',
    ),
  );
  return serialize({
    source: SOURCE('transcript "mailbox after restart"'),
    version: 1,
    name: 'mailbox-restart',
    description:
      "Bob publishes a prekey bundle and goes offline; Alice seals DATA to it (PREKEY packets, RELAY → mailbox); Bob restarts between deliveries: each copy is accepted exactly once, a replay after the restart is refused, and a copy for an erased bundle is refused. Bob's replay state is the only thing that survives a restart (`restart: true`).",
    parties: partiesJson(),
    steps,
  });
}

/** Every client-layer file, name (under conformance/) → exact bytes. */
export function buildClientConformance(): Map<string, string> {
  const ids = new Set<string>();
  const out = new Map<string, string>();
  out.set(
    'payloads.json',
    vectorFile(
      SOURCE('application payloads (payload.decode) and session inner payloads (inner.decode)'),
      payloads(ids).vectors,
    ),
  );
  out.set(
    'layered.json',
    vectorFile(
      SOURCE('packets opened down to their payload (envelope.open, transport.open, prekey.open with decode)'),
      layered(ids).vectors,
    ),
  );
  out.set(
    'direct.json',
    vectorFile(SOURCE("the direct link's handshake (direct.decode, direct.prove, direct.verify)"), direct(ids).vectors),
  );
  out.set('files.json', vectorFile(SOURCE('file-transfer messages (file.decode)'), files(ids).vectors));
  out.set('transcripts/consent-data-ack-revoke.json', consentTranscript(ids));
  out.set('transcripts/mailbox-restart.json', mailboxTranscript(ids));
  return out;
}

if (isMain(import.meta.url)) {
  const files = buildClientConformance();
  writeFiles(files);
  console.log(`wrote ${[...files.keys()].join(', ')}`);
}
