import { ProtocolError } from '../errors.js';

/**
 * Noise handshake patterns (rev. 34 §7.4, §7.5) plus the `hfs` hybrid-forward-secrecy
 * tokens `e1` (an ephemeral KEM public key) and `ekem1` (a KEM ciphertext to it), modelled on the
 * Noise HFS extension draft and PQNoise; docs/protocol.md "v2 sessions" states their exact
 * processing. Patterns are data; handshake-state.ts interprets them.
 */
export type Token = 'e' | 's' | 'ee' | 'es' | 'se' | 'ss' | 'psk' | 'e1' | 'ekem1';

export interface HandshakePattern {
  readonly name: string;
  /** Pre-message keys: what the initiator / responder knows of the other before message 1. */
  readonly initiatorPre: readonly ('e' | 's')[];
  readonly responderPre: readonly ('e' | 's')[];
  /** Message i is sent by the initiator when i is even. */
  readonly messages: readonly (readonly Token[])[];
}

type Base = Omit<HandshakePattern, 'name'>;
const p = (initiatorPre: ('e' | 's')[], responderPre: ('e' | 's')[], ...messages: Token[][]): Base => ({
  initiatorPre,
  responderPre,
  messages,
});

/** The interactive fundamental patterns (§7.5) and the hfs forms we use. */
const BASE_PATTERNS: Readonly<Record<string, Base>> = Object.freeze({
  NN: p([], [], ['e'], ['e', 'ee']),
  NK: p([], ['s'], ['e', 'es'], ['e', 'ee']),
  NX: p([], [], ['e'], ['e', 'ee', 's', 'es']),
  KN: p(['s'], [], ['e'], ['e', 'ee', 'se']),
  KK: p(['s'], ['s'], ['e', 'es', 'ss'], ['e', 'ee', 'se']),
  KX: p(['s'], [], ['e'], ['e', 'ee', 'se', 's', 'es']),
  XN: p([], [], ['e'], ['e', 'ee'], ['s', 'se']),
  XK: p([], ['s'], ['e', 'es'], ['e', 'ee'], ['s', 'se']),
  XX: p([], [], ['e'], ['e', 'ee', 's', 'es'], ['s', 'se']),
  IN: p([], [], ['e', 's'], ['e', 'ee', 'se']),
  IK: p([], ['s'], ['e', 'es', 's', 'ss'], ['e', 'ee', 'se']),
  IX: p([], [], ['e', 's'], ['e', 'ee', 'se', 's', 'es']),
  // hfs forms: e1 right after the initiator's first e (and es, in IK), ekem1 right after ee.
  NNhfs: p([], [], ['e', 'e1'], ['e', 'ee', 'ekem1']),
  IKhfs: p([], ['s'], ['e', 'es', 'e1', 's', 'ss'], ['e', 'ee', 'ekem1', 'se']),
  XXhfs: p([], [], ['e', 'e1'], ['e', 'ee', 'ekem1', 's', 'es'], ['s', 'se']),
});

/**
 * Resolve a pattern name with optional psk modifiers, e.g. `IK`, `XXpsk3`, `IKpsk0+psk2`,
 * `IKhfs`. `pskN` puts a psk token at the start of message 1 (N = 0) or the end of message N.
 */
export function resolvePattern(name: string): HandshakePattern {
  const m = /^([A-Z]+(?:hfs)?)((?:psk\d)(?:\+psk\d)*)?$/.exec(name);
  const base = m ? BASE_PATTERNS[m[1]!] : undefined;
  if (!m || !base) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `unsupported handshake pattern ${name}`);
  const messages = base.messages.map((msg) => [...msg]);
  for (const mod of m[2] ? m[2].split('+') : []) {
    const n = Number(mod.slice(3));
    if (n === 0) messages[0]!.unshift('psk');
    else if (n <= messages.length) messages[n - 1]!.push('psk');
    else throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `${mod} is past the last message of ${name}`);
  }
  return Object.freeze({ name, initiatorPre: base.initiatorPre, responderPre: base.responderPre, messages });
}

export interface ProtocolName {
  readonly full: string;
  readonly pattern: HandshakePattern;
  /** Whether the DH section names a KEM (`25519+MLKEM768`), needed by hfs patterns. */
  readonly kem: 'MLKEM768' | null;
  readonly hash: 'SHA256' | 'SHA512' | 'BLAKE2b';
}

/** Parse `Noise_<pattern>_<dh>_<cipher>_<hash>`; only 25519, ChaChaPoly and our hashes are supported. */
export function parseProtocolName(full: string): ProtocolName {
  const parts = full.split('_');
  if (parts.length !== 5 || parts[0] !== 'Noise')
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `not a Noise protocol name: ${full}`);
  const [, patternName, dh, cipher, hash] = parts as [string, string, string, string, string];
  const pattern = resolvePattern(patternName);
  const kem = dh === '25519+MLKEM768' ? 'MLKEM768' : dh === '25519' ? null : undefined;
  if (kem === undefined) throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `unsupported DH ${dh}`);
  const usesKem = pattern.messages.some((msg) => msg.includes('e1'));
  if (usesKem !== (kem !== null))
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `${patternName} and ${dh} do not match (hfs needs a KEM)`);
  if (cipher !== 'ChaChaPoly') throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `unsupported cipher ${cipher}`);
  if (hash !== 'SHA256' && hash !== 'SHA512' && hash !== 'BLAKE2b')
    throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `unsupported hash ${hash}`);
  return Object.freeze({ full, pattern, kem, hash });
}
