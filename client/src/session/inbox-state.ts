import { ClientError } from '../errors.js';
import { Journal } from '../store/journal.js';

/** Per peer: the stream being received and the next sequence number expected in it. */
export interface StreamPosition {
  readonly stream: string;
  readonly next: number;
}

interface Snapshot {
  version: 1;
  peers: Record<string, StreamPosition>;
}
interface Entry {
  peer: string;
  stream: string;
  next: number;
}

/**
 * The receiver's durable dedupe state. A message is handed to the app only when its sequence
 * equals `next`, and `next` is advanced on disk *before* the app sees it (`advance`) — or, when
 * the app is a host behind a pipe, once the host has it (`advanceLater`, then `persistUpTo`: a
 * message that never left our memory is delivered again after a restart, not lost). Anything
 * below `next` is a duplicate (acked again, never delivered twice), also after a restart.
 * One entry per peer, so it is bounded by the trust store's TRUST_MAX_PEERS.
 */
export class InboxState {
  readonly #journal: Journal<Snapshot, Entry>;
  /** Positions as delivered (what `get` answers). */
  readonly #peers = new Map<string, StreamPosition>();
  /** Positions on disk: behind `#peers` only for peers advanced with `advanceLater`. */
  readonly #durable = new Map<string, StreamPosition>();

  constructor(stateDir: string) {
    this.#journal = new Journal(stateDir, 'inbox');
    const { snapshot, entries } = this.#journal.load();
    if (snapshot !== null) {
      if (
        typeof snapshot !== 'object' ||
        snapshot.version !== 1 ||
        typeof snapshot.peers !== 'object' ||
        snapshot.peers === null
      )
        throw new ClientError('CLIENT_ERR_STATE_CORRUPT', 'inbox snapshot has the wrong shape');
      for (const [peer, pos] of Object.entries(snapshot.peers)) this.#set(peer, pos?.stream, pos?.next);
    }
    for (const e of entries) this.#set(e?.peer, e?.stream, e?.next);
    for (const [peer, pos] of this.#peers) this.#durable.set(peer, pos);
  }

  get(peer: string): StreamPosition | undefined {
    return this.#peers.get(peer);
  }

  advance(peer: string, stream: string, next: number): void {
    this.#set(peer, stream, next);
    this.#write(peer, this.#peers.get(peer)!);
  }

  /** Advance now, write to disk later with `persistUpTo` (once the host has the message). */
  advanceLater(peer: string, stream: string, next: number): void {
    this.#set(peer, stream, next);
  }

  /** Write `pos` (a position `get` gave for `peer`) to disk unless the disk is already there or past it. */
  persistUpTo(peer: string, pos: StreamPosition): void {
    const d = this.#durable.get(peer);
    if (d !== undefined && d.stream === pos.stream && d.next >= pos.next) return;
    this.#write(peer, pos);
  }

  #write(peer: string, pos: StreamPosition): void {
    this.#journal.append({ peer, stream: pos.stream, next: pos.next });
    this.#durable.set(peer, pos);
    if (this.#journal.wantsCompaction) this.#journal.compact({ version: 1, peers: Object.fromEntries(this.#durable) });
  }

  // Also the loader's shape check: what comes from disk may be anything.
  #set(peer: unknown, stream: unknown, next: unknown): void {
    if (
      typeof peer !== 'string' ||
      typeof stream !== 'string' ||
      typeof next !== 'number' ||
      !Number.isSafeInteger(next)
    )
      throw new ClientError('CLIENT_ERR_STATE_CORRUPT', 'inbox journal entry has the wrong shape');
    this.#peers.set(peer, Object.freeze({ stream, next }));
  }
}
