import {
  type CryptoSuite,
  decodeKey,
  decodePrekeyBundle,
  fromBase64url,
  toBase64url,
  verifyPrekeyBundle,
} from '@p2p-comm/protocol';
import { PREKEY_PEER_BUNDLES_MAX } from '../constants.js';
import { ClientError } from '../errors.js';
import { Journal } from './journal.js';

interface PeerRecord {
  /** The peer's newest verified bundle, base64url (1,333 bytes). */
  bundle?: string;
  /** Next prekey-message sequence number we send it (per sender, recipient; never reused). */
  seq: number;
}
interface Snapshot {
  version: 1;
  peers: Record<string, PeerRecord>;
}
type Entry = { peer: string; bundle: string } | { peer: string; seq: number };

/**
 * What we know to seal prekey messages to our peers, durable in `prekey-peers.{json,log}`:
 * each peer's newest bundle (verified when stored and again when used) and the next sequence
 * number. The sequence is written before the message that uses it leaves, so after a restart a
 * number is never reused (the receiver's PrekeyReplayGuard would refuse it).
 */
export class PeerPrekeys {
  readonly #journal: Journal<Snapshot, Entry>;
  readonly #peers = new Map<string, PeerRecord>();
  readonly #suite: CryptoSuite;

  constructor(stateDir: string, suite: CryptoSuite) {
    this.#suite = suite;
    this.#journal = new Journal(stateDir, 'prekey-peers');
    const { snapshot, entries } = this.#journal.load();
    try {
      if (snapshot !== null) {
        if (snapshot.version !== 1 || typeof snapshot.peers !== 'object' || snapshot.peers === null)
          throw new Error('snapshot shape');
        for (const [peer, r] of Object.entries(snapshot.peers)) this.#apply({ peer, seq: r.seq }, r.bundle);
      }
      for (const e of entries) this.#apply(e, 'bundle' in e ? e.bundle : undefined);
    } catch (err) {
      throw new ClientError('CLIENT_ERR_STATE_CORRUPT', `prekey-peers in ${stateDir}: ${(err as Error).message}`, {
        path: `${stateDir}/prekey-peers.json`,
      });
    }
  }

  /** The peer's bundle if it is still valid at `now`, else null. */
  bundle(peer: string, now: number): Uint8Array | null {
    const b64 = this.#peers.get(peer)?.bundle;
    const bytes = b64 ? fromBase64url(b64) : null;
    if (!bytes) return null;
    try {
      verifyPrekeyBundle(this.#suite, bytes, { now, expectedIdentity: decodeKey(peer) });
      return bytes;
    } catch {
      return null;
    }
  }

  /**
   * Keep `encoded` as the peer's bundle if it verifies (owner, signature, validity) and is newer
   * than the one held (bundle id, then created). Returns true when it was stored.
   */
  offer(peer: string, encoded: Uint8Array, now: number): boolean {
    let bundle: ReturnType<typeof decodePrekeyBundle>;
    try {
      bundle = verifyPrekeyBundle(this.#suite, encoded, { now, expectedIdentity: decodeKey(peer) });
    } catch {
      return false;
    }
    const held = this.#peers.get(peer)?.bundle;
    const heldBytes = held ? fromBase64url(held) : null;
    if (heldBytes) {
      const old = decodePrekeyBundle(heldBytes);
      if (old.bundleId === bundle.bundleId && old.createdAt === bundle.createdAt) return false;
      if (old.bundleId > bundle.bundleId && old.expiresAt > now) return false;
    }
    const entry: Entry = { peer, bundle: toBase64url(encoded) };
    this.#journal.append(entry);
    this.#apply(entry, entry.bundle);
    this.#compactIfDue();
    return true;
  }

  /** Take the next sequence number for a prekey message to `peer` (persisted first). */
  nextSequence(peer: string): number {
    const seq = this.#peers.get(peer)?.seq ?? 0;
    const entry: Entry = { peer, seq: seq + 1 };
    this.#journal.append(entry);
    this.#apply(entry, undefined);
    this.#compactIfDue();
    return seq;
  }

  /** Forget a peer's bundle (revoked); its sequence stays so numbers are never reused. */
  forgetBundle(peer: string): void {
    const r = this.#peers.get(peer);
    if (!r?.bundle) return;
    delete r.bundle;
    this.#journal.compact(this.#snapshot());
  }

  #apply(e: { peer: string; seq?: number }, bundle: string | undefined): void {
    if (typeof e?.peer !== 'string') throw new Error('entry without a peer');
    const r = this.#peers.get(e.peer) ?? { seq: 0 };
    if (e.seq !== undefined) {
      if (!Number.isSafeInteger(e.seq) || e.seq < 0) throw new Error('bad sequence');
      r.seq = Math.max(r.seq, e.seq);
    }
    if (bundle !== undefined) {
      if (typeof bundle !== 'string') throw new Error('bad bundle');
      r.bundle = bundle;
    }
    this.#peers.delete(e.peer);
    this.#peers.set(e.peer, r);
    // Bounded like the trust store: the least recently changed peer's bundle goes first.
    while (this.#peers.size > PREKEY_PEER_BUNDLES_MAX) this.#peers.delete(this.#peers.keys().next().value!);
  }

  #compactIfDue(): void {
    if (this.#journal.wantsCompaction) this.#journal.compact(this.#snapshot());
  }

  #snapshot(): Snapshot {
    return { version: 1, peers: Object.fromEntries(this.#peers) };
  }
}
