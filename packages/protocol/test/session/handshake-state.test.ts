/** The Noise state machine refuses misuse with typed errors and wipes its secrets when it ends. */
import { describe, expect, it } from 'vitest';
import { isProtocolError, type ProtocolErrorCode } from '../../src/errors.js';
import { HandshakeState } from '../../src/session/handshake-state.js';
import { parseProtocolName, resolvePattern } from '../../src/session/noise-patterns.js';
import { scriptedRandom } from '../../src/session/random.js';

function codeOf(fn: () => unknown): ProtocolErrorCode | 'no error' | 'not a ProtocolError' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return isProtocolError(err) ? err.code : 'not a ProtocolError';
  }
}

const nn = (initiator: boolean) => new HandshakeState({ protocolName: 'Noise_NN_25519_ChaChaPoly_SHA256', initiator });

describe('HandshakeState', () => {
  it('refuses out-of-turn writes and reads, and result() before the end', () => {
    const i = nn(true);
    const r = nn(false);
    expect(codeOf(() => r.writeMessage())).toBe('PROTO_ERR_HANDSHAKE_STATE');
    expect(codeOf(() => i.readMessage(new Uint8Array(48)))).toBe('PROTO_ERR_HANDSHAKE_STATE');
    expect(codeOf(() => i.result())).toBe('PROTO_ERR_HANDSHAKE_STATE');
    r.readMessage(i.writeMessage());
    i.readMessage(r.writeMessage());
    expect(i.isFinished && r.isFinished).toBe(true);
    expect(codeOf(() => i.writeMessage())).toBe('PROTO_ERR_HANDSHAKE_STATE');
    expect(codeOf(() => r.readMessage(new Uint8Array(32)))).toBe('PROTO_ERR_HANDSHAKE_STATE');
  });

  it('a failed read kills the state (no retry against the same transcript)', () => {
    const i = nn(true);
    const r = nn(false);
    r.readMessage(i.writeMessage());
    const m2 = r.writeMessage();
    const bad = Uint8Array.from(m2);
    bad[bad.length - 1]! ^= 1;
    expect(codeOf(() => i.readMessage(bad))).toBe('PROTO_ERR_DECRYPT_FAILED');
    expect(codeOf(() => i.readMessage(m2))).toBe('PROTO_ERR_HANDSHAKE_STATE');
  });

  it('a low-order ephemeral key is PROTO_ERR_WEAK_KEY', () => {
    const r = nn(false);
    r.readMessage(new Uint8Array(32)); // e = 0: a low-order point, and NN message 1 has no tag
    expect(codeOf(() => r.writeMessage())).toBe('PROTO_ERR_WEAK_KEY');
  });

  it('wipes its ephemeral secret when finished', () => {
    const secret = new Uint8Array(32).fill(0x42);
    const i = new HandshakeState({
      protocolName: 'Noise_NN_25519_ChaChaPoly_SHA256',
      initiator: true,
      random: () => secret,
    });
    const r = nn(false);
    r.readMessage(i.writeMessage());
    expect(secret.every((b) => b === 0x42)).toBe(true);
    i.readMessage(r.writeMessage());
    expect(secret.every((b) => b === 0)).toBe(true);
  });

  it('names: psk modifiers, hfs needs a KEM, unsupported parts are refused', () => {
    expect(resolvePattern('IKpsk0+psk2').messages).toEqual([
      ['psk', 'e', 'es', 's', 'ss'],
      ['e', 'ee', 'se', 'psk'],
    ]);
    expect(parseProtocolName('Noise_IKhfs_25519+MLKEM768_ChaChaPoly_SHA256').kem).toBe('MLKEM768');
    for (const bad of [
      'Noise_IKhfs_25519_ChaChaPoly_SHA256',
      'Noise_IK_25519+MLKEM768_ChaChaPoly_SHA256',
      'Noise_IK_448_ChaChaPoly_SHA256',
      'Noise_IK_25519_AESGCM_SHA256',
      'Noise_IK_25519_ChaChaPoly_BLAKE2s',
      'Noise_QQ_25519_ChaChaPoly_SHA256',
      'Noise_NNpsk3_25519_ChaChaPoly_SHA256',
    ])
      expect(
        codeOf(() => parseProtocolName(bad)),
        bad,
      ).toBe('PROTO_ERR_INVALID_ARGUMENT');
    expect(
      codeOf(() => new HandshakeState({ protocolName: 'Noise_IK_25519_ChaChaPoly_SHA256', initiator: true })),
    ).toBe('PROTO_ERR_INVALID_ARGUMENT');
    expect(
      codeOf(
        () =>
          new HandshakeState({
            protocolName: 'Noise_NNpsk0_25519_ChaChaPoly_SHA256',
            initiator: true,
            random: scriptedRandom([]),
          }),
      ),
    ).toBe('PROTO_ERR_INVALID_ARGUMENT');
  });
});
