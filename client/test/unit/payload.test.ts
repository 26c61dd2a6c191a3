import { EnvelopeType } from '@p2p-comm/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_BYTES } from '../../src/constants.js';
import { ClientError } from '../../src/errors.js';
import { decodePayload, encodePayload, type Payload } from '../../src/session/payload.js';

describe('peer payload codec', () => {
  it('round-trips every payload type', () => {
    const data: Payload = {
      type: EnvelopeType.DATA,
      id: 'ab'.repeat(16),
      stream: 'stream-abc_1',
      seq: 7,
      enc: 'text',
      body: new Uint8Array(Buffer.from('héllo')),
    };
    const cases: Payload[] = [
      { type: EnvelopeType.CONSENT_REQUEST, name: 'Alice' },
      { type: EnvelopeType.CONSENT_RESPONSE, accept: false, name: 'Bob' },
      data,
      { type: EnvelopeType.ACK, stream: 'stream-abc_1', upTo: 41 },
      { type: EnvelopeType.REVOKE },
    ];
    for (const p of cases) expect(decodePayload(p.type, encodePayload(p))).toEqual(p);
  });

  it('the largest message fits one envelope', () => {
    const p: Payload = {
      type: EnvelopeType.DATA,
      id: 'cd'.repeat(16),
      stream: 'x'.repeat(64),
      seq: Number.MAX_SAFE_INTEGER,
      enc: 'bytes',
      body: new Uint8Array(MAX_MESSAGE_BYTES),
    };
    expect(encodePayload(p).length).toBeLessThanOrEqual(60 * 1024);
    expect(() => encodePayload({ ...p, body: new Uint8Array(MAX_MESSAGE_BYTES + 1) })).toThrow(ClientError);
  });

  it('arbitrary bytes never throw anything but CLIENT_ERR_BAD_PAYLOAD', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 3, 5, 6, 7, 8, 42), fc.uint8Array({ maxLength: 300 }), (type, bytes) => {
        try {
          decodePayload(type, bytes);
        } catch (err) {
          expect(err).toBeInstanceOf(ClientError);
          expect((err as ClientError).code).toBe('CLIENT_ERR_BAD_PAYLOAD');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary JSON headers are validated, never trusted', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 5, 6, 7), fc.jsonValue(), (type, header) => {
        const h = Buffer.from(JSON.stringify(header));
        if (h.length > 2000) return;
        const bytes = new Uint8Array(2 + h.length);
        new DataView(bytes.buffer).setUint16(0, h.length);
        bytes.set(h, 2);
        try {
          const p = decodePayload(type, bytes);
          expect(p.type).toBe(type);
        } catch (err) {
          expect((err as ClientError).code).toBe('CLIENT_ERR_BAD_PAYLOAD');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('peer-supplied names are sanitised, not refused', () => {
    const enc = (name: unknown) => {
      const h = Buffer.from(JSON.stringify({ v: 1, name }));
      const b = new Uint8Array(2 + h.length);
      new DataView(b.buffer).setUint16(0, h.length);
      b.set(h, 2);
      return b;
    };
    // Control and invisible characters are dropped, the rest kept; long names are cut to 64 bytes.
    expect(decodePayload(EnvelopeType.CONSENT_REQUEST, enc('bad\u0000na\u202Eme\u200B'))).toEqual({
      type: 1,
      name: 'badname',
    });
    expect(decodePayload(EnvelopeType.CONSENT_REQUEST, enc(42))).toEqual({ type: 1, name: '' });
    expect(decodePayload(EnvelopeType.CONSENT_REQUEST, enc('x'.repeat(100)))).toEqual({
      type: 1,
      name: 'x'.repeat(64),
    });
    expect(decodePayload(EnvelopeType.CONSENT_REQUEST, enc('\u200B\u2066'))).toEqual({ type: 1, name: '' });
  });
});
