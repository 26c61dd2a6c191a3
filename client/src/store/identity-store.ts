import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  decodeKey,
  encodeKey,
  fromBase64url,
  generateIdentity,
  type Identity,
  identityFromSecret,
  toBase64url,
} from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { ClientError } from '../errors.js';
import { readFileBounded, writeFileAtomic } from './atomic-file.js';
import { validateDisplayName } from './display-name.js';
import { ensureDir, homeUnusable, isHomeErrno } from './home-dir.js';
import type { StorePaths } from './paths.js';

export interface LocalIdentity {
  readonly identity: Identity;
  readonly name: string;
}

const MAX_IDENTITY_FILE_BYTES = 4096;

function corrupt(path: string, why: string): ClientError {
  return new ClientError('CLIENT_ERR_IDENTITY_CORRUPT', `${path}: ${why}`, { path });
}

function readText(path: string): string | null {
  try {
    const buf = readFileBounded(path, MAX_IDENTITY_FILE_BYTES);
    return buf === null ? null : buf.toString('utf8').trim();
  } catch (err) {
    // A home under a file or out of reach is not a corrupt identity: name the place.
    if (isHomeErrno(err)) throw homeUnusable(dirname(path), err);
    throw corrupt(path, (err as Error).message);
  }
}

/**
 * The Ed25519 identity in `<home>/identity/` (dir 0700, secret 0600, atomic writes). Loads
 * it, or creates it on first use. A file that exists but does not parse is reported with its
 * path and never replaced.
 */
export class IdentityStore {
  constructor(private readonly paths: StorePaths) {}

  load(): LocalIdentity | null {
    const secretText = readText(this.paths.secretKeyFile);
    if (secretText === null) {
      if (readText(this.paths.publicKeyFile) !== null)
        throw corrupt(this.paths.secretKeyFile, 'public key present but secret key missing');
      return null;
    }
    const secret = fromBase64url(secretText);
    if (secret?.length !== 32) throw corrupt(this.paths.secretKeyFile, 'not a 32-byte base64url secret');
    const identity = identityFromSecret(nodeSuite, secret);
    const publicText = readText(this.paths.publicKeyFile);
    if (publicText !== null) {
      let stored: Uint8Array;
      try {
        stored = decodeKey(publicText);
      } catch {
        throw corrupt(this.paths.publicKeyFile, 'not a base64url public key');
      }
      if (encodeKey(stored) !== encodeKey(identity.publicKey))
        throw corrupt(this.paths.publicKeyFile, 'does not match the secret key');
    }
    return { identity, name: this.#loadName() };
  }

  #loadName(): string {
    const text = readText(this.paths.profileFile);
    if (text === null) return '';
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw corrupt(this.paths.profileFile, 'not JSON');
    }
    const name = (parsed as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') throw corrupt(this.paths.profileFile, 'no "name" string');
    return name;
  }

  /** Load, or create on first run. */
  loadOrCreate(): LocalIdentity {
    const existing = this.load();
    if (existing) return existing;
    const identity = generateIdentity(nodeSuite);
    ensureDir(this.paths.identityDir);
    try {
      chmodSync(this.paths.identityDir, 0o700);
    } catch (err) {
      throw isHomeErrno(err) ? homeUnusable(this.paths.identityDir, err) : err;
    }
    writeFileAtomic(this.paths.secretKeyFile, `${toBase64url(identity.secretKey)}\n`, 0o600);
    writeFileAtomic(this.paths.publicKeyFile, `${encodeKey(identity.publicKey)}\n`, 0o644);
    return { identity, name: '' };
  }

  setName(name: string): string {
    const valid = validateDisplayName(name);
    writeFileAtomic(this.paths.profileFile, `${JSON.stringify({ version: 1, name: valid })}\n`, 0o600);
    return valid;
  }
}
