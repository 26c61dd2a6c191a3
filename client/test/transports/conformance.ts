/**
 * The one conformance suite every path (direct, WebRTC, relay) passes: connect, send both
 * ways, large message, close, peer dies, bad bytes. A path's test file supplies a harness
 * that builds real, connected Link pairs on loopback.
 */
import {
  bytesEqual,
  EnvelopeType,
  type Identity,
  MAX_ENVELOPE_BYTES,
  MAX_PLAINTEXT_BYTES,
  openEnvelope,
  ReplayGuard,
  sealEnvelope,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Link, PathKind } from '../../src/transports/link.js';

export interface LinkPair {
  readonly a: Link;
  readonly b: Link;
  readonly idA: Identity;
  readonly idB: Identity;
  /** Release everything the pair holds (servers, peers). */
  dispose(): Promise<void>;
}

export interface MortalPair {
  /** Our side; the other end lives in a child process that echoes envelopes. */
  readonly a: Link;
  kill(): void;
  dispose(): Promise<void>;
}

export interface PathHarness {
  readonly kind: PathKind;
  pair(): Promise<LinkPair>;
  mortalPair(): Promise<MortalPair>;
  /** How long after the peer dies the link must report closed, ms. */
  readonly deathDetectMs: number;
}

/** Collect envelopes from a link until `count` arrived (or time out). */
export function collect(link: Link, count: number, timeoutMs = 15_000): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.length}/${count} envelopes`)), timeoutMs);
    link.onEnvelope((e) => {
      got.push(e);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

export function closed(link: Link, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`link still open after ${timeoutMs} ms`)), timeoutMs);
    link.onClose((reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

function seal(from: Identity, to: Identity, plaintext: Uint8Array): Uint8Array {
  return sealEnvelope(nodeSuite, { type: EnvelopeType.DATA, sender: from, recipient: to.publicKey, plaintext });
}

export function runLinkConformance(h: PathHarness): void {
  describe(`${h.kind} link conformance`, () => {
    const disposers: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const d of disposers.splice(0)) await d();
    });
    const pair = async () => {
      const p = await h.pair();
      disposers.push(() => p.dispose());
      return p;
    };

    it('connects with proven keys on both ends', async () => {
      const { a, b, idA, idB } = await pair();
      expect(a.kind).toBe(h.kind);
      expect(b.kind).toBe(h.kind);
      expect(a.isOpen && b.isOpen).toBe(true);
      expect(bytesEqual(a.remoteKey, idB.publicKey)).toBe(true);
      expect(bytesEqual(b.remoteKey, idA.publicKey)).toBe(true);
    });

    it('sends both ways, in order, bytes unchanged', async () => {
      const { a, b, idA, idB } = await pair();
      const n = 100;
      const toB = Array.from({ length: n }, (_, i) => seal(idA, idB, new TextEncoder().encode(`a→b ${i}`)));
      const toA = Array.from({ length: n }, (_, i) => seal(idB, idA, new TextEncoder().encode(`b→a ${i}`)));
      const atB = collect(b, n);
      const atA = collect(a, n);
      for (let i = 0; i < n; i++) {
        a.send(toB[i]!);
        b.send(toA[i]!);
      }
      const [gotB, gotA] = await Promise.all([atB, atA]);
      for (let i = 0; i < n; i++) {
        expect(bytesEqual(gotB[i]!, toB[i]!)).toBe(true);
        expect(bytesEqual(gotA[i]!, toA[i]!)).toBe(true);
      }
      // What arrives is still a valid envelope for its recipient.
      const opened = openEnvelope(nodeSuite, gotB[n - 1]!, { recipient: idB, replayGuard: new ReplayGuard() });
      expect(new TextDecoder().decode(opened.plaintext)).toBe(`a→b ${n - 1}`);
    });

    it('carries a max-size envelope both ways and refuses a larger one with a typed error', async () => {
      const { a, b, idA, idB } = await pair();
      const big = seal(idA, idB, new Uint8Array(MAX_PLAINTEXT_BYTES).fill(7));
      expect(big.length).toBe(MAX_ENVELOPE_BYTES);
      const back = seal(idB, idA, new Uint8Array(MAX_PLAINTEXT_BYTES).fill(9));
      const atB = collect(b, 3);
      const atA = collect(a, 3);
      for (let i = 0; i < 3; i++) {
        a.send(big);
        b.send(back);
      }
      const [gotB, gotA] = await Promise.all([atB, atA]);
      expect(gotB.every((e) => bytesEqual(e, big))).toBe(true);
      expect(gotA.every((e) => bytesEqual(e, back))).toBe(true);
      expect(() => a.send(new Uint8Array(MAX_ENVELOPE_BYTES + 1))).toThrow(
        expect.objectContaining({ code: 'CLIENT_ERR_PATH_TOO_LARGE' }),
      );
      expect(a.isOpen).toBe(true);
      const after = collect(b, 1);
      a.send(big);
      expect(bytesEqual((await after)[0]!, big)).toBe(true);
    });

    it('closes: both ends learn it once, sends then fail with CLIENT_ERR_LINK_CLOSED', async () => {
      const { a, b } = await pair();
      const reasons: string[] = [];
      a.onClose((r) => reasons.push(r));
      const bClosed = closed(b, 10_000);
      a.close('test: done');
      a.close('again');
      expect(reasons).toEqual(['test: done']);
      expect(a.isOpen).toBe(false);
      expect(() => a.send(new Uint8Array(200))).toThrow(expect.objectContaining({ code: 'CLIENT_ERR_LINK_CLOSED' }));
      const reason = await bClosed;
      expect(reason).toMatch(new RegExp(`^${h.kind}: `));
      expect(b.isOpen).toBe(false);
      expect(() => b.send(new Uint8Array(200))).toThrow(expect.objectContaining({ code: 'CLIENT_ERR_LINK_CLOSED' }));
      // A handler registered after the close still hears about it.
      await expect(closed(a, 1_000)).resolves.toBe('test: done');
    });

    it('reports a peer that dies without closing (SIGKILL)', { timeout: 60_000 }, async () => {
      const m = await h.mortalPair();
      disposers.push(() => m.dispose());
      const echo = collect(m.a, 1);
      const probe = new Uint8Array(300).fill(1);
      m.a.send(probe);
      expect(bytesEqual((await echo)[0]!, probe)).toBe(true);
      const gone = closed(m.a, h.deathDetectMs);
      m.kill();
      const reason = await gone;
      expect(reason).toMatch(new RegExp(`^${h.kind}: `));
      expect(m.a.isOpen).toBe(false);
    });

    it('passes arbitrary bytes through untouched (the session layer judges them) and stays usable', async () => {
      const { a, b } = await pair();
      const samples = [
        new Uint8Array(0),
        Uint8Array.of(0),
        Uint8Array.of(0xff, 0xfe),
        crypto.getRandomValues(new Uint8Array(1000)),
        crypto.getRandomValues(new Uint8Array(MAX_ENVELOPE_BYTES)),
      ];
      const atB = collect(b, samples.length);
      for (const s of samples) a.send(s);
      const got = await atB;
      samples.forEach((s, i) => {
        expect(bytesEqual(got[i]!, s)).toBe(true);
      });
      expect(a.isOpen && b.isOpen).toBe(true);
    });
  });
}
