import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DELIVERED_RUN_MAX,
  encodeDelivered,
  encodeKick,
  encodeMailHint,
  encodeReply,
  encodeRouteHeader,
  forEachRecord,
  RecordKind,
  ReplyResult,
  type RouteBatchRecord,
  routeEnvelope,
  routeFrom,
} from '../src/route-codec.js';

const key = (n: number) => Buffer.alloc(32, n);

describe('route codec', () => {
  it('round-trips a batch of every record kind', () => {
    const env = Buffer.from('envelope-bytes');
    const batch = Buffer.concat([
      encodeRouteHeader(7, 1, Buffer.from('inst-a'), key(1), 1, key(2), env.length),
      env,
      encodeReply(9, ReplyResult.ERROR, 'RDV_ERR_MAILBOX_FULL'),
      encodeKick(key(3), 1234567),
      encodeMailHint(key(4)),
    ]);
    const got: RouteBatchRecord[] = [];
    expect(forEachRecord(batch, (r) => got.push(r))).toBe(true);
    expect(got).toHaveLength(4);
    const r = got[0]!;
    expect(r.kind).toBe(RecordKind.ROUTE);
    if (r.kind === RecordKind.ROUTE) {
      expect([r.pendingId, r.hops, r.replyTo, r.channel]).toEqual([7, 1, 'inst-a', 1]);
      expect(r.toId).toBe(key(1).toString('latin1'));
      expect(routeFrom(r).equals(key(2))).toBe(true);
      expect(routeEnvelope(r).equals(env)).toBe(true);
      // The record carries a ready DELIVER frame: type, channel, from, envelope.
      expect([...r.deliver.subarray(0, 2)]).toEqual([0x12, 1]);
    }
    expect(got[1]).toEqual({
      kind: RecordKind.REPLY,
      pendingId: 9,
      result: ReplyResult.ERROR,
      code: 'RDV_ERR_MAILBOX_FULL',
    });
    expect(got[2]).toMatchObject({ kind: RecordKind.KICK, since: 1234567 });
    expect(got[3]).toMatchObject({ kind: RecordKind.MAIL });
  });

  it('carries a RELAY_TTL mailbox TTL in a ROUTE_TTL record (whole seconds, also past u32 ms), refusing ttlS 0', () => {
    const env = Buffer.from('envelope-bytes');
    const year = 365 * 24 * 3600 * 1000;
    for (const ttlMs of [0, 1000, year]) {
      const head = encodeRouteHeader(7, 1, Buffer.from('inst-a'), key(1), 1, key(2), env.length, ttlMs);
      expect(head[4]).toBe(ttlMs > 0 ? RecordKind.ROUTE_TTL : RecordKind.ROUTE);
      const got: RouteBatchRecord[] = [];
      expect(forEachRecord(Buffer.concat([head, env]), (r) => got.push(r))).toBe(true);
      const r = got[0]!;
      expect(r.kind).toBe(RecordKind.ROUTE);
      if (r.kind === RecordKind.ROUTE) {
        expect([r.ttlMs, r.pendingId, r.hops, r.replyTo, r.channel]).toEqual([ttlMs, 7, 1, 'inst-a', 1]);
        expect(routeEnvelope(r).equals(env)).toBe(true);
      }
    }
    const zero = Buffer.concat([encodeRouteHeader(7, 1, Buffer.from('a'), key(1), 1, key(2), env.length, 1000), env]);
    zero.writeUInt32BE(0, 5);
    expect(forEachRecord(zero, () => {})).toBe(false);
  });

  it('round-trips DELIVERED runs and refuses empty, ragged or zero-count ones', () => {
    const rec = encodeDelivered([7, 3, 0xffff_fff0, DELIVERED_RUN_MAX]);
    const got: RouteBatchRecord[] = [];
    expect(forEachRecord(rec, (r) => got.push(r))).toBe(true);
    const d = got[0]!;
    expect(d.kind).toBe(RecordKind.DELIVERED);
    if (d.kind === RecordKind.DELIVERED) {
      expect(d.runs.length).toBe(12);
      expect([d.runs.readUInt32BE(0), d.runs.readUInt16BE(4), d.runs.readUInt32BE(6), d.runs.readUInt16BE(10)]).toEqual(
        [7, 3, 0xffff_fff0, DELIVERED_RUN_MAX],
      );
    }
    expect(forEachRecord(encodeDelivered([]), () => {})).toBe(false);
    expect(forEachRecord(encodeDelivered([7, 0]), () => {})).toBe(false);
    const ragged = Buffer.concat([rec, Buffer.from([0])]);
    ragged.writeUInt32BE(rec.readUInt32BE(0) + 1, 0);
    expect(forEachRecord(ragged, () => {})).toBe(false);
  });

  it('never throws on arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        forEachRecord(Buffer.from(bytes), () => {});
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects truncated batches', () => {
    const whole = encodeKick(key(1), 5);
    for (let n = 1; n < whole.length; n++) expect(forEachRecord(whole.subarray(0, n), () => {})).toBe(false);
  });
});
