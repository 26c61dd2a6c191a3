/**
 * Every protocol-level constant, with its unit. The wire format is described in
 * docs/protocol.md; the limits are listed in docs/limits.md.
 */

/** Envelope format version (first byte of every envelope). */
export const ENVELOPE_VERSION = 1;

/** Client⇄server frame protocol version (sent in the challenge). */
export const FRAME_PROTOCOL_VERSION = 1;

/** Ed25519 public key length, bytes. */
export const PUBLIC_KEY_BYTES = 32;
/** Ed25519 secret key (seed) length, bytes. */
export const SECRET_KEY_BYTES = 32;
/** Ed25519 signature length, bytes. */
export const SIGNATURE_BYTES = 64;
/** Envelope message id length, bytes (random). */
export const MESSAGE_ID_BYTES = 16;
/** Envelope nonce length, bytes (random; the replay guard keys on sender + nonce). */
export const NONCE_BYTES = 16;
/** X25519 ephemeral public key carried in every envelope, bytes. */
export const EPHEMERAL_KEY_BYTES = 32;
/** XChaCha20-Poly1305 tag length, bytes. */
export const AEAD_TAG_BYTES = 16;
/** XChaCha20-Poly1305 nonce length, bytes. */
export const AEAD_NONCE_BYTES = 24;
/** AEAD key length, bytes. */
export const AEAD_KEY_BYTES = 32;

/** Fixed header: version(1) type(1) id(16) sender(32) recipient(32) ts(8) nonce(16) eph(32) len(4). */
export const ENVELOPE_HEADER_BYTES =
  1 + 1 + MESSAGE_ID_BYTES + PUBLIC_KEY_BYTES * 2 + 8 + NONCE_BYTES + EPHEMERAL_KEY_BYTES + 4;

/**
 * Largest plaintext payload one envelope carries, bytes. No layer below the file layer splits a
 * message: a larger one goes as a long message over the file stream (docs/protocol.md).
 */
export const MAX_PLAINTEXT_BYTES = 60 * 1024;
/** Largest ciphertext payload (plaintext + tag), bytes. */
export const MAX_CIPHERTEXT_BYTES = MAX_PLAINTEXT_BYTES + AEAD_TAG_BYTES;
/** Largest encoded envelope, bytes. Fits in the server's default 64 KiB frame with room for the frame header. */
export const MAX_ENVELOPE_BYTES = ENVELOPE_HEADER_BYTES + MAX_CIPHERTEXT_BYTES + SIGNATURE_BYTES;
/** Smallest encoded envelope (empty plaintext), bytes. */
export const MIN_ENVELOPE_BYTES = ENVELOPE_HEADER_BYTES + AEAD_TAG_BYTES + SIGNATURE_BYTES;

/** Default accepted clock skew either side of "now" for envelopes and auth hellos, ms. */
export const DEFAULT_TIMESTAMP_WINDOW_MS = 5 * 60 * 1000;

/*
 * Replay guard budgets (replay-guard.ts). State is kept per sender, in two separate pools: the
 * senders the local user chose (trusted, or asked) and everyone else, so no amount of traffic
 * from one sender (or one pool) changes how another sender of the trusted pool is judged.
 * Worst case in memory: ~80 bytes per entry, so 1,024 × 512 ≈ 42 MB trusted, 256 × 8 ≈ 160 kB untrusted.
 */
/** Trusted senders with replay state at once (active within the window), senders. */
export const DEFAULT_REPLAY_TRUSTED_MAX_SENDERS = 1_024;
/**
 * (sender, nonce) pairs remembered per trusted sender, entries. Past it the sender's own oldest
 * pair goes and only that sender's floor rises: a budget for reordering (retransmits, path
 * switches), not for throughput, since in-order traffic always lands above the floor.
 */
export const DEFAULT_REPLAY_TRUSTED_MAX_ENTRIES_PER_SENDER = 512;
/** Untrusted senders with replay state at once (their consent requests), senders. */
export const DEFAULT_REPLAY_UNTRUSTED_MAX_SENDERS = 256;
/** (sender, nonce) pairs remembered per untrusted sender, entries (a consent request every 5 s fits). */
export const DEFAULT_REPLAY_UNTRUSTED_MAX_ENTRIES_PER_SENDER = 8;

/** Bytes of SHA-256 fingerprint shown to humans for verification (128 bits, never fewer). */
export const FINGERPRINT_DISPLAY_BYTES = 16;
/** Bytes of the short fingerprint used only in lists (never for verification). */
export const FINGERPRINT_SHORT_BYTES = 4;

/*
 * v2 sessions (src/session/, docs/protocol.md "v2 sessions"). The handshake is
 * Noise_IKhfs_25519+MLKEM768_ChaChaPoly_SHA256; data packets carry an explicit epoch and counter.
 */
/** Version byte of every v2 session packet (handshake and transport). */
export const SESSION_VERSION = 2;
/** Bits in the sliding replay window of each receiving key, counters (a multiple of 32). */
export const SESSION_REPLAY_WINDOW_MESSAGES = 2_048;
/** A sender moves its direction to the next epoch after this many packets under one key, packets. */
export const SESSION_REKEY_AFTER_MESSAGES = 65_536;
/** …or when its current key is this old, ms (checked when it seals; the clock never judges a packet). */
export const SESSION_REKEY_AFTER_MS = 120_000;
/** A counter at or above this in any epoch is refused by the receiver and never used by a sender, packets. */
export const SESSION_REJECT_AFTER_MESSAGES = 2 ** 32;
/** How long the previous epoch's receiving key is kept once the next epoch opened, ms (in-flight packets). */
export const SESSION_PREVIOUS_EPOCH_GRACE_MS = 30_000;
/** Epochs a receiver derives forward to meet a packet (the sender rekeyed while packets were lost), epochs. */
export const SESSION_MAX_EPOCH_SKIP = 8;
/** Last epoch number (u32 on the wire); after it the session needs a new handshake. */
export const SESSION_MAX_EPOCH = 0xffff_ffff;
/** Largest plaintext in one session packet, bytes (same bound as an envelope payload). */
export const SESSION_MAX_PLAINTEXT_BYTES = MAX_PLAINTEXT_BYTES;
/** Largest handshake payload (message 2), bytes. */
export const SESSION_MAX_HANDSHAKE_PAYLOAD_BYTES = 1_024;

/*
 * v2 prekeys (src/session/prekey-*.ts, docs/protocol.md "v2 prekeys"): signed rotating prekey
 * bundles (X25519 + ML-KEM-768) and one-shot messages sealed to them for offline peers.
 */
/** Format version of a prekey bundle (its first byte). */
export const PREKEY_BUNDLE_VERSION = 1;
/**
 * Encoded prekey bundle, bytes: version 1 + identity 32 + bundle id 4 + created 8 + expires 8 +
 * X25519 prekey 32 + ML-KEM-768 encapsulation key 1,184 + signature 64. Fixed: longer is refused.
 */
export const PREKEY_BUNDLE_BYTES = 1 + 32 + 4 + 8 + 8 + 32 + 1_184 + 64;
/** Longest validity a bundle may claim (expires − created), ms (30 days). */
export const PREKEY_BUNDLE_MAX_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000;
/** Validity of a bundle we create unless told otherwise, ms (7 days); rotate before it ends. */
export const PREKEY_BUNDLE_DEFAULT_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;
/** Format version of a message sealed to a prekey (its first byte). */
export const PREKEY_MESSAGE_VERSION = 1;
/**
 * Header of a prekey message, bytes: version 1 + sender 32 + recipient 32 + bundle id 4 +
 * ephemeral X25519 32 + ML-KEM-768 ciphertext 1,088 + sequence 8 + message id 16. All of it is
 * the AEAD associated data.
 */
export const PREKEY_MESSAGE_HEADER_BYTES = 1 + 32 + 32 + 4 + 32 + 1_088 + 8 + MESSAGE_ID_BYTES;
/** Largest plaintext in one prekey message, bytes (same bound as an envelope payload). */
export const PREKEY_MAX_PLAINTEXT_BYTES = MAX_PLAINTEXT_BYTES;
/** Largest encoded prekey message, bytes. */
export const PREKEY_MESSAGE_MAX_BYTES = PREKEY_MESSAGE_HEADER_BYTES + PREKEY_MAX_PLAINTEXT_BYTES + AEAD_TAG_BYTES;
/** Sequence numbers per sender remembered below the highest accepted (bitmap), messages (multiple of 32). */
export const PREKEY_REPLAY_WINDOW_MESSAGES = 1_024;
/** Senders a PrekeyReplayGuard tracks at once, senders (a new one past it is refused, never evicts). */
export const PREKEY_REPLAY_MAX_PEERS = 1_024;
/** Version of PrekeyReplayGuard's persisted state; restore refuses any other. */
export const PREKEY_REPLAY_STATE_VERSION = 1;

/** Domain tags: every signature, hash and KDF input starts with one, so no two uses collide. */
export const DOMAIN = Object.freeze({
  envelopeSignature: 'p2p-comm/v1/envelope-signature',
  envelopeKdf: 'p2p-comm/v1/envelope-aead-key',
  fingerprint: 'p2p-comm/v1/fingerprint',
  serverAuth: 'p2p-comm/v1/server-auth',
  directAuth: 'p2p-comm/v1/direct-auth',
  inviteToken: 'p2p-comm/v1/invite-token',
  sessionPrologue: 'p2p-comm/v2/session-prologue',
  sessionRekey: 'p2p-comm/v2/session-rekey',
  prekeyBundleSignature: 'p2p-comm/v2/prekey-bundle-signature',
  prekeyMessageKdf: 'p2p-comm/v2/prekey-message-kdf',
});
