/**
 * v2 prekeys (docs/protocol.md "v2 prekeys"): bundle encode / decode / verify with typed errors,
 * seal and open across suites, fail-closed tampering of every field, replay by sequence across a
 * restart, and forward secrecy at rotation.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { bytesEqual, utf8 } from '../../src/bytes.js';
import {
  PREKEY_BUNDLE_BYTES,
  PREKEY_BUNDLE_MAX_LIFETIME_MS,
  PREKEY_MAX_PLAINTEXT_BYTES,
  PREKEY_MESSAGE_HEADER_BYTES,
} from '../../src/constants.js';
import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../../src/crypto/convert.js';
import { nodeSuite } from '../../src/crypto/node.js';
import { portableSuite } from '../../src/crypto/portable.js';
import { isProtocolError, type ProtocolErrorCode } from '../../src/errors.js';
import { chachaDecrypt } from '../../src/session/chacha-poly.js';
import {
  createPrekeyBundle,
  decodePrekeyBundle,
  encodePrekeyBundle,
  erasePrekeySecrets,
  type PrekeySecrets,
  prekeyBundleSignedBytes,
  verifyPrekeyBundle,
} from '../../src/session/prekey-bundle.js';
import {
  decodePrekeyMessage,
  derivePrekeyMessageKey,
  openPrekeyMessage,
  sealToPrekey,
} from '../../src/session/prekey-message.js';
import { PrekeyReplayGuard } from '../../src/session/prekey-replay-guard.js';
import { isWiped } from '../../src/session/wipe.js';
import { alice, bob, carol } from './helpers.js';

const T0 = 1_767_225_600_000;
const DAY = 24 * 60 * 60 * 1000;

function codeOf(fn: () => unknown): ProtocolErrorCode | 'no error' | 'not a ProtocolError' {
  try {
    fn();
    return 'no error';
  } catch (err) {
    return isProtocolError(err) ? err.code : 'not a ProtocolError';
  }
}

const flip = (bytes: Uint8Array, index: number, bit = 0): Uint8Array => {
  const out = Uint8Array.from(bytes);
  out[index]! ^= 1 << bit;
  return out;
};

const made = createPrekeyBundle(nodeSuite, { identity: bob, bundleId: 42, createdAt: T0 });
const store = (s: PrekeySecrets) => (id: number) => (id === s.bundleId ? s : undefined);

function seal(sequence: number, plaintext = utf8(`message ${sequence}`), suite = nodeSuite) {
  return sealToPrekey(suite, {
    sender: alice,
    recipient: bob.publicKey,
    bundle: made.encoded,
    now: T0 + DAY,
    sequence,
    plaintext,
  }).message;
}

describe('prekey bundle', () => {
  it('encodes canonically to PREKEY_BUNDLE_BYTES and decodes to the same fields', () => {
    expect(made.encoded.length).toBe(PREKEY_BUNDLE_BYTES);
    const decoded = decodePrekeyBundle(made.encoded);
    expect(decoded).toEqual(made.bundle);
    expect(encodePrekeyBundle(decoded)).toEqual(made.encoded);
    expect(decoded.expiresAt - decoded.createdAt).toBe(7 * DAY);
  });

  it('verifies with both suites for its owner while valid', () => {
    for (const suite of [nodeSuite, portableSuite])
      expect(verifyPrekeyBundle(suite, made.encoded, { now: T0 + DAY, expectedIdentity: bob.publicKey })).toEqual(
        made.bundle,
      );
  });

  it('an unknown version fails with PROTO_ERR_BAD_VERSION naming both versions', () => {
    const v2 = Uint8Array.from(made.encoded);
    v2[0] = 2;
    expect(() => decodePrekeyBundle(v2)).toThrow(/version 2, this implementation reads 1/);
    expect(codeOf(() => decodePrekeyBundle(v2))).toBe('PROTO_ERR_BAD_VERSION');
    expect(codeOf(() => decodePrekeyBundle(v2.subarray(0, 10)))).toBe('PROTO_ERR_BAD_VERSION');
  });

  it('oversize, truncated and empty inputs fail with their own codes', () => {
    const big = new Uint8Array(PREKEY_BUNDLE_BYTES + 1);
    big.set(made.encoded);
    expect(codeOf(() => decodePrekeyBundle(big))).toBe('PROTO_ERR_TOO_LARGE');
    expect(codeOf(() => decodePrekeyBundle(made.encoded.subarray(0, PREKEY_BUNDLE_BYTES - 1)))).toBe(
      'PROTO_ERR_TRUNCATED',
    );
    expect(codeOf(() => decodePrekeyBundle(new Uint8Array(0)))).toBe('PROTO_ERR_TRUNCATED');
  });

  it('is refused when expired, created in the future, or claiming more than the longest lifetime', () => {
    const at = (now: number) => codeOf(() => verifyPrekeyBundle(nodeSuite, made.encoded, { now }));
    expect(at(made.bundle.expiresAt - 1)).toBe('no error');
    expect(at(made.bundle.expiresAt)).toBe('PROTO_ERR_PREKEY_EXPIRED');
    expect(at(T0 - 10 * 60 * 1000)).toBe('PROTO_ERR_PREKEY_EXPIRED');
    // A validly signed bundle whose lifetime is too long (built by hand: createPrekeyBundle refuses).
    const long = { ...made.bundle, expiresAt: T0 + PREKEY_BUNDLE_MAX_LIFETIME_MS + 1 };
    const signed = { ...long, signature: nodeSuite.sign(bob.secretKey, prekeyBundleSignedBytes(long)) };
    expect(codeOf(() => verifyPrekeyBundle(nodeSuite, encodePrekeyBundle(signed), { now: T0 + DAY }))).toBe(
      'PROTO_ERR_PREKEY_EXPIRED',
    );
    expect(
      codeOf(() =>
        createPrekeyBundle(nodeSuite, {
          identity: bob,
          bundleId: 1,
          createdAt: T0,
          lifetimeMs: PREKEY_BUNDLE_MAX_LIFETIME_MS + 1,
        }),
      ),
    ).toBe('PROTO_ERR_INVALID_ARGUMENT');
  });

  it('a flipped bit in any signed field or the signature fails the signature (checked before the clock)', () => {
    const fields: [string, number][] = [
      ['identity', 1],
      ['bundle id', 36],
      ['created', 44],
      ['expires', 52],
      ['x25519 prekey', 60],
      ['kem key', 500],
      ['signature R', PREKEY_BUNDLE_BYTES - 64],
      ['signature S', PREKEY_BUNDLE_BYTES - 2],
    ];
    for (const [name, i] of fields)
      expect(
        codeOf(() => verifyPrekeyBundle(nodeSuite, flip(made.encoded, i), { now: T0 + DAY })),
        name,
      ).toMatch(/PROTO_ERR_BAD_SIGNATURE/);
    // Expired and forged: the forgery is what is reported.
    expect(codeOf(() => verifyPrekeyBundle(nodeSuite, flip(made.encoded, 300), { now: T0 + 100 * DAY }))).toBe(
      'PROTO_ERR_BAD_SIGNATURE',
    );
  });

  it("another identity's signature over our key does not verify; a bundle of someone else is refused", () => {
    const forged = {
      ...made.bundle,
      signature: nodeSuite.sign(carol.secretKey, prekeyBundleSignedBytes(made.bundle)),
    };
    expect(codeOf(() => verifyPrekeyBundle(nodeSuite, encodePrekeyBundle(forged), { now: T0 + DAY }))).toBe(
      'PROTO_ERR_BAD_SIGNATURE',
    );
    expect(
      codeOf(() => verifyPrekeyBundle(nodeSuite, made.encoded, { now: T0 + DAY, expectedIdentity: carol.publicKey })),
    ).toBe('PROTO_ERR_WRONG_RECIPIENT');
  });
});

describe('sealing to a prekey', () => {
  it('opens at the recipient, across suites both ways', () => {
    for (const [sealer, opener] of [
      [nodeSuite, portableSuite],
      [portableSuite, nodeSuite],
    ] as const) {
      const message = seal(0, utf8('while you were away'), sealer);
      const opened = openPrekeyMessage(opener, message, { recipient: bob, prekeys: store(made.secrets) });
      expect(opened.plaintext).toEqual(utf8('while you were away'));
      expect(opened.sender).toEqual(alice.publicKey);
      expect(opened.bundleId).toBe(42);
    }
  });

  it('refuses an expired bundle, a bundle of another identity, and oversize plaintext', () => {
    const base = { sender: alice, recipient: bob.publicKey, bundle: made.encoded, sequence: 0, plaintext: utf8('x') };
    expect(codeOf(() => sealToPrekey(nodeSuite, { ...base, now: T0 + 8 * DAY }))).toBe('PROTO_ERR_PREKEY_EXPIRED');
    expect(codeOf(() => sealToPrekey(nodeSuite, { ...base, now: T0, recipient: carol.publicKey }))).toBe(
      'PROTO_ERR_WRONG_RECIPIENT',
    );
    expect(
      codeOf(() =>
        sealToPrekey(nodeSuite, { ...base, now: T0, plaintext: new Uint8Array(PREKEY_MAX_PLAINTEXT_BYTES + 1) }),
      ),
    ).toBe('PROTO_ERR_TOO_LARGE');
  });

  it('is refused by another recipient and after its bundle id is unknown', () => {
    const message = seal(0);
    expect(
      codeOf(() => openPrekeyMessage(nodeSuite, message, { recipient: carol, prekeys: store(made.secrets) })),
    ).toBe('PROTO_ERR_WRONG_RECIPIENT');
    expect(codeOf(() => openPrekeyMessage(nodeSuite, message, { recipient: bob, prekeys: () => undefined }))).toBe(
      'PROTO_ERR_PREKEY_UNKNOWN',
    );
  });

  it('a flipped bit in any field fails closed and records nothing; the original then opens', () => {
    const message = seal(5, utf8('tamper with me'));
    const guard = new PrekeyReplayGuard();
    const fields: [string, number, ProtocolErrorCode[]][] = [
      ['version', 0, ['PROTO_ERR_BAD_VERSION']],
      ['sender', 5, ['PROTO_ERR_DECRYPT_FAILED', 'PROTO_ERR_BAD_KEY', 'PROTO_ERR_WEAK_KEY']],
      ['sender (last byte)', 32, ['PROTO_ERR_DECRYPT_FAILED', 'PROTO_ERR_BAD_KEY', 'PROTO_ERR_WEAK_KEY']],
      ['recipient', 40, ['PROTO_ERR_WRONG_RECIPIENT']],
      ['bundle id', 68, ['PROTO_ERR_PREKEY_UNKNOWN']],
      ['ephemeral', 80, ['PROTO_ERR_DECRYPT_FAILED', 'PROTO_ERR_WEAK_KEY']],
      ['KEM ciphertext', 600, ['PROTO_ERR_DECRYPT_FAILED']],
      ['sequence', 1196, ['PROTO_ERR_DECRYPT_FAILED']],
      ['message id', 1200, ['PROTO_ERR_DECRYPT_FAILED']],
      ['ciphertext', PREKEY_MESSAGE_HEADER_BYTES, ['PROTO_ERR_DECRYPT_FAILED']],
      ['tag', message.length - 1, ['PROTO_ERR_DECRYPT_FAILED']],
    ];
    for (const [name, index, codes] of fields)
      for (const bit of [0, 7])
        expect(codes, `${name} bit ${bit}`).toContain(
          codeOf(() =>
            openPrekeyMessage(nodeSuite, flip(message, index, bit), {
              recipient: bob,
              prekeys: store(made.secrets),
              replayGuard: guard,
            }),
          ),
        );
    // A bundle id that names another held bundle still fails: the KDF binds the bundle's digest.
    const other = createPrekeyBundle(nodeSuite, { identity: bob, bundleId: 43, createdAt: T0 });
    expect(
      codeOf(() =>
        openPrekeyMessage(nodeSuite, flip(message, 68, 0) /* 42 → 43 */, {
          recipient: bob,
          prekeys: store(other.secrets),
        }),
      ),
    ).toBe('PROTO_ERR_DECRYPT_FAILED');
    expect(guard.size).toBe(0);
    expect(
      openPrekeyMessage(nodeSuite, message, { recipient: bob, prekeys: store(made.secrets), replayGuard: guard })
        .plaintext,
    ).toEqual(utf8('tamper with me'));
  });

  it('truncated messages fail as PROTO_ERR_TRUNCATED, oversize as PROTO_ERR_TOO_LARGE', () => {
    const message = seal(0);
    expect(codeOf(() => decodePrekeyMessage(message.subarray(0, PREKEY_MESSAGE_HEADER_BYTES + 15)))).toBe(
      'PROTO_ERR_TRUNCATED',
    );
    const big = new Uint8Array(PREKEY_MESSAGE_HEADER_BYTES + PREKEY_MAX_PLAINTEXT_BYTES + 17);
    big[0] = 1;
    expect(codeOf(() => decodePrekeyMessage(big))).toBe('PROTO_ERR_TOO_LARGE');
  });
});

describe('replay of prekey messages (sequence numbers, no clock)', () => {
  it('each message once, in any order within the window, also after the recipient restarts', () => {
    const messages = [0, 1, 2, 3, 4].map((s) => seal(s));
    let guard = new PrekeyReplayGuard();
    const open = (m: Uint8Array) =>
      openPrekeyMessage(nodeSuite, m, { recipient: bob, prekeys: store(made.secrets), replayGuard: guard });
    for (const i of [2, 0, 1]) expect(open(messages[i]!).sequence).toBe(i);
    expect(codeOf(() => open(messages[1]!))).toBe('PROTO_ERR_PREKEY_REPLAY');
    // Restart: the state goes through JSON and back.
    guard = PrekeyReplayGuard.fromState(JSON.parse(JSON.stringify(guard.toState())));
    for (const i of [0, 1, 2]) expect(codeOf(() => open(messages[i]!))).toBe('PROTO_ERR_PREKEY_REPLAY');
    expect(open(messages[4]!).sequence).toBe(4);
    expect(open(messages[3]!).sequence).toBe(3);
  });

  it('refuses sequences below the window', () => {
    const guard = new PrekeyReplayGuard({ window: 32 });
    guard.commit(alice.publicKey, 100);
    expect(codeOf(() => guard.check(alice.publicKey, 68))).toBe('PROTO_ERR_PREKEY_REPLAY');
    expect(codeOf(() => guard.check(alice.publicKey, 69))).toBe('no error');
    expect(codeOf(() => guard.check(carol.publicKey, 0))).toBe('no error');
  });

  it('is bounded: a new sender past maxPeers is refused and nobody is evicted', () => {
    const guard = new PrekeyReplayGuard({ maxPeers: 2 });
    guard.commit(alice.publicKey, 0);
    guard.commit(bob.publicKey, 0);
    expect(codeOf(() => guard.commit(carol.publicKey, 0))).toBe('PROTO_ERR_TOO_LARGE');
    expect(codeOf(() => guard.check(alice.publicKey, 0))).toBe('PROTO_ERR_PREKEY_REPLAY');
    guard.forget(bob.publicKey);
    guard.commit(carol.publicKey, 0);
    expect(guard.size).toBe(2);
  });

  it('restore refuses unknown versions and malformed state', () => {
    const state = new PrekeyReplayGuard().toState();
    expect(codeOf(() => PrekeyReplayGuard.fromState({ ...state, version: 2 }))).toBe('PROTO_ERR_BAD_VERSION');
    expect(codeOf(() => PrekeyReplayGuard.fromState({ ...state, version: undefined }))).toBe('PROTO_ERR_BAD_VERSION');
    expect(codeOf(() => PrekeyReplayGuard.fromState(null))).toBe('PROTO_ERR_BAD_ENCODING');
    expect(codeOf(() => PrekeyReplayGuard.fromState({ ...state, window: 33 }))).toBe('PROTO_ERR_BAD_ENCODING');
    expect(
      codeOf(() => PrekeyReplayGuard.fromState({ ...state, peers: [{ peer: 'x', highest: 0, bitmap: '' }] })),
    ).toBe('PROTO_ERR_BAD_ENCODING');
  });
});

describe('forward secrecy at prekey rotation', () => {
  it('once the prekey secrets are erased, a recorded message stays closed to both identity secret keys', () => {
    const bundle = createPrekeyBundle(nodeSuite, { identity: bob, bundleId: 9, createdAt: T0 });
    const recorded = sealToPrekey(nodeSuite, {
      sender: alice,
      recipient: bob.publicKey,
      bundle: bundle.encoded,
      now: T0,
      sequence: 0,
      plaintext: utf8('secret from the past'),
    }).message;
    // Before rotation the recipient reads it.
    expect(
      openPrekeyMessage(nodeSuite, recorded, { recipient: bob, prekeys: store(bundle.secrets) }).plaintext,
    ).toEqual(utf8('secret from the past'));
    erasePrekeySecrets(bundle.secrets);
    expect(isWiped(bundle.secrets.x25519SecretKey) && isWiped(bundle.secrets.kemSecretKey)).toBe(true);
    expect(codeOf(() => openPrekeyMessage(nodeSuite, recorded, { recipient: bob, prekeys: () => undefined }))).toBe(
      'PROTO_ERR_PREKEY_UNKNOWN',
    );
    const erasedCode = codeOf(() =>
      openPrekeyMessage(portableSuite, recorded, { recipient: bob, prekeys: store(bundle.secrets) }),
    );
    expect(['PROTO_ERR_DECRYPT_FAILED', 'PROTO_ERR_WEAK_KEY']).toContain(erasedCode);

    // The attacker: both identity secrets, the public bundle and the recorded bytes. Every X25519
    // value those give, in every slot, with every stand-in for the KEM secret: nothing opens.
    const { header, ciphertext } = decodePrekeyMessage(recorded);
    const secretsHeld = [ed25519SecretToX25519(alice.secretKey), ed25519SecretToX25519(bob.secretKey)];
    const publics = [
      bundle.bundle.x25519Prekey,
      header.ephemeralKey,
      ed25519PublicToX25519(alice.publicKey),
      ed25519PublicToX25519(bob.publicKey),
    ];
    const dhs = secretsHeld.flatMap((s) => publics.map((p) => portableSuite.x25519(s, p)));
    // DH1 (IK_s, SPK_r) and DH2 (EK_s, IK_r) are among them: the attacker has those two.
    const dh1 = portableSuite.x25519(secretsHeld[0]!, bundle.bundle.x25519Prekey);
    const dh2 = portableSuite.x25519(secretsHeld[1]!, header.ephemeralKey);
    expect(dhs.some((d) => bytesEqual(d, dh1)) && dhs.some((d) => bytesEqual(d, dh2))).toBe(true);
    const kemGuesses = [new Uint8Array(32), sha256(secretsHeld[1]!), sha256(header.kemCiphertext)];
    const ad = recorded.subarray(0, PREKEY_MESSAGE_HEADER_BYTES);
    const digest = sha256(bundle.encoded);
    let opened = 0;
    let tried = 0;
    for (const a of dhs)
      for (const b of dhs)
        for (const c of dhs)
          for (const kem of kemGuesses) {
            const key = derivePrekeyMessageKey({
              dh1: a,
              dh2: b,
              dh3: c,
              kemSharedSecret: kem,
              header,
              bundleDigest: digest,
            });
            tried++;
            if (codeOf(() => chachaDecrypt(key, 0, ad, ciphertext)) === 'no error') opened++;
          }
    expect(tried).toBe(8 ** 3 * 3);
    expect(opened).toBe(0);
  });
});
