/**
 * Forward secrecy: a relay records a whole session (both handshake messages and transport packets
 * in both directions, across a rekey); both sides then close, erasing their keys. The attacker
 * later obtains BOTH Ed25519 identity secret keys. It recomputes every key it can derive from
 * them and the recorded bytes, and none opens a single recorded packet. A control run with the
 * (erased) ephemeral secrets shows that the same procedure does succeed when they are present, so
 * what protects the recording is exactly the ephemerals, X25519 and ML-KEM.
 */
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/bytes.js';
import { ed25519PublicToX25519, ed25519SecretToX25519 } from '../../src/crypto/convert.js';
import { chachaDecrypt } from '../../src/session/chacha-poly.js';
import { nextEpochKey } from '../../src/session/epoch-key.js';
import {
  acceptSession,
  initiateSession,
  SESSION_PROTOCOL_NAME,
  sessionPrologue,
} from '../../src/session/hybrid-handshake.js';
import { NOISE_HASHES } from '../../src/session/noise-hash.js';
import { scriptedRandom } from '../../src/session/random.js';
import { Session } from '../../src/session/session.js';
import { readTransportHeader, TRANSPORT_HEADER_BYTES } from '../../src/session/session-packet.js';
import { SymmetricState } from '../../src/session/symmetric-state.js';
import { isWiped } from '../../src/session/wipe.js';
import { dh } from '../../src/session/x25519-dh.js';
import { alice, bob } from './helpers.js';

const fill = (n: number, b: number) => new Uint8Array(n).fill(b);
// Only the control run uses these: they stand for the ephemerals that were erased.
const E_I = fill(32, 0x11);
const KEM_SEED = fill(64, 0x22);
const E_R = fill(32, 0x33);
const KEM_M = fill(32, 0x44);

function recordSession() {
  const { packet: m1, pending } = initiateSession({
    identity: alice,
    remotePublicKey: bob.publicKey,
    random: scriptedRandom([E_I, KEM_SEED]),
  });
  const r = acceptSession(m1, {
    identity: bob,
    acceptInitiator: () => true,
    random: scriptedRandom([E_R, KEM_M]),
  });
  const aliceKeys = pending.complete(r.packet).keys;
  const a = new Session(aliceKeys, { rekeyAfterMessages: 3 });
  const b = new Session(r.keys, { rekeyAfterMessages: 3 });
  const recorded: Uint8Array[] = [];
  for (let i = 0; i < 5; i++) {
    const p = a.seal(utf8(`alice ${i}`));
    recorded.push(p);
    b.open(p);
    const q = b.seal(utf8(`bob ${i}`));
    recorded.push(q);
    a.open(q);
  }
  const owned = [aliceKeys.sendKey, aliceKeys.receiveKey, r.keys.sendKey, r.keys.receiveKey];
  a.close();
  b.close();
  return { m1, m2: r.packet, recorded, owned };
}

/** Does `key` (as epoch-0 key, or derived forward to the packet's epoch) open `packet`? */
function opens(key: Uint8Array, packet: Uint8Array): boolean {
  const { epoch, counter } = readTransportHeader(packet);
  let k = key;
  for (let e = 1; e <= epoch; e++) k = nextEpochKey(k, e);
  try {
    chachaDecrypt(k, counter, packet.subarray(0, TRANSPORT_HEADER_BYTES), packet.subarray(TRANSPORT_HEADER_BYTES));
    return true;
  } catch {
    return false;
  }
}

/**
 * The attacker replays the public transcript through a SymmetricState, supplying the secrets it
 * has. Message 1 opens fully with Bob's static key (es, ss). For message 2 it must guess ee and
 * the ML-KEM shared secret; where a guess fails to decrypt, it still hashes the recorded bytes
 * (h is public) and carries on, so every guess yields a candidate pair of transport keys.
 */
function transcriptKeys(m1: Uint8Array, m2: Uint8Array, eeGuess: Uint8Array, kemGuess: Uint8Array): Uint8Array[] {
  const xa = ed25519SecretToX25519(alice.secretKey);
  const xb = ed25519SecretToX25519(bob.secretKey);
  const st = new SymmetricState(NOISE_HASHES.SHA256, SESSION_PROTOCOL_NAME);
  st.mixHash(sessionPrologue(bob.publicKey));
  st.mixHash(ed25519PublicToX25519(bob.publicKey));
  let o = 2;
  const take = (m: Uint8Array, n: number) => {
    const out = m.subarray(o, o + n);
    o += n;
    return out;
  };
  const eI = take(m1, 32);
  st.mixHash(eI);
  st.mixKey(dh(xb, eI)); // es
  st.decryptAndHash(take(m1, 1_200)); // e1: Alice's ephemeral ML-KEM public key (public only)
  const s = st.decryptAndHash(take(m1, 48));
  expect(toHex(s)).toBe(toHex(ed25519PublicToX25519(alice.publicKey)));
  st.mixKey(dh(xb, s)); // ss
  st.decryptAndHash(take(m1, 48));
  o = 2;
  const eR = take(m2, 32);
  st.mixHash(eR);
  st.mixKey(eeGuess);
  const ct = take(m2, 1_104);
  try {
    st.decryptAndHash(ct);
  } catch {
    st.mixHash(ct);
  }
  st.mixKey(kemGuess);
  st.mixKey(dh(xa, eR)); // se: computable from Alice's identity
  const [c1, c2] = st.split();
  return [c1.exportKey(), c2.exportKey()];
}

describe('forward secrecy of a recorded session', () => {
  const { m1, m2, recorded, owned } = recordSession();

  it('the sessions erased their keys (the very key objects are zero)', () => {
    for (const k of owned) expect(isWiped(k)).toBe(true);
  });

  it('control: with the erased ephemerals, the attack procedure reads everything', () => {
    const ee = dh(E_I, m2.subarray(2, 34));
    const { secretKey } = ml_kem768.keygen(KEM_SEED);
    const kem = ml_kem768.decapsulate(
      (() => {
        // Recover the ciphertext the way Alice did: under the handshake key (a transcript replay).
        const st = new SymmetricState(NOISE_HASHES.SHA256, SESSION_PROTOCOL_NAME);
        st.mixHash(sessionPrologue(bob.publicKey));
        st.mixHash(ed25519PublicToX25519(bob.publicKey));
        st.mixHash(m1.subarray(2, 34));
        st.mixKey(dh(ed25519SecretToX25519(bob.secretKey), m1.subarray(2, 34)));
        st.decryptAndHash(m1.subarray(34, 1_234));
        const s = st.decryptAndHash(m1.subarray(1_234, 1_282));
        st.mixKey(dh(ed25519SecretToX25519(bob.secretKey), s));
        st.decryptAndHash(m1.subarray(1_282, 1_330));
        st.mixHash(m2.subarray(2, 34));
        st.mixKey(ee);
        return st.decryptAndHash(m2.subarray(34, 1_138));
      })(),
      secretKey,
    );
    const [i2r, r2i] = transcriptKeys(m1, m2, ee, kem);
    expect(recorded.every((p, i) => opens(i % 2 === 0 ? i2r! : r2i!, p))).toBe(true);
  });

  it('with both identity secret keys but no ephemerals, no derivable key opens any packet', () => {
    const xa = ed25519SecretToX25519(alice.secretKey);
    const xb = ed25519SecretToX25519(bob.secretKey);
    const eI = m1.subarray(2, 34);
    const eR = m2.subarray(2, 34);
    const dhs = [dh(xa, ed25519PublicToX25519(bob.publicKey)), dh(xb, eI), dh(xa, eR), dh(xb, eR), dh(xa, eI)];
    const raw = [alice.secretKey, bob.secretKey, xa, xb, ...dhs, new Uint8Array(32)];
    const candidates: Uint8Array[] = [...raw];
    // Every guess for ee and for the ML-KEM secret from what the identities give.
    for (const ee of raw) for (const kem of raw) candidates.push(...transcriptKeys(m1, m2, ee, kem));
    // And every candidate's Noise-HKDF descendants, as if mixed once more.
    for (const k of [...candidates]) candidates.push(...NOISE_HASHES.SHA256.hkdf(k, new Uint8Array(0), 2));
    expect(candidates.length).toBeGreaterThan(300);
    let opened = 0;
    for (const key of candidates) for (const p of recorded) if (opens(key, p)) opened++;
    expect(opened).toBe(0);
  });
});
