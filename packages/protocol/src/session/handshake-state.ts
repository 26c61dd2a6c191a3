import { concatBytes } from '../bytes.js';
import { portableSuite } from '../crypto/portable.js';
import type { CryptoSuite } from '../crypto/suite.js';
import { ProtocolError } from '../errors.js';
import { CHACHA_TAG_BYTES } from './chacha-poly.js';
import type { CipherState } from './cipher-state.js';
import {
  type KemKeyPair,
  MLKEM768_CIPHERTEXT_BYTES,
  MLKEM768_PUBLIC_KEY_BYTES,
  mlKemDecapsulate,
  mlKemEncapsulate,
  mlKemGenerateKeyPair,
} from './ml-kem.js';
import { NOISE_HASHES } from './noise-hash.js';
import { type HandshakePattern, parseProtocolName, type Token } from './noise-patterns.js';
import { type RandomSource, secureRandom } from './random.js';
import { SymmetricState } from './symmetric-state.js';
import { wipe } from './wipe.js';
import { DH_BYTES, type DhKeyPair, dhKeyPairFromSecret, generateDhKeyPair } from './x25519-dh.js';

/** Noise PSK length, bytes (§9). */
const PSK_BYTES = 32;

export interface HandshakeOptions {
  /** `Noise_<pattern>_25519[+MLKEM768]_ChaChaPoly_<SHA256|SHA512|BLAKE2b>`. */
  readonly protocolName: string;
  readonly initiator: boolean;
  readonly prologue?: Uint8Array;
  /** Our static X25519 secret key, when the pattern sends or pre-shares it. */
  readonly staticSecretKey?: Uint8Array;
  /** The peer's static X25519 public key, when known in advance (pre-message `s`). */
  readonly remoteStaticKey?: Uint8Array;
  /** 32-byte pre-shared keys, consumed in order by the psk tokens. */
  readonly psks?: readonly Uint8Array[];
  /** Randomness for e, e1 and ekem1 (default: Web Crypto). */
  readonly random?: RandomSource;
  /**
   * Where X25519 runs: `nodeSuite` (OpenSSL) in Node, `portableSuite` (@noble, the default)
   * in browsers. Same bytes either way.
   */
  readonly suite?: CryptoSuite;
}

/** What a finished handshake hands to the transport layer. */
export interface HandshakeResult {
  /** Initiator → responder transport cipher. */
  readonly initiatorToResponder: CipherState;
  /** Responder → initiator transport cipher. */
  readonly responderToInitiator: CipherState;
  /** h after the last message: a unique, public session id (channel binding). */
  readonly handshakeHash: Uint8Array;
  /** The peer's static X25519 key, if the pattern carried or pre-shared one. */
  readonly remoteStaticKey: Uint8Array | null;
}

/**
 * Noise HandshakeState (rev. 34 §5.3) with the hfs tokens e1 / ekem1 (ML-KEM-768). Call
 * writeMessage / readMessage alternately as the pattern says; after the last message, `result()`
 * returns the split ciphers. Any failure destroys the state (fail closed: a tampered message
 * cannot be retried against the same state), and so does `destroy()`.
 */
export class HandshakeState {
  readonly initiator: boolean;
  private readonly symmetric: SymmetricState;
  private readonly pattern: HandshakePattern;
  private readonly random: RandomSource;
  private readonly suite: CryptoSuite;
  private readonly psks: Uint8Array[];
  private readonly pskMode: boolean;
  private s: DhKeyPair | null;
  private e: DhKeyPair | null = null;
  private e1: KemKeyPair | null = null;
  private rs: Uint8Array | null;
  private re: Uint8Array | null = null;
  private re1: Uint8Array | null = null;
  private index = 0;
  private dead = false;
  private finished: HandshakeResult | null = null;

  constructor(options: HandshakeOptions) {
    const name = parseProtocolName(options.protocolName);
    this.pattern = name.pattern;
    this.initiator = options.initiator;
    this.random = options.random ?? secureRandom;
    this.suite = options.suite ?? portableSuite;
    this.symmetric = new SymmetricState(NOISE_HASHES[name.hash], name.full);
    this.s = options.staticSecretKey ? dhKeyPairFromSecret(Uint8Array.from(options.staticSecretKey), this.suite) : null;
    this.rs = options.remoteStaticKey ? Uint8Array.from(options.remoteStaticKey) : null;
    this.psks = (options.psks ?? []).map((k, i) => {
      if (!(k instanceof Uint8Array) || k.length !== PSK_BYTES)
        throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `psks[${i}] must be ${PSK_BYTES} bytes`);
      return Uint8Array.from(k);
    });
    this.pskMode = this.pattern.messages.some((m) => m.includes('psk'));
    const pskCount = this.pattern.messages.flat().filter((t) => t === 'psk').length;
    if (this.psks.length !== pskCount)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', `${this.pattern.name} needs ${pskCount} psks`);
    const myPre = this.initiator ? this.pattern.initiatorPre : this.pattern.responderPre;
    const theirPre = this.initiator ? this.pattern.responderPre : this.pattern.initiatorPre;
    if (this.needsOwnStatic() && !this.s)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'staticSecretKey is required by this pattern');
    if (theirPre.includes('s') && !this.rs)
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'remoteStaticKey is required by this pattern');
    if (myPre.includes('e') || theirPre.includes('e'))
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'pre-message ephemeral keys are not supported');

    this.symmetric.mixHash(options.prologue ?? new Uint8Array(0));
    // Pre-messages: the initiator's keys are hashed first (§5.3 Initialize).
    for (const who of ['initiator', 'responder'] as const) {
      const pre = who === 'initiator' ? this.pattern.initiatorPre : this.pattern.responderPre;
      if (pre.includes('s')) {
        const mine = (who === 'initiator') === this.initiator;
        this.symmetric.mixHash(mine ? this.s!.publicKey : this.rs!);
      }
    }
  }

  private needsOwnStatic(): boolean {
    const myPre = this.initiator ? this.pattern.initiatorPre : this.pattern.responderPre;
    if (myPre.includes('s')) return true;
    return this.pattern.messages.some((msg, i) => (i % 2 === 0) === this.initiator && msg.includes('s'));
  }

  /** True when it is our turn to write. */
  get isMyTurn(): boolean {
    return !this.finished && !this.dead && this.index % 2 === (this.initiator ? 0 : 1);
  }

  get isFinished(): boolean {
    return this.finished !== null;
  }

  /** The handshake hash so far (public). */
  get handshakeHash(): Uint8Array {
    return this.symmetric.handshakeHash;
  }

  /** The peer's static X25519 key once known (pre-message or read from a message). */
  get remoteStaticKey(): Uint8Array | null {
    return this.rs ? Uint8Array.from(this.rs) : null;
  }

  /** Our ephemeral X25519 public key once sent (tests). */
  get localEphemeralPublicKey(): Uint8Array | null {
    return this.e ? Uint8Array.from(this.e.publicKey) : null;
  }

  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (!this.isMyTurn) throw new ProtocolError('PROTO_ERR_HANDSHAKE_STATE', 'not our turn to write');
    return this.guard(() => {
      const parts: Uint8Array[] = [];
      for (const token of this.pattern.messages[this.index]!) parts.push(this.writeToken(token));
      parts.push(this.symmetric.encryptAndHash(payload));
      this.advance();
      return concatBytes(...parts);
    });
  }

  readMessage(message: Uint8Array): Uint8Array {
    if (this.dead || this.finished || this.isMyTurn)
      throw new ProtocolError('PROTO_ERR_HANDSHAKE_STATE', 'not expecting a message');
    if (!(message instanceof Uint8Array))
      throw new ProtocolError('PROTO_ERR_INVALID_ARGUMENT', 'message must be bytes');
    return this.guard(() => {
      let offset = 0;
      const take = (length: number): Uint8Array => {
        if (offset + length > message.length) throw new ProtocolError('PROTO_ERR_TRUNCATED', 'handshake message');
        const out = message.subarray(offset, offset + length);
        offset += length;
        return out;
      };
      for (const token of this.pattern.messages[this.index]!) this.readToken(token, take);
      const rest = message.subarray(offset);
      if (this.symmetric.cipher.hasKey() && rest.length < CHACHA_TAG_BYTES)
        throw new ProtocolError('PROTO_ERR_TRUNCATED', 'handshake payload');
      const payload = this.symmetric.decryptAndHash(rest);
      this.advance();
      return payload;
    });
  }

  /** The transport ciphers once the last message is written or read. */
  result(): HandshakeResult {
    if (!this.finished) throw new ProtocolError('PROTO_ERR_HANDSHAKE_STATE', 'handshake not finished');
    return this.finished;
  }

  /** Erase every secret this state holds (ephemeral, KEM and static copies, chaining key). */
  destroy(): void {
    this.dead = true;
    wipe(this.e?.secretKey);
    wipe(this.e1?.secretKey);
    wipe(this.s?.secretKey);
    for (const k of this.psks) wipe(k);
    this.e = null;
    this.e1 = null;
    this.s = null;
    this.symmetric.destroy();
  }

  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  private advance(): void {
    this.index++;
    if (this.index < this.pattern.messages.length) return;
    const handshakeHash = this.symmetric.handshakeHash;
    const [c1, c2] = this.symmetric.split();
    this.finished = Object.freeze({
      initiatorToResponder: c1,
      responderToInitiator: c2,
      handshakeHash,
      remoteStaticKey: this.rs ? Uint8Array.from(this.rs) : null,
    });
    // The handshake's own secrets are no longer needed: only the split keys live on.
    wipe(this.e?.secretKey);
    wipe(this.e1?.secretKey);
    wipe(this.s?.secretKey);
    this.e = null;
    this.e1 = null;
    this.s = null;
  }

  private mixDh(token: 'ee' | 'es' | 'se' | 'ss'): void {
    const mine = (which: 'e' | 's'): DhKeyPair => {
      const kp = which === 'e' ? this.e : this.s;
      if (!kp) throw new ProtocolError('PROTO_ERR_HANDSHAKE_STATE', `no local ${which} for ${token}`);
      return kp;
    };
    const theirs = (which: 'e' | 's'): Uint8Array => {
      const k = which === 'e' ? this.re : this.rs;
      if (!k) throw new ProtocolError('PROTO_ERR_HANDSHAKE_STATE', `no remote ${which} for ${token}`);
      return k;
    };
    // Token letters name (initiator key, responder key).
    const [iKey, rKey] = [token[0] as 'e' | 's', token[1] as 'e' | 's'];
    const shared = this.initiator ? mine(iKey).key.agree(theirs(rKey)) : mine(rKey).key.agree(theirs(iKey));
    this.symmetric.mixKey(shared);
    wipe(shared);
  }

  private writeToken(token: Token): Uint8Array {
    const empty = new Uint8Array(0);
    switch (token) {
      case 'e': {
        this.e = generateDhKeyPair(this.random, this.suite);
        this.symmetric.mixHash(this.e.publicKey);
        if (this.pskMode) this.symmetric.mixKey(this.e.publicKey);
        return Uint8Array.from(this.e.publicKey);
      }
      case 's':
        return this.symmetric.encryptAndHash(this.s!.publicKey);
      case 'e1': {
        this.e1 = mlKemGenerateKeyPair(this.random);
        return this.symmetric.encryptAndHash(this.e1.publicKey);
      }
      case 'ekem1': {
        if (!this.re1) throw new ProtocolError('PROTO_ERR_HANDSHAKE_STATE', 'no remote e1 for ekem1');
        const { cipherText, sharedSecret } = mlKemEncapsulate(this.re1, this.random);
        const out = this.symmetric.encryptAndHash(cipherText);
        this.symmetric.mixKey(sharedSecret);
        wipe(sharedSecret);
        return out;
      }
      case 'psk':
        this.symmetric.mixKeyAndHash(this.psks.shift()!);
        return empty;
      default:
        this.mixDh(token);
        return empty;
    }
  }

  private readToken(token: Token, take: (length: number) => Uint8Array): void {
    const tag = () => (this.symmetric.cipher.hasKey() ? CHACHA_TAG_BYTES : 0);
    switch (token) {
      case 'e': {
        this.re = Uint8Array.from(take(DH_BYTES));
        this.symmetric.mixHash(this.re);
        if (this.pskMode) this.symmetric.mixKey(this.re);
        return;
      }
      case 's': {
        this.rs = this.symmetric.decryptAndHash(take(DH_BYTES + tag()));
        return;
      }
      case 'e1': {
        this.re1 = this.symmetric.decryptAndHash(take(MLKEM768_PUBLIC_KEY_BYTES + tag()));
        return;
      }
      case 'ekem1': {
        if (!this.e1) throw new ProtocolError('PROTO_ERR_HANDSHAKE_STATE', 'no local e1 for ekem1');
        const cipherText = this.symmetric.decryptAndHash(take(MLKEM768_CIPHERTEXT_BYTES + tag()));
        const shared = mlKemDecapsulate(cipherText, this.e1.secretKey);
        this.symmetric.mixKey(shared);
        wipe(shared);
        return;
      }
      case 'psk':
        this.symmetric.mixKeyAndHash(this.psks.shift()!);
        return;
      default:
        this.mixDh(token);
    }
  }
}
