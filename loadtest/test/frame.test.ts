import { describe, expect, it } from 'vitest';
import { LoadtestError } from '../src/errors.js';
import { buildClientFrame, Opcode, patchU32, ServerFrameParser } from '../src/ws/frame.js';

function unmask(frame: Buffer, payloadOffset: number): Buffer {
  const mask = frame.subarray(payloadOffset - 4, payloadOffset);
  const out = Buffer.from(frame.subarray(payloadOffset));
  for (let i = 0; i < out.length; i++) out[i]! ^= mask[i & 3]!;
  return out;
}

function serverFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, len]) : Buffer.alloc(len < 65536 ? 4 : 10);
  if (len >= 126 && len < 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(len, 2);
  } else if (len >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([head, payload]);
}

describe('client frames', () => {
  it.each([0, 1, 125, 126, 1000, 65535, 65536, 70000])('masks a %i-byte payload reversibly', (n) => {
    const payload = Buffer.alloc(n, 0xab);
    const mask = Buffer.from([1, 2, 3, 4]);
    const f = buildClientFrame(Opcode.BINARY, payload, mask);
    expect(f.bytes[0]).toBe(0x82);
    expect(f.bytes[1]! & 0x80).toBe(0x80);
    expect(unmask(f.bytes, f.payloadOffset).equals(payload)).toBe(true);
  });

  it('patches a u32 in place under the mask', () => {
    const f = buildClientFrame(Opcode.BINARY, Buffer.alloc(9), Buffer.from([9, 8, 7, 6]));
    patchU32(f, 1, 0xdeadbeef);
    expect(unmask(f.bytes, f.payloadOffset).readUInt32BE(1)).toBe(0xdeadbeef);
  });
});

describe('ServerFrameParser', () => {
  it('reassembles frames split at every byte boundary', () => {
    const msgs = [Buffer.from('a'), Buffer.alloc(300, 7), Buffer.alloc(70_000, 9)];
    // Byte-by-byte on the small frames, coarser steps across the 64-bit-length one.
    for (const [step, count] of [
      [1, 2],
      [3, 2],
      [127, 3],
      [4096, 3],
    ] as const) {
      const part = Buffer.concat(msgs.slice(0, count).map((m) => serverFrame(Opcode.BINARY, m)));
      const got: Buffer[] = [];
      const p = new ServerFrameParser((_op, payload) => got.push(Buffer.from(payload)));
      for (let i = 0; i < part.length; i += step) p.push(part.subarray(i, i + step));
      expect(got.map((g) => g.length)).toEqual(msgs.slice(0, count).map((m) => m.length));
      if (count === 3) expect(got[2]!.equals(msgs[2]!)).toBe(true);
    }
  });

  it('rejects masked and fragmented server frames and oversized lengths', () => {
    const p = new ServerFrameParser(() => {});
    expect(() => p.push(Buffer.from([0x82, 0x81, 0, 0, 0, 0, 1]))).toThrow(LoadtestError);
    expect(() => new ServerFrameParser(() => {}).push(Buffer.from([0x02, 0x01, 0]))).toThrow(/fragmented/);
    const huge = Buffer.alloc(10);
    huge[0] = 0x82;
    huge[1] = 127;
    huge.writeBigUInt64BE(1n << 40n, 2);
    expect(() => new ServerFrameParser(() => {}).push(huge)).toThrow(/bytes/);
  });
});
