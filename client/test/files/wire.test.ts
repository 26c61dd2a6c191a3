import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClientError } from '../../src/errors.js';
import { FILE_MAX_CHUNK_BYTES, FILE_MAX_NOTE_BYTES } from '../../src/files/constants.js';
import {
  allocChunk,
  CHUNK_HEADER_BYTES,
  decodeTransferMessage,
  encodeTransferMessage,
  MAX_TRANSFER_MESSAGE_BYTES,
  type TransferMessage,
  TransferMessageType,
  TransferReason,
  type TransferReasonName,
} from '../../src/files/wire.js';

const id = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const reason = fc.constantFrom(...(Object.keys(TransferReason) as TransferReasonName[]));
const token = fc.stringMatching(/^[a-z0-9][a-z0-9.+-]{0,20}$/);
const utf8Within = (maxBytes: number, minLength = 0) =>
  fc
    .string({ unit: 'grapheme', minLength, maxLength: 40 })
    .filter((s) => Buffer.byteLength(s) <= maxBytes && s.length >= minLength);

const offer = fc.record({
  type: fc.constant(TransferMessageType.OFFER),
  id,
  size: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 40 })),
  chunkSize: fc.integer({ min: 1024, max: FILE_MAX_CHUNK_BYTES }),
  sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  name: utf8Within(255, 1),
  mediaType: fc.tuple(token, token).map(([a, b]) => `${a}/${b}`),
  note: utf8Within(FILE_MAX_NOTE_BYTES),
});
const message: fc.Arbitrary<TransferMessage> = fc.oneof(
  offer,
  fc.record({ type: fc.constant(TransferMessageType.ACCEPT), id }),
  fc.record({ type: fc.constant(TransferMessageType.DONE), id }),
  fc.record({ type: fc.constant(TransferMessageType.DECLINE), id, reason }),
  fc.record({ type: fc.constant(TransferMessageType.CANCEL), id, reason }),
  fc.record({ type: fc.constant(TransferMessageType.FAILED), id, reason }),
  fc.record({
    type: fc.constant(TransferMessageType.CHUNK),
    id,
    index: u32,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 3000 }),
  }),
  fc.tuple(id, u32, u32).map(([i, a, b]) => ({
    type: TransferMessageType.CREDIT,
    id: i,
    next: Math.min(a, b),
    limit: Math.max(a, b),
  })),
) as fc.Arbitrary<TransferMessage>;

/** Decoding must either succeed or throw CLIENT_ERR_FILE_BAD_MESSAGE, nothing else. */
function decodeOrCode(b: Uint8Array): string {
  try {
    decodeTransferMessage(b);
    return 'ok';
  } catch (err) {
    if (!(err instanceof ClientError)) throw err;
    return err.code;
  }
}

const normalise = (m: TransferMessage) =>
  Object.fromEntries(
    Object.entries(m).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v]),
  );

describe('file-transfer wire codec', () => {
  it('round-trips every message type', () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = encodeTransferMessage(m);
        expect(bytes.length).toBeLessThanOrEqual(MAX_TRANSFER_MESSAGE_BYTES);
        expect(normalise(decodeTransferMessage(bytes))).toEqual(normalise(m));
      }),
      { numRuns: 500 },
    );
  });

  it('every truncation of a valid message is CLIENT_ERR_FILE_BAD_MESSAGE (except a chunk cut inside its bytes)', () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, cut) => {
        const bytes = encodeTransferMessage(m);
        const len = cut % bytes.length;
        const code = decodeOrCode(bytes.subarray(0, len));
        // A CHUNK has no length field (the message's own length is it): a shorter chunk still
        // parses, and the recipient refuses it for not having its chunk's exact length.
        if (m.type === TransferMessageType.CHUNK && len > CHUNK_HEADER_BYTES) expect(code).toBe('ok');
        else expect(code).toBe('CLIENT_ERR_FILE_BAD_MESSAGE');
      }),
      { numRuns: 500 },
    );
  });

  it('trailing bytes are refused (except on a chunk, whose bytes run to the end)', () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ minLength: 1, maxLength: 8 }), (m, extra) => {
        fc.pre(m.type !== TransferMessageType.CHUNK);
        expect(decodeOrCode(Buffer.concat([encodeTransferMessage(m), extra]))).toBe('CLIENT_ERR_FILE_BAD_MESSAGE');
      }),
    );
  });

  it('random bytes parse or fail with the typed code only', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        expect(['ok', 'CLIENT_ERR_FILE_BAD_MESSAGE']).toContain(decodeOrCode(b));
      }),
      { numRuns: 2000 },
    );
    // Random bytes behind a valid version and type byte reach each field check.
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 }), fc.uint8Array({ maxLength: 400 }), (type, rest) => {
        expect(['ok', 'CLIENT_ERR_FILE_BAD_MESSAGE']).toContain(decodeOrCode(Buffer.from([1, type, ...rest])));
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses oversized messages, other versions, unknown types and reasons, and bad fields', () => {
    const bad = (b: Uint8Array) => expect(decodeOrCode(b)).toBe('CLIENT_ERR_FILE_BAD_MESSAGE');
    const idBytes = Buffer.alloc(16, 7);
    bad(Buffer.alloc(MAX_TRANSFER_MESSAGE_BYTES + 1, 1));
    bad(
      Buffer.concat([Buffer.from([1, TransferMessageType.CHUNK]), idBytes, Buffer.alloc(4 + FILE_MAX_CHUNK_BYTES + 1)]),
    );
    bad(Buffer.concat([Buffer.from([2, TransferMessageType.ACCEPT]), idBytes]));
    bad(Buffer.concat([Buffer.from([1, 0]), idBytes]));
    bad(Buffer.concat([Buffer.from([1, TransferMessageType.FAILED]), idBytes, Buffer.from([200])]));
    bad(Buffer.concat([Buffer.from([1, TransferMessageType.CHUNK]), idBytes, Buffer.alloc(4)])); // no bytes
    const credit = Buffer.concat([Buffer.from([1, TransferMessageType.CREDIT]), idBytes, Buffer.alloc(8)]);
    credit.writeUInt32BE(5, 18);
    credit.writeUInt32BE(4, 22);
    bad(credit); // limit below next
    const base = {
      type: TransferMessageType.OFFER,
      id: 'ab'.repeat(16),
      size: 10,
      chunkSize: 4096,
      sha256: new Uint8Array(32),
      name: 'a',
      mediaType: 'text/plain',
      note: '',
    } as const;
    const good = encodeTransferMessage(base);
    const withChunk = Buffer.from(good);
    withChunk.writeUInt32BE(512, 26); // chunk size under FILE_MIN_CHUNK_BYTES
    bad(withChunk);
    const huge = Buffer.from(good);
    huge.writeBigUInt64BE(2n ** 63n, 18);
    bad(huge);
    const badUtf8 = Buffer.from(good);
    badUtf8[18 + 8 + 4 + 32 + 1] = 0xff; // the name's only byte
    bad(badUtf8);
    const badMedia = encodeTransferMessage({ ...base, mediaType: 'text/plai' });
    badMedia[badMedia.length - 3] = 0x20; // a space inside the media type
    bad(badMedia);
  });

  it('refuses to encode out-of-range values (CLIENT_ERR_INVALID_ARGUMENT)', () => {
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (err) {
        return (err as ClientError).code;
      }
    };
    const id = 'cd'.repeat(16);
    expect(code(() => encodeTransferMessage({ type: TransferMessageType.ACCEPT, id: 'nothex' }))).toBe(
      'CLIENT_ERR_INVALID_ARGUMENT',
    );
    expect(code(() => encodeTransferMessage({ type: TransferMessageType.CREDIT, id, next: 2, limit: 1 }))).toBe(
      'CLIENT_ERR_INVALID_ARGUMENT',
    );
    expect(code(() => allocChunk(id, 0, FILE_MAX_CHUNK_BYTES + 1))).toBe('CLIENT_ERR_INVALID_ARGUMENT');
    expect(code(() => allocChunk(id, -1, 10))).toBe('CLIENT_ERR_INVALID_ARGUMENT');
    expect(
      code(() =>
        encodeTransferMessage({
          type: TransferMessageType.OFFER,
          id,
          size: 1,
          chunkSize: 4096,
          sha256: new Uint8Array(32),
          name: 'x'.repeat(256),
          mediaType: 'a/b',
          note: '',
        }),
      ),
    ).toBe('CLIENT_ERR_INVALID_ARGUMENT');
  });

  it('pins the byte layout of a CREDIT and a CHUNK (golden)', () => {
    const id = '00112233445566778899aabbccddeeff';
    expect(encodeTransferMessage({ type: TransferMessageType.CREDIT, id, next: 1, limit: 258 }).toString('hex')).toBe(
      `0105${id}0000000100000102`,
    );
    expect(
      encodeTransferMessage({ type: TransferMessageType.CHUNK, id, index: 3, bytes: Buffer.from('hi') }).toString(
        'hex',
      ),
    ).toBe(`0104${id}000000036869`);
    expect(
      encodeTransferMessage({ type: TransferMessageType.FAILED, id, reason: 'hash-mismatch' }).toString('hex'),
    ).toBe(`0108${id}04`);
  });
});
