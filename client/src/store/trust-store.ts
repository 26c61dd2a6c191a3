import { dirname } from 'node:path';
import { decodeKey, formatFingerprint } from '@p2p-comm/protocol';
import { MAX_STATE_FILE_BYTES, TRUST_MAX_ADDRESSES, TRUST_MAX_PEERS } from '../constants.js';
import { ClientError } from '../errors.js';
import { readFileBounded, writeFileAtomic } from './atomic-file.js';
import { namesCollide, sanitizePeerName } from './display-name.js';
import { homeUnusable, isHomeErrno } from './home-dir.js';
import type { StorePaths } from './paths.js';

/**
 * Consent state of one peer, from this side:
 * - `pending-out`: we asked (connect), they have not answered.
 * - `trusted`: both sides consented; data flows.
 * - `revoked`: we revoked; their data is refused.
 * - `revoked-by-peer`: they revoked (or denied); we send nothing.
 */
export type TrustState = 'pending-out' | 'trusted' | 'revoked' | 'revoked-by-peer';
const STATES: ReadonlySet<string> = new Set(['pending-out', 'trusted', 'revoked', 'revoked-by-peer']);

export interface TrustedPeer {
  readonly key: string;
  readonly fingerprint: string;
  readonly name: string;
  /** ms since epoch. */
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly addresses: readonly string[];
  readonly scopes: readonly string[];
  readonly state: TrustState;
}

/** Scopes granted on accept: the peer may send to us and we to it. */
export const DEFAULT_SCOPES: readonly string[] = Object.freeze(['send', 'receive']);

/** How often lastSeen alone is worth a rewrite of the file, ms. */
const LAST_SEEN_WRITE_INTERVAL_MS = 60_000;

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function parsePeer(raw: unknown, index: number, path: string): TrustedPeer {
  const bad = (why: string) =>
    new ClientError('CLIENT_ERR_TRUST_CORRUPT', `${path}: peers[${index}] ${why}`, { path, index });
  if (typeof raw !== 'object' || raw === null) throw bad('is not an object');
  const p = raw as Record<string, unknown>;
  if (typeof p.key !== 'string') throw bad('has no key');
  try {
    decodeKey(p.key);
  } catch {
    throw bad('has a malformed key');
  }
  if (typeof p.name !== 'string') throw bad('has no name');
  if (typeof p.firstSeen !== 'number' || typeof p.lastSeen !== 'number') throw bad('has bad timestamps');
  if (!isStringArray(p.addresses) || !isStringArray(p.scopes)) throw bad('has bad addresses/scopes');
  if (typeof p.state !== 'string' || !STATES.has(p.state)) throw bad('has an unknown state');
  const fingerprint = formatFingerprint(decodeKey(p.key));
  if (p.fingerprint !== undefined && p.fingerprint !== fingerprint) throw bad('fingerprint does not match its key');
  return Object.freeze({
    key: p.key,
    fingerprint,
    // Names saved by an older version were cleaned less strictly (bidi, zero-width): clean again.
    name: sanitizePeerName(p.name),
    firstSeen: p.firstSeen,
    lastSeen: p.lastSeen,
    addresses: Object.freeze(p.addresses.slice(0, TRUST_MAX_ADDRESSES)),
    scopes: Object.freeze([...p.scopes]),
    state: p.state as TrustState,
  });
}

/**
 * `<home>/trusted_peers.json` (TOFU). Every change is written atomically. A file that does
 * not parse is reported with its path (CLIENT_ERR_TRUST_CORRUPT) and never overwritten.
 */
export class TrustStore {
  readonly #peers = new Map<string, TrustedPeer>();
  readonly #path: string;
  #lastWrite = 0;

  constructor(paths: StorePaths) {
    this.#path = paths.trustFile;
    this.#load();
  }

  #load(): void {
    let buf: Buffer | null;
    try {
      buf = readFileBounded(this.#path, MAX_STATE_FILE_BYTES);
    } catch (err) {
      if (isHomeErrno(err)) throw homeUnusable(dirname(this.#path), err);
      throw new ClientError('CLIENT_ERR_TRUST_CORRUPT', `${this.#path}: ${(err as Error).message}`, {
        path: this.#path,
      });
    }
    if (buf === null) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(buf.toString('utf8'));
    } catch {
      throw new ClientError('CLIENT_ERR_TRUST_CORRUPT', `${this.#path}: not valid JSON`, { path: this.#path });
    }
    const doc = parsed as { version?: unknown; peers?: unknown } | null;
    if (doc?.version !== 1 || !Array.isArray(doc.peers))
      throw new ClientError('CLIENT_ERR_TRUST_CORRUPT', `${this.#path}: expected { version: 1, peers: [] }`, {
        path: this.#path,
      });
    doc.peers.forEach((raw, i) => {
      const peer = parsePeer(raw, i, this.#path);
      this.#peers.set(peer.key, peer);
    });
  }

  get path(): string {
    return this.#path;
  }

  get(key: string): TrustedPeer | undefined {
    return this.#peers.get(key);
  }

  list(): TrustedPeer[] {
    return [...this.#peers.values()];
  }

  /**
   * Peers (other than `exceptKey`) known under `name` — or a name that looks like it (case,
   * NFKC, homoglyphs: display-name.ts) — that we had consented to.
   */
  sameName(name: string, exceptKey: string): TrustedPeer[] {
    if (!name) return [];
    return this.list().filter((p) => p.key !== exceptKey && p.state !== 'revoked' && namesCollide(p.name, name));
  }

  /** Create or update a peer and persist. */
  put(key: string, patch: Partial<Omit<TrustedPeer, 'key' | 'fingerprint'>>, now = Date.now()): TrustedPeer {
    const old = this.#peers.get(key);
    if (!old && this.#peers.size >= TRUST_MAX_PEERS)
      throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', `trust store is full (${TRUST_MAX_PEERS} peers)`);
    const addresses = [...new Set([...(patch.addresses ?? []), ...(old?.addresses ?? [])])].slice(
      0,
      TRUST_MAX_ADDRESSES,
    );
    const peer: TrustedPeer = Object.freeze({
      key,
      fingerprint: old?.fingerprint ?? formatFingerprint(decodeKey(key)),
      name: patch.name ?? old?.name ?? '',
      firstSeen: old?.firstSeen ?? now,
      lastSeen: patch.lastSeen ?? now,
      addresses: Object.freeze(addresses),
      scopes: Object.freeze([...(patch.scopes ?? old?.scopes ?? [])]),
      state: patch.state ?? old?.state ?? 'pending-out',
    });
    this.#peers.set(key, peer);
    this.#save();
    return peer;
  }

  remove(key: string): boolean {
    const had = this.#peers.delete(key);
    if (had) this.#save();
    return had;
  }

  /** Record contact; rewrites the file at most once per LAST_SEEN_WRITE_INTERVAL_MS. */
  touch(key: string, now = Date.now()): void {
    const old = this.#peers.get(key);
    if (!old) return;
    this.#peers.set(key, Object.freeze({ ...old, lastSeen: now }));
    if (now - this.#lastWrite >= LAST_SEEN_WRITE_INTERVAL_MS) this.#save();
  }

  #save(): void {
    this.#lastWrite = Date.now();
    writeFileAtomic(this.#path, `${JSON.stringify({ version: 1, peers: this.list() }, null, 2)}\n`, 0o600);
  }
}
