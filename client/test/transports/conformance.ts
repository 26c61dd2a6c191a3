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
  readonly idA: Identity;
  kill(): void;
  dispose(): Promise<void>;
}

export interface PathHarness {
  readonly kind: PathKind;
  pair(): Promise<LinkPair>;
  mortalPair(): Promise<MortalPair>;
  /** How long after the peer dies the link must report closed, ms. */
  readonly deathDetectMs: number;
  /**
   * 'pipe' (direct, WebRTC): a private pipe to the peer; close and death reach the other end and
   * any bytes pass. 'relay': one shared server connection carries every peer's link, so closing
   * a peer's link is local, a dead peer leaves it open (the server holds or refuses what follows),
   * and the server forwards only envelopes whose sender is the authenticated key.
   */
  readonly semantics?: 'pipe' | 'relay';
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
  const relay = h.semantics === 'relay';
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
      if (!relay)
        expect(() => a.send(new Uint8Array(MAX_ENVELOPE_BYTES + 1))).toThrow(
          expect.objectContaining({ code: 'CLIENT_ERR_PATH_TOO_LARGE' }),
        );
      else a.send(new Uint8Array(MAX_ENVELOPE_BYTES + 1)); // the server refuses it; the link survives
      expect(a.isOpen).toBe(true);
      const after = collect(b, 1);
      a.send(big);
      expect(bytesEqual((await after)[0]!, big)).toBe(true);
    });

    it('closes: both ends learn it once, sends then fail with CLIENT_ERR_LINK_CLOSED', async () => {
      const { a, b } = await pair();
      const reasons: string[] = [];
      a.onClose((r) => reasons.push(r));
      const bClosed = relay ? Promise.resolve(`${h.kind}: local close`) : closed(b, 10_000);
      a.close('test: done');
      a.close('again');
      expect(reasons).toEqual(['test: done']);
      expect(a.isOpen).toBe(false);
      expect(() => a.send(new Uint8Array(200))).toThrow(expect.objectContaining({ code: 'CLIENT_ERR_LINK_CLOSED' }));
      const reason = await bClosed;
      expect(reason).toMatch(new RegExp(`^${h.kind}: `));
      if (relay) {
        // Closing one peer's relay link is local: the shared connection and the peer's side stay.
        expect(b.isOpen).toBe(true);
      } else {
        expect(b.isOpen).toBe(false);
        expect(() => b.send(new Uint8Array(200))).toThrow(expect.objectContaining({ code: 'CLIENT_ERR_LINK_CLOSED' }));
      }
      // A handler registered after the close still hears about it (the relay Link does not
      // promise this; the path manager never registers on a closed link).
      if (!relay) await expect(closed(a, 1_000)).resolves.toBe('test: done');
    });

    it('reports a peer that dies without closing (SIGKILL)', { timeout: 60_000 }, async () => {
      const m = await h.mortalPair();
      disposers.push(() => m.dispose());
      const echo = collect(m.a, 1);
      const probe = relay
        ? sealEnvelope(nodeSuite, {
            type: EnvelopeType.DATA,
            sender: m.idA,
            recipient: m.a.remoteKey,
            plaintext: new Uint8Array(300).fill(1),
          })
        : new Uint8Array(300).fill(1);
      m.a.send(probe);
      const back = (await echo)[0]!;
      if (relay) {
        const opened = openEnvelope(nodeSuite, back, { recipient: m.idA, replayGuard: new ReplayGuard() });
        expect(opened.plaintext).toEqual(new Uint8Array(300).fill(1));
      } else expect(bytesEqual(back, probe)).toBe(true);
      if (relay) {
        // A dead peer does not close the shared relay: the link stays usable, the server holds
        // or refuses what follows, and the session's end-to-end acks notice the silence.
        m.kill();
        await new Promise((r) => setTimeout(r, 500));
        expect(m.a.isOpen).toBe(true);
        expect(() => m.a.send(probe)).not.toThrow();
        return;
      }
      const gone = closed(m.a, h.deathDetectMs);
      m.kill();
      const reason = await gone;
      expect(reason).toMatch(new RegExp(`^${h.kind}: `));
      expect(m.a.isOpen).toBe(false);
    });

    it('passes arbitrary bytes through untouched (the session layer judges them) and stays usable', async () => {
      const { a, b, idA, idB } = await pair();
      if (relay) {
        // The server forwards only envelopes from the authenticated key: garbage never arrives,
        // and a valid envelope right after it still does.
        const got: Uint8Array[] = [];
        b.onEnvelope((e) => got.push(e));
        for (const junk of [Uint8Array.of(0), crypto.getRandomValues(new Uint8Array(1000))]) a.send(junk);
        const good = seal(idA, idB, new TextEncoder().encode('after junk'));
        a.send(good);
        const deadline = Date.now() + 5_000;
        while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200));
        expect(got).toHaveLength(1);
        expect(bytesEqual(got[0]!, good)).toBe(true);
        expect(a.isOpen && b.isOpen).toBe(true);
        return;
      }
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
