/**
 * PREKEY_PUBLISH / PREKEY_FETCH / PREKEY_BUNDLE frames: round trip with a real bundle, exact
 * sizes, and typed refusals of every malformed or oversized form (random bytes never throw
 * anything but a ProtocolError).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createPrekeyBundle,
  decodeFrame,
  encodeFrame,
  FrameType,
  PREKEY_BUNDLE_BYTES,
  PREKEY_BUNDLE_FRAME_HEADER_BYTES,
  PREKEY_FETCH_FRAME_BYTES,
  PREKEY_PUBLISH_FRAME_BYTES,
  ProtocolError,
} from '../src/index.js';
import { nodeSuite } from '../src/node.js';
import { bob } from './session/helpers.js';

const bundle = createPrekeyBundle(nodeSuite, { identity: bob, bundleId: 1, createdAt: 1_764_000_000_000 }).encoded;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ProtocolError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('prekey frames', () => {
  it('round-trip a real bundle with the documented sizes', () => {
    const publish = encodeFrame({ type: FrameType.PREKEY_PUBLISH, frameId: 5, bundle });
    expect(publish.length).toBe(PREKEY_PUBLISH_FRAME_BYTES);
    expect(publish[0]).toBe(0x15);
    expect(decodeFrame(publish)).toEqual({ type: FrameType.PREKEY_PUBLISH, frameId: 5, bundle });
    const fetch = encodeFrame({ type: FrameType.PREKEY_FETCH, frameId: 6, key: bob.publicKey });
    expect(fetch.length).toBe(PREKEY_FETCH_FRAME_BYTES);
    expect(fetch[0]).toBe(0x16);
    expect(decodeFrame(fetch)).toEqual({ type: FrameType.PREKEY_FETCH, frameId: 6, key: bob.publicKey });
    const held = encodeFrame({ type: FrameType.PREKEY_BUNDLE, frameId: 6, key: bob.publicKey, bundle });
    expect(held.length).toBe(PREKEY_BUNDLE_FRAME_HEADER_BYTES + PREKEY_BUNDLE_BYTES);
    expect(held[0]).toBe(0x24);
    expect(decodeFrame(held)).toEqual({ type: FrameType.PREKEY_BUNDLE, frameId: 6, key: bob.publicKey, bundle });
    const none = encodeFrame({
      type: FrameType.PREKEY_BUNDLE,
      frameId: 7,
      key: bob.publicKey,
      bundle: new Uint8Array(),
    });
    expect(none.length).toBe(PREKEY_BUNDLE_FRAME_HEADER_BYTES);
    const decoded = decodeFrame(none);
    expect(decoded.type === FrameType.PREKEY_BUNDLE && decoded.bundle.length).toBe(0);
  });

  it('refuses wrong bundle lengths, short keys and trailing bytes', () => {
    const publish = encodeFrame({ type: FrameType.PREKEY_PUBLISH, frameId: 5, bundle });
    expect(codeOf(() => decodeFrame(publish.subarray(0, publish.length - 1)))).toBe('PROTO_ERR_TRUNCATED');
    expect(codeOf(() => decodeFrame(Uint8Array.of(...publish, 0)))).toBe('PROTO_ERR_TRAILING_BYTES');
    expect(codeOf(() => decodeFrame(publish.subarray(0, 5)))).toBe('PROTO_ERR_TRUNCATED');
    const fetch = encodeFrame({ type: FrameType.PREKEY_FETCH, frameId: 6, key: bob.publicKey });
    expect(codeOf(() => decodeFrame(fetch.subarray(0, fetch.length - 1)))).toBe('PROTO_ERR_TRUNCATED');
    expect(codeOf(() => decodeFrame(Uint8Array.of(...fetch, 0)))).toBe('PROTO_ERR_TRAILING_BYTES');
    const held = encodeFrame({ type: FrameType.PREKEY_BUNDLE, frameId: 6, key: bob.publicKey, bundle });
    expect(codeOf(() => decodeFrame(held.subarray(0, held.length - 10)))).toBe('PROTO_ERR_TRUNCATED');
    expect(codeOf(() => decodeFrame(held.subarray(0, 20)))).toBe('PROTO_ERR_TRUNCATED');
    expect(codeOf(() => encodeFrame({ type: FrameType.PREKEY_PUBLISH, frameId: 1, bundle: bundle.subarray(1) }))).toBe(
      'PROTO_ERR_TRUNCATED',
    );
    expect(codeOf(() => encodeFrame({ type: FrameType.PREKEY_FETCH, frameId: 1, key: new Uint8Array(31) }))).toBe(
      'PROTO_ERR_INVALID_ARGUMENT',
    );
    expect(
      codeOf(() =>
        encodeFrame({ type: FrameType.PREKEY_BUNDLE, frameId: 1, key: bob.publicKey, bundle: new Uint8Array(2000) }),
      ),
    ).toBe('PROTO_ERR_TRAILING_BYTES');
  });

  it('random bodies after a prekey frame type: a frame or a ProtocolError, nothing else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0x15, 0x16, 0x24),
        fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ minLength: 1_330, maxLength: 1_380 })),
        (type, body) => {
          try {
            const f = decodeFrame(Uint8Array.of(type, ...body));
            expect(f.type).toBe(type);
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolError);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });
});
