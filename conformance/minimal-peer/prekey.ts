// v2 prekeys (docs/protocol.md "v2 prekeys"). OPTIONAL for a peer ("Prekeys are optional"): the
// minimal peer publishes no bundle and never seals to one; this module exists so the `check`
// op can answer the kit's prekey vectors, and as a readable reference of the construction.
//
// Bundle (1,333 bytes): 0x01 ‖ identity 32 ‖ bundle id u32 ‖ created u64 ‖ expires u64 ‖ SPK 32 ‖
//   PQPK 1,184 ‖ Ed25519 signature 64 over lp(tag) ‖ lp(version) ‖ lp(identity) ‖ lp(id) ‖
//   lp(created) ‖ lp(expires) ‖ lp(SPK) ‖ lp(PQPK).
// Message: header (1,213 bytes, all of it AEAD associated data) = 0x01 ‖ sender 32 ‖ recipient 32 ‖
//   bundle id u32 ‖ EK_s 32 ‖ CT 1,088 ‖ sequence u64 ‖ message id 16; then ChaCha20-Poly1305(n+16).
//   key = HKDF-SHA-256(0xFF×32 ‖ DH1 ‖ DH2 ‖ DH3 ‖ SS, salt 0x00×32, info = lp(…transcript…), 32)

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, equalBytes, lp, Reader, toHex, u8, u32, u64, utf8 } from './bytes.js';
import { PeerError } from './errors.js';
import { type Identity, x25519FromEd25519, x25519Shared } from './identity.js';
import { checkEncapsulationKey, kemDecapsulate, kemEncapsulate, kemKeyPair } from './ml-kem.js';
import { sign, verifyStrict } from './strict-ed25519.js';

export const PREKEY_BUNDLE_BYTES = 1333;
export const PREKEY_BUNDLE_VERSION = 0x01;
export const PREKEY_MESSAGE_VERSION = 0x01;
export const PREKEY_HEADER_BYTES = 1213;
/** PREKEY_BUNDLE_MAX_LIFETIME_MS: 30 days. */
export const PREKEY_BUNDLE_MAX_LIFETIME_MS = 2_592_000_000;
/** A bundle may be created at most this far in the future of the checker's clock. */
const CREATED_SKEW_MS = 300_000;
/** PREKEY_MAX_PLAINTEXT_BYTES. */
export const PREKEY_MAX_PLAINTEXT_BYTES = 61_440;
const BUNDLE_SIGNATURE_TAG = utf8('p2p-comm/v2/prekey-bundle-signature');
const MESSAGE_KDF_TAG = utf8('p2p-comm/v2/prekey-message-kdf');
const ALGORITHMS = utf8('X25519,ML-KEM-768,ChaCha20-Poly1305,SHA-256,HKDF-SHA-256');

export interface Bundle {
  identity: Uint8Array;
  bundleId: number;
  createdAt: number;
  expiresAt: number;
  x25519Prekey: Uint8Array;
  kemPublicKey: Uint8Array;
  signature: Uint8Array;
  encoded: Uint8Array;
}

function bundleSignedBytes(b: Omit<Bundle, 'signature' | 'encoded'>): Uint8Array {
  return concat(
    lp(BUNDLE_SIGNATURE_TAG),
    lp(u8(PREKEY_BUNDLE_VERSION)),
    lp(b.identity),
    lp(u32(b.bundleId)),
    lp(u64(b.createdAt)),
    lp(u64(b.expiresAt)),
    lp(b.x25519Prekey),
    lp(b.kemPublicKey),
  );
}

/** Make a bundle; random draws in order: X25519 prekey secret (32), ML-KEM seed d ‖ z (64). */
export function makeBundle(
  owner: Identity,
  bundleId: number,
  createdAt: number,
  lifetimeMs: number,
  random: { x25519Secret: Uint8Array; kemSeed: Uint8Array },
): Bundle {
  const fields = {
    identity: owner.publicKey,
    bundleId,
    createdAt,
    expiresAt: createdAt + lifetimeMs,
    x25519Prekey: x25519.getPublicKey(random.x25519Secret),
    kemPublicKey: kemKeyPair(random.kemSeed).publicKey,
  };
  const signature = sign(owner.seed, bundleSignedBytes(fields));
  const encoded = concat(
    u8(PREKEY_BUNDLE_VERSION),
    fields.identity,
    u32(bundleId),
    u64(fields.createdAt),
    u64(fields.expiresAt),
    fields.x25519Prekey,
    fields.kemPublicKey,
    signature,
  );
  return { ...fields, signature, encoded };
}

/** Decoding checks, in order: length ≤ 1,333, version, length = 1,333, times ≤ 2^53 − 1. */
export function decodeBundle(encoded: Uint8Array): Bundle {
  if (encoded.length > PREKEY_BUNDLE_BYTES) throw new PeerError('PROTO_ERR_TOO_LARGE', 'bundle over 1,333 bytes');
  if (encoded.length > 0 && encoded[0] !== PREKEY_BUNDLE_VERSION) {
    throw new PeerError('PROTO_ERR_BAD_VERSION', `prekey bundle version ${encoded[0]} (this implementation speaks 1)`);
  }
  if (encoded.length < PREKEY_BUNDLE_BYTES)
    throw new PeerError('PROTO_ERR_TRUNCATED', 'bundle shorter than 1,333 bytes');
  const reader = new Reader(encoded);
  reader.u8();
  return {
    identity: reader.take(32),
    bundleId: reader.u32(),
    createdAt: reader.u64(),
    expiresAt: reader.u64(),
    x25519Prekey: reader.take(32),
    kemPublicKey: reader.take(1184),
    signature: reader.take(64),
    encoded,
  };
}

/** Verify: owner (when named) → strict signature → validity at `now`. */
export function verifyBundle(encoded: Uint8Array, now: number, expectedIdentity?: Uint8Array): Bundle {
  const bundle = decodeBundle(encoded);
  if (expectedIdentity !== undefined && !equalBytes(bundle.identity, expectedIdentity)) {
    throw new PeerError('PROTO_ERR_WRONG_RECIPIENT', 'bundle of another key');
  }
  if (!verifyStrict(bundle.signature, bundleSignedBytes(bundle), bundle.identity)) {
    throw new PeerError('PROTO_ERR_BAD_SIGNATURE', 'bundle signature does not verify');
  }
  const lifetime = bundle.expiresAt - bundle.createdAt;
  if (
    lifetime <= 0 ||
    lifetime > PREKEY_BUNDLE_MAX_LIFETIME_MS ||
    bundle.createdAt > now + CREATED_SKEW_MS ||
    bundle.expiresAt <= now
  ) {
    throw new PeerError('PROTO_ERR_PREKEY_EXPIRED', 'bundle outside its validity');
  }
  return bundle;
}

function messageKey(
  dh1: Uint8Array,
  dh2: Uint8Array,
  dh3: Uint8Array,
  ss: Uint8Array,
  sender: Uint8Array,
  recipient: Uint8Array,
  bundleId: number,
  digest: Uint8Array,
  ephemeral: Uint8Array,
  ct: Uint8Array,
): Uint8Array {
  const ikm = concat(new Uint8Array(32).fill(0xff), dh1, dh2, dh3, ss);
  const info = concat(
    lp(MESSAGE_KDF_TAG),
    lp(u8(PREKEY_MESSAGE_VERSION)),
    lp(ALGORITHMS),
    lp(sender),
    lp(recipient),
    lp(u32(bundleId)),
    lp(digest),
    lp(ephemeral),
    lp(ct),
  );
  return hkdf(sha256, ikm, new Uint8Array(32), info, 32);
}

/** Seal one message to a verified bundle → the PREKEY peer packet 0x02 0x04 ‖ message. */
export function sealToBundle(
  sender: Identity,
  recipient: Uint8Array,
  bundleBytes: Uint8Array,
  now: number,
  sequence: number,
  messageId: Uint8Array,
  random: { ephemeral: Uint8Array; kemRandom: Uint8Array },
  plaintext: Uint8Array,
): Uint8Array {
  const bundle = verifyBundle(bundleBytes, now, recipient);
  checkEncapsulationKey(bundle.kemPublicKey);
  if (plaintext.length > PREKEY_MAX_PLAINTEXT_BYTES)
    throw new PeerError('PROTO_ERR_TOO_LARGE', 'plaintext over 61,440 bytes');
  const ephemeral = x25519.getPublicKey(random.ephemeral);
  const dh1 = x25519Shared(sender.x25519Secret, bundle.x25519Prekey);
  const dh2 = x25519Shared(random.ephemeral, x25519FromEd25519(recipient));
  const dh3 = x25519Shared(random.ephemeral, bundle.x25519Prekey);
  const { cipherText, sharedSecret } = kemEncapsulate(bundle.kemPublicKey, random.kemRandom);
  const digest = sha256(bundle.encoded);
  const key = messageKey(
    dh1,
    dh2,
    dh3,
    sharedSecret,
    sender.publicKey,
    recipient,
    bundle.bundleId,
    digest,
    ephemeral,
    cipherText,
  );
  const header = concat(
    u8(PREKEY_MESSAGE_VERSION),
    sender.publicKey,
    recipient,
    u32(bundle.bundleId),
    ephemeral,
    cipherText,
    u64(sequence),
    messageId,
  );
  const body = chacha20poly1305(key, new Uint8Array(12), header).encrypt(plaintext);
  return concat(u8(0x02), u8(0x04), header, body);
}

/** The secrets of one of our bundles. */
export interface HeldPrekey {
  bundle: Uint8Array;
  x25519Secret: Uint8Array;
  kemSecret: Uint8Array;
}

/** PREKEY_REPLAY_WINDOW_MESSAGES / PREKEY_REPLAY_MAX_PEERS (docs/limits.md). */
export const PREKEY_REPLAY_WINDOW_MESSAGES = 1024;
export const PREKEY_REPLAY_MAX_PEERS = 1024;

/** Per sender: the highest sequence accepted and which of the 1,024 below it were. No clock. */
export class PrekeyReplayGuard {
  private readonly peers = new Map<string, { highest: number; seen: Set<number> }>();

  check(sender: Uint8Array, sequence: number): void {
    const state = this.peers.get(toHex(sender));
    if (state === undefined) {
      if (this.peers.size >= PREKEY_REPLAY_MAX_PEERS)
        throw new PeerError('PROTO_ERR_TOO_LARGE', 'too many prekey senders');
      return;
    }
    if (sequence > state.highest) return;
    if (state.highest - sequence >= PREKEY_REPLAY_WINDOW_MESSAGES || state.seen.has(sequence)) {
      throw new PeerError('PROTO_ERR_PREKEY_REPLAY', `sequence ${sequence} already accepted or too old`);
    }
  }

  accept(sender: Uint8Array, sequence: number): void {
    const key = toHex(sender);
    const state = this.peers.get(key) ?? { highest: -1, seen: new Set<number>() };
    this.peers.set(key, state);
    state.seen.add(sequence);
    if (sequence > state.highest) state.highest = sequence;
    for (const s of state.seen) if (state.highest - s >= PREKEY_REPLAY_WINDOW_MESSAGES) state.seen.delete(s);
  }

  snapshot(): string {
    return JSON.stringify([...this.peers].map(([k, v]) => [k, v.highest, [...v.seen]]));
  }

  static restore(snapshot: string): PrekeyReplayGuard {
    const guard = new PrekeyReplayGuard();
    for (const [k, highest, seen] of JSON.parse(snapshot) as [string, number, number[]][]) {
      guard.peers.set(k, { highest, seen: new Set(seen) });
    }
    return guard;
  }
}

export interface OpenedPrekeyMessage {
  sender: Uint8Array;
  bundleId: number;
  sequence: number;
  messageId: Uint8Array;
  plaintext: Uint8Array;
}

/**
 * Open a PREKEY packet, in the spec's order: decode → recipient is me → sequence not replayed →
 * bundle id held → DH1–3, Decaps, key → tag → only then record the sequence.
 */
export function openPrekeyPacket(
  me: Identity,
  packet: Uint8Array,
  held: HeldPrekey[],
  guard: PrekeyReplayGuard,
): OpenedPrekeyMessage {
  const reader = new Reader(packet);
  if (reader.u8() !== 0x02) throw new PeerError('PROTO_ERR_BAD_VERSION', 'not a v2 packet');
  if (reader.u8() !== 0x04) throw new PeerError('PROTO_ERR_BAD_TYPE', 'not a PREKEY packet');
  if (reader.u8() !== PREKEY_MESSAGE_VERSION)
    throw new PeerError('PROTO_ERR_BAD_VERSION', 'prekey message version (this implementation speaks 1)');
  if (packet.length < 2 + PREKEY_HEADER_BYTES + 16)
    throw new PeerError('PROTO_ERR_TRUNCATED', 'shorter than a header and a tag');
  if (packet.length > 2 + PREKEY_HEADER_BYTES + PREKEY_MAX_PLAINTEXT_BYTES + 16) {
    throw new PeerError('PROTO_ERR_TOO_LARGE', 'prekey message too large');
  }
  const sender = reader.take(32);
  const recipient = reader.take(32);
  const bundleId = reader.u32();
  const ephemeral = reader.take(32);
  const ct = reader.take(1088);
  const sequence = reader.u64();
  const messageId = reader.take(16);
  const body = reader.rest();
  const header = packet.subarray(2, 2 + PREKEY_HEADER_BYTES);
  if (!equalBytes(recipient, me.publicKey))
    throw new PeerError('PROTO_ERR_WRONG_RECIPIENT', 'prekey message for another key');
  guard.check(sender, sequence);
  const prekey = held.find((h) => decodeBundle(h.bundle).bundleId === bundleId);
  if (prekey === undefined) throw new PeerError('PROTO_ERR_PREKEY_UNKNOWN', `no secrets for bundle ${bundleId}`);
  const dh1 = x25519Shared(prekey.x25519Secret, x25519FromEd25519(sender));
  const dh2 = x25519Shared(me.x25519Secret, ephemeral);
  const dh3 = x25519Shared(prekey.x25519Secret, ephemeral);
  const ss = kemDecapsulate(ct, prekey.kemSecret);
  const key = messageKey(dh1, dh2, dh3, ss, sender, recipient, bundleId, sha256(prekey.bundle), ephemeral, ct);
  let plaintext: Uint8Array;
  try {
    plaintext = chacha20poly1305(key, new Uint8Array(12), header).decrypt(body);
  } catch {
    throw new PeerError('PROTO_ERR_DECRYPT_FAILED', 'prekey message tag does not verify');
  }
  guard.accept(sender, sequence);
  return { sender, bundleId, sequence, messageId, plaintext };
}
