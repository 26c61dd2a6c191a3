/**
 * Published Noise test vectors (test/vectors/noise.json: cacophony and snow, cited there),
 * replayed byte for byte: every handshake message, the handshake hash when given, and every
 * transport message after the split, in both directions.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/bytes.js';
import { nodeSuite } from '../../src/crypto/node.js';
import { portableSuite } from '../../src/crypto/portable.js';
import type { CryptoSuite } from '../../src/crypto/suite.js';
import { HandshakeState } from '../../src/session/handshake-state.js';
import { parseProtocolName } from '../../src/session/noise-patterns.js';
import { scriptedRandom } from '../../src/session/random.js';
import { dhKeyPairFromSecret } from '../../src/session/x25519-dh.js';

interface NoiseVector {
  file: string;
  protocol_name: string;
  init_prologue: string;
  init_psks?: string[];
  init_static?: string;
  init_ephemeral: string;
  init_remote_static?: string;
  resp_prologue: string;
  resp_psks?: string[];
  resp_static?: string;
  resp_ephemeral: string;
  resp_remote_static?: string;
  handshake_hash?: string;
  messages: { payload: string; ciphertext: string }[];
}

const file = JSON.parse(readFileSync(new URL('../vectors/noise.json', import.meta.url), 'utf8')) as {
  source: string;
  vectors: NoiseVector[];
};
const hex = (s: string) => fromHex(s)!;
const opt = (s: string | undefined) => (s === undefined ? undefined : hex(s));

function party(v: NoiseVector, initiator: boolean, suite: CryptoSuite): HandshakeState {
  const pre = initiator ? 'init' : 'resp';
  const other = initiator ? 'resp' : 'init';
  const pattern = parseProtocolName(v.protocol_name).pattern;
  // Pre-message static keys: the vector gives the remote's public key, or its secret (cacophony
  // sometimes lists only `resp_static`); derive the public key when only the secret is there.
  const preOfOther = initiator ? pattern.responderPre : pattern.initiatorPre;
  let remote = opt(v[`${pre}_remote_static` as keyof NoiseVector] as string | undefined);
  if (!remote && preOfOther.includes('s'))
    remote = dhKeyPairFromSecret(hex(v[`${other}_static` as keyof NoiseVector] as string), suite).publicKey;
  return new HandshakeState({
    protocolName: v.protocol_name,
    initiator,
    prologue: hex(v[`${pre}_prologue`]),
    staticSecretKey: opt(v[`${pre}_static` as keyof NoiseVector] as string | undefined),
    remoteStaticKey: remote,
    psks: ((v[`${pre}_psks` as keyof NoiseVector] as string[] | undefined) ?? []).map(hex),
    random: scriptedRandom([hex(v[`${pre}_ephemeral`])]),
    suite,
  });
}

describe('Noise test vectors (cacophony, snow)', () => {
  it('the subset covers IK and XX with SHA256 and BLAKE2b, and psk variants', () => {
    const names = file.vectors.map((v) => v.protocol_name);
    for (const n of [
      'Noise_IK_25519_ChaChaPoly_SHA256',
      'Noise_XX_25519_ChaChaPoly_SHA256',
      'Noise_IK_25519_ChaChaPoly_BLAKE2b',
      'Noise_XX_25519_ChaChaPoly_BLAKE2b',
      'Noise_IKpsk2_25519_ChaChaPoly_SHA256',
    ])
      expect(names).toContain(n);
    expect(file.source).toContain('cacophony');
  });

  // Every vector with X25519 from each suite: OpenSSL (Node) and @noble (browsers) must agree.
  for (const suite of [nodeSuite, portableSuite])
    for (const v of file.vectors) {
      it(`${v.protocol_name} (${v.file}), X25519 from ${suite.name}`, () => {
        const init = party(v, true, suite);
        const resp = party(v, false, suite);
        const handshakeLength = parseProtocolName(v.protocol_name).pattern.messages.length;
        let i = 0;
        for (; i < handshakeLength; i++) {
          const [writer, reader] = i % 2 === 0 ? [init, resp] : [resp, init];
          const msg = v.messages[i]!;
          const sent = writer.writeMessage(hex(msg.payload));
          expect(toHex(sent), `handshake message ${i}`).toBe(msg.ciphertext);
          expect(toHex(reader.readMessage(sent)), `payload ${i}`).toBe(msg.payload);
        }
        const a = init.result();
        const b = resp.result();
        expect(toHex(a.handshakeHash)).toBe(toHex(b.handshakeHash));
        if (v.handshake_hash) expect(toHex(a.handshakeHash)).toBe(v.handshake_hash);
        // Transport messages keep alternating senders (two-way patterns).
        for (; i < v.messages.length; i++) {
          const msg = v.messages[i]!;
          const fromInitiator = i % 2 === 0;
          const [send, recv] = fromInitiator
            ? [a.initiatorToResponder, b.initiatorToResponder]
            : [b.responderToInitiator, a.responderToInitiator];
          const sent = send.encryptWithAd(new Uint8Array(0), hex(msg.payload));
          expect(toHex(sent), `transport message ${i}`).toBe(msg.ciphertext);
          expect(toHex(recv.decryptWithAd(new Uint8Array(0), sent))).toBe(msg.payload);
        }
      });
    }
});
