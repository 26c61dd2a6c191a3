/**
 * The handshake's hot-path frames (issue 18): the CHALLENGE built from a per-origin template is
 * byte for byte the generic encoder's, and WELCOME advertises the peer-packet versions relayed.
 */
import {
  decodeFrame,
  encodeFrame,
  FRAME_PROTOCOL_VERSION,
  FrameType,
  MAX_ORIGIN_BYTES,
  PEER_PACKET_VERSIONS,
} from '@p2p-comm/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../src/app.js';
import { challengeFrame, newChallenge } from '../src/challenge.js';
import { startApp, TestClient } from './helpers.js';

describe('challengeFrame', () => {
  const origins = [
    '127.0.0.1:8080',
    'localhost',
    '[::1]:443',
    'rendezvous.example.org:9443',
    'bücher.example:1', // non-ASCII: length is in UTF-8 bytes, not characters
    'a'.repeat(MAX_ORIGIN_BYTES),
    '',
  ];
  const times = [0, 1, 0xffff_ffff, 0x1_0000_0000, Date.now(), Number.MAX_SAFE_INTEGER];

  it('gives the bytes encodeFrame gives, for every origin and time', () => {
    for (const origin of origins)
      for (const serverTime of times) {
        const challenge = newChallenge();
        const fast = challengeFrame(challenge, serverTime, origin);
        const generic = encodeFrame({
          type: FrameType.CHALLENGE,
          version: FRAME_PROTOCOL_VERSION,
          challenge,
          serverTime,
          origin,
        });
        expect(Buffer.from(fast).equals(Buffer.from(generic)), `${origin} @ ${serverTime}`).toBe(true);
        const back = decodeFrame(fast);
        if (back.type !== FrameType.CHALLENGE) throw new Error('not a CHALLENGE');
        expect({ ...back, challenge: Buffer.from(back.challenge).toString('hex') }).toEqual({
          type: FrameType.CHALLENGE,
          version: FRAME_PROTOCOL_VERSION,
          challenge: challenge.toString('hex'),
          serverTime,
          origin,
        });
      }
  });

  it('returns a fresh buffer each time (the template is never handed out)', () => {
    const a = challengeFrame(newChallenge(), 5, 'x:1');
    const b = challengeFrame(newChallenge(), 6, 'x:1');
    expect(a.equals(b)).toBe(false);
    a.fill(0);
    expect(decodeFrame(challengeFrame(newChallenge(), 7, 'x:1'))).toMatchObject({ origin: 'x:1', serverTime: 7 });
  });

  it('refuses what encodeFrame refuses: a short challenge, a time beyond 2^53, an oversized origin', () => {
    expect(() => challengeFrame(new Uint8Array(31), 0, 'x')).toThrow(RangeError);
    expect(() => challengeFrame(newChallenge(), Number.MAX_SAFE_INTEGER + 2, 'x')).toThrow(RangeError);
    expect(() => challengeFrame(newChallenge(), -1, 'x')).toThrow(RangeError);
    expect(() => challengeFrame(newChallenge(), 1.5, 'x')).toThrow(RangeError);
    expect(() => challengeFrame(newChallenge(), 0, 'a'.repeat(MAX_ORIGIN_BYTES + 1))).toThrow(RangeError);
  });
});

describe('WELCOME', () => {
  let app: RendezvousApp | null = null;
  afterAll(async () => {
    await app?.close();
  });

  it('advertises the peer-packet versions the server relays, and the CHALLENGE names our origin', async () => {
    const started = await startApp();
    app = started.app;
    const c = await TestClient.connect(started.url);
    expect(c.challenge?.origin).toBe(`127.0.0.1:${started.port}`);
    expect(c.welcome?.peerPacketVersions).toEqual([...PEER_PACKET_VERSIONS]);
    expect(c.welcome?.peerPacketVersions).toEqual([1, 2]);
    c.ws.close();
  });
});
