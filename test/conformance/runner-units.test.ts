/**
 * The conformance runner's parts that need no peer: the byte-level tampering (offsets of
 * docs/protocol.md), the script schema (every shipped script parses; bad ones are refused with
 * every problem named), the CLI's arguments and the vector comparison.
 */
import { describe, expect, it } from 'vitest';
import { parseArgs, SCRIPTS_DIR } from '../../conformance/runner/main.js';
import { loadScripts, parseScript, STEP_FIELDS } from '../../conformance/runner/script.js';
import {
  DATA_TRANSPORT_MIN_BYTES,
  flipSealed,
  packetMatches,
  peerPacketOf,
  setDeliverSender,
  setPacketVersion,
  unknownFrame,
} from '../../conformance/runner/tamper.js';
import { firstDifference } from '../../conformance/runner/vectors.js';

/** A DELIVER frame (type 0x12, channel 1, from[32]) around `packet`. */
function deliver(packet: Uint8Array): Uint8Array {
  const f = new Uint8Array(34 + packet.length);
  f[0] = 0x12;
  f[1] = 1;
  f.set(packet, 34);
  return f;
}

describe('tampering', () => {
  it('finds the peer packet in DELIVER, RELAY and RELAY_TTL frames and nothing in others', () => {
    const packet = Uint8Array.from([2, 3, 9, 9]);
    expect(peerPacketOf(deliver(packet))?.offset).toBe(34);
    const relay = new Uint8Array(37 + 4);
    relay[0] = 0x11;
    expect(peerPacketOf(relay)?.offset).toBe(37);
    const ttl = new Uint8Array(41 + 4);
    ttl[0] = 0x17;
    expect(peerPacketOf(ttl)?.offset).toBe(41);
    expect(peerPacketOf(Uint8Array.from([0x21, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeNull();
    expect(peerPacketOf(new Uint8Array(34).fill(0x12, 0, 1))).toBeNull(); // no packet after the header
  });

  it('matches data and consent packets by kind, and transport packets by size', () => {
    const envelope = (type: number) => Uint8Array.from([1, type, ...new Uint8Array(300)]);
    expect(packetMatches(envelope(5), 'data')).toBe(true);
    expect(packetMatches(envelope(6), 'data')).toBe(false); // an ack
    expect(packetMatches(envelope(1), 'consent')).toBe(true);
    expect(packetMatches(envelope(2), 'consent')).toBe(true);
    expect(packetMatches(envelope(5), 'consent')).toBe(false);
    const transport = (n: number) => Uint8Array.from([2, 3, ...new Uint8Array(n - 2)]);
    expect(packetMatches(transport(DATA_TRANSPORT_MIN_BYTES), 'data')).toBe(true);
    expect(packetMatches(transport(DATA_TRANSPORT_MIN_BYTES - 1), 'data')).toBe(false); // ack or bundle push
    expect(packetMatches(Uint8Array.from([2, 4, 0]), 'data')).toBe(true); // PREKEY
    expect(packetMatches(Uint8Array.from([2, 1, 0]), 'data')).toBe(false); // handshake
  });

  it('flips one bit of the ciphertext of an envelope and of the tag of a v2 packet; changes only the version byte', () => {
    const env = deliver(Uint8Array.from([1, 5, ...new Uint8Array(300)]));
    const flipped = flipSealed(env, peerPacketOf(env)!);
    const diff = [...flipped].flatMap((b, i) => (b !== env[i] ? [i] : []));
    expect(diff).toEqual([34 + 142]);
    const v2 = deliver(Uint8Array.from([2, 3, ...new Uint8Array(100)]));
    const f2 = flipSealed(v2, peerPacketOf(v2)!);
    expect([...f2].flatMap((b, i) => (b !== v2[i] ? [i] : []))).toEqual([v2.length - 1]);
    const ver = setPacketVersion(v2, peerPacketOf(v2)!);
    expect(ver[34]).toBe(3);
    expect([...ver].flatMap((b, i) => (b !== v2[i] ? [i] : []))).toEqual([34]);
    expect(v2[34]).toBe(2); // the original is untouched
    expect(unknownFrame()[0]).toBe(0x7e);
    const spoofed = setDeliverSender(v2, new Uint8Array(32).fill(7));
    expect([...spoofed.subarray(2, 34)]).toEqual(new Array(32).fill(7));
    expect([...spoofed.subarray(34)]).toEqual([...v2.subarray(34)]);
  });
});

describe('scripts', () => {
  it('every shipped script parses and uses only known steps', () => {
    const scripts = loadScripts(SCRIPTS_DIR);
    expect(scripts.map((s) => s.name)).toEqual([
      'consent-peer-asks',
      'consent-client-asks',
      'reconnect-mailbox',
      'tampered-to-peer',
      'tampered-from-peer',
      'vectors',
      'replay-later-and-spoofing',
      'replayed-consent',
    ]);
    for (const s of scripts) for (const st of s.steps) expect(Object.keys(STEP_FIELDS)).toContain(st.do);
  });

  it('refuses a bad script naming every problem', () => {
    const bad = JSON.stringify({
      name: 'Bad Name',
      steps: [
        { do: 'peer.fly' },
        { do: 'client.send', text: 'x' },
        { do: 'proxy.arm', dir: 'sideways', match: 'data', action: 'flipSealed' },
        { do: 'peer.message', label: 'never-sent' },
        { do: 'wait', ms: 10, extra: 1 },
        { do: 'peer.refused' },
      ],
    });
    let message = '';
    try {
      parseScript(bad, 'bad.json');
    } catch (err) {
      message = (err as Error).message;
    }
    for (const part of [
      '"name"',
      '"proves"',
      'unknown step "peer.fly"',
      '(client.send): "label" is required',
      'dir must be one of',
      'label "never-sent" is never sent',
      'field "extra"',
      '(peer.refused): "codes" is required',
    ])
      expect(message).toContain(part);
  });
});

describe('command line', () => {
  it('needs --peer, splits --only, refuses unknown arguments', () => {
    expect(parseArgs([])).toContain('--peer is required');
    expect(parseArgs(['--peer'])).toContain('--peer needs a value');
    expect(parseArgs(['--bogus'])).toContain('unknown argument');
    expect(parseArgs(['--peer', 'x', '--only', 'a,b', '--json'])).toEqual({
      peer: 'x',
      only: ['a', 'b'],
      json: true,
      list: false,
    });
  });
});

describe('vector comparison', () => {
  it('compares the keys a vector names, folding only hex case', () => {
    expect(firstDifference({ a: 'ABCD', b: [1, 2] }, { a: 'abcd', b: [1, 2], extra: 1 }, 'output')).toBeNull();
    expect(firstDifference({ key: 'AbC_x' }, { key: 'abc_x' }, 'output')).toContain('output.key');
    expect(firstDifference({ b: [1, 2] }, { b: [1] }, 'output')).toContain('output.b');
  });
});
