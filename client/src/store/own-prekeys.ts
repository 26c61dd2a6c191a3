import {
  type CryptoSuite,
  createPrekeyBundle,
  decodePrekeyBundle,
  erasePrekeySecrets,
  fromBase64url,
  type Identity,
  type PrekeySecrets,
  prekeyBundleDigest,
  toBase64url,
} from '@p2p-comm/protocol';
import {
  MAX_STATE_FILE_BYTES,
  PREKEY_KEEP_AFTER_EXPIRY_MS,
  PREKEY_OWN_BUNDLES_MAX,
  PREKEY_OWN_LIFETIME_MS,
  PREKEY_ROTATE_BEFORE_MS,
} from '../constants.js';
import { ClientError } from '../errors.js';
import { readFileBounded, writeFileAtomic } from './atomic-file.js';

/** prekeys.json (mode 0600, like the identity's secret key): our bundles and their secrets, oldest first. */
interface FileV1 {
  version: 1;
  nextId: number;
  bundles: Array<{ encoded: string; x25519: string; kem: string }>;
}

interface Held {
  encoded: Uint8Array;
  bundleId: number;
  expiresAt: number;
  secrets: PrekeySecrets;
}

export interface OwnPrekeyTimings {
  lifetimeMs: number;
  rotateBeforeMs: number;
  keepAfterExpiryMs: number;
}

/**
 * Our own signed prekey bundles (docs/protocol.md "v2 prekeys"): the current one, published to
 * the server and pushed to trusted peers, and rotated-out ones whose secrets are kept while
 * mail sealed to them may still wait in a mailbox (PREKEY_KEEP_AFTER_EXPIRY_MS after expiry),
 * then erased (zeroed in memory, dropped from the file). `refresh(now)` makes bundle id + 1
 * PREKEY_ROTATE_BEFORE_MS before the current one expires; every change is written atomically
 * before it is used, so a message sealed to a bundle we published can always be opened.
 */
export class OwnPrekeys {
  readonly #path: string;
  readonly #suite: CryptoSuite;
  readonly #identity: Identity;
  readonly #t: OwnPrekeyTimings;
  #nextId = 1;
  #held: Held[] = [];

  constructor(path: string, suite: CryptoSuite, identity: Identity, timings: Partial<OwnPrekeyTimings> = {}) {
    this.#path = path;
    this.#suite = suite;
    this.#identity = identity;
    this.#t = {
      lifetimeMs: PREKEY_OWN_LIFETIME_MS,
      rotateBeforeMs: PREKEY_ROTATE_BEFORE_MS,
      keepAfterExpiryMs: PREKEY_KEEP_AFTER_EXPIRY_MS,
      ...timings,
    };
    this.#load();
  }

  /** The current bundle (encoded, 1,333 bytes). Call `refresh` first. */
  current(): Uint8Array {
    const last = this.#held[this.#held.length - 1];
    if (!last) throw new ClientError('CLIENT_ERR_NOT_STARTED', 'no prekey bundle yet');
    return last.encoded;
  }

  /** Secrets for a bundle id we still hold (openPrekeyMessage's `prekeys`). */
  secrets(bundleId: number): PrekeySecrets | undefined {
    return this.#held.find((h) => h.bundleId === bundleId)?.secrets;
  }

  /** Rotate and erase as `now` says; true when a new bundle was made (publish and push it). */
  refresh(now: number): boolean {
    let changed = false;
    let rotated = false;
    const keep: Held[] = [];
    for (const h of this.#held) {
      if (h.expiresAt + this.#t.keepAfterExpiryMs <= now) {
        erasePrekeySecrets(h.secrets);
        changed = true;
      } else keep.push(h);
    }
    this.#held = keep;
    const last = this.#held[this.#held.length - 1];
    if (!last || last.expiresAt - now <= this.#t.rotateBeforeMs) {
      const made = createPrekeyBundle(this.#suite, {
        identity: this.#identity,
        bundleId: this.#nextId,
        createdAt: now,
        lifetimeMs: this.#t.lifetimeMs,
      });
      this.#nextId = (this.#nextId % 0xffff_ffff) + 1;
      this.#held.push({
        encoded: made.encoded,
        bundleId: made.bundle.bundleId,
        expiresAt: made.bundle.expiresAt,
        secrets: made.secrets,
      });
      rotated = changed = true;
    }
    while (this.#held.length > PREKEY_OWN_BUNDLES_MAX) erasePrekeySecrets(this.#held.shift()!.secrets);
    if (changed) this.#save();
    return rotated;
  }

  /** Erase every secret in memory (stop). The file keeps them for the next start. */
  close(): void {
    for (const h of this.#held) erasePrekeySecrets(h.secrets);
    this.#held = [];
  }

  #load(): void {
    let raw: Buffer | null;
    try {
      raw = readFileBounded(this.#path, MAX_STATE_FILE_BYTES);
    } catch (err) {
      throw this.#corrupt((err as Error).message);
    }
    if (raw === null) return;
    let file: FileV1;
    try {
      file = JSON.parse(raw.toString('utf8')) as FileV1;
    } catch {
      throw this.#corrupt('not valid JSON');
    }
    if (file?.version !== 1)
      throw new ClientError('CLIENT_ERR_STATE_VERSION', `${this.#path}: version ${String(file?.version)}`, {
        path: this.#path,
      });
    try {
      if (!Number.isSafeInteger(file.nextId) || !Array.isArray(file.bundles)) throw new Error('shape');
      this.#nextId = file.nextId;
      for (const b of file.bundles) {
        const encoded = mustB64(b.encoded);
        const bundle = decodePrekeyBundle(encoded);
        this.#held.push({
          encoded,
          bundleId: bundle.bundleId,
          expiresAt: bundle.expiresAt,
          secrets: {
            bundleId: bundle.bundleId,
            x25519SecretKey: mustB64(b.x25519),
            kemSecretKey: mustB64(b.kem),
            bundleDigest: prekeyBundleDigest(encoded),
          },
        });
      }
    } catch (err) {
      throw this.#corrupt((err as Error).message);
    }
  }

  #save(): void {
    const file: FileV1 = {
      version: 1,
      nextId: this.#nextId,
      bundles: this.#held.map((h) => ({
        encoded: toBase64url(h.encoded),
        x25519: toBase64url(h.secrets.x25519SecretKey),
        kem: toBase64url(h.secrets.kemSecretKey),
      })),
    };
    writeFileAtomic(this.#path, JSON.stringify(file), 0o600);
  }

  #corrupt(why: string): ClientError {
    return new ClientError('CLIENT_ERR_STATE_CORRUPT', `${this.#path}: ${why}`, { path: this.#path });
  }
}

function mustB64(text: unknown): Uint8Array {
  const bytes = typeof text === 'string' ? fromBase64url(text) : null;
  if (!bytes) throw new Error('bad base64url');
  return bytes;
}
