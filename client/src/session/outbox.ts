import { randomBytes } from 'node:crypto';
import { OUTBOX_MAX_BYTES, OUTBOX_MAX_MESSAGES } from '../constants.js';
import { ClientError } from '../errors.js';
import { Journal } from '../store/journal.js';
import type { BodyEncoding } from './payload.js';

/** One message waiting for its end-to-end ack. */
export interface OutboxMessage {
  readonly peer: string;
  readonly id: string;
  readonly stream: string;
  readonly seq: number;
  readonly enc: BodyEncoding;
  readonly body: Uint8Array;
  /** ms since epoch. */
  readonly createdAt: number;
}

interface StoredMessage {
  peer: string;
  id: string;
  stream: string;
  seq: number;
  enc: BodyEncoding;
  body: string;
  createdAt: number;
}
interface StreamState {
  stream: string;
  next: number;
}
interface Snapshot {
  version: 1;
  streams: Record<string, StreamState>;
  messages: StoredMessage[];
}
type Entry =
  | { op: 'add'; m: StoredMessage }
  | { op: 'stream'; peer: string; stream: string }
  | { op: 'ack'; peer: string; stream: string; upTo: number }
  | { op: 'drop'; peer: string };

const newStreamId = () => randomBytes(12).toString('base64url');

const corrupt = (why: string) => new ClientError('CLIENT_ERR_STATE_CORRUPT', `outbox: ${why}`);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= -1;

/** A stored message read back from disk, checked field by field (the file may be damaged). */
function checkStored(v: unknown): StoredMessage {
  if (
    !isObject(v) ||
    typeof v.peer !== 'string' ||
    typeof v.id !== 'string' ||
    !/^[0-9a-f]{32}$/.test(v.id) ||
    typeof v.stream !== 'string' ||
    !isSeq(v.seq) ||
    v.seq < 0 ||
    (v.enc !== 'text' && v.enc !== 'bytes') ||
    typeof v.body !== 'string' ||
    typeof v.createdAt !== 'number'
  )
    throw corrupt('a stored message has the wrong shape');
  return v as unknown as StoredMessage;
}

function checkEntry(v: unknown): Entry {
  if (!isObject(v)) throw corrupt('a journal entry is not an object');
  if (v.op === 'add') return { op: 'add', m: checkStored(v.m) };
  if (v.op === 'ack' && typeof v.peer === 'string' && typeof v.stream === 'string' && isSeq(v.upTo))
    return { op: 'ack', peer: v.peer, stream: v.stream, upTo: v.upTo };
  if (v.op === 'drop' && typeof v.peer === 'string') return { op: 'drop', peer: v.peer };
  if (v.op === 'stream' && typeof v.peer === 'string' && typeof v.stream === 'string')
    return { op: 'stream', peer: v.peer, stream: v.stream };
  throw corrupt('a journal entry has the wrong shape');
}

/**
 * The sender's durable outbox. Each peer has a stream (random id, sequence numbers from 0);
 * a message stays until the peer's signed ack covers its sequence number, across restarts.
 * Bounded by OUTBOX_MAX_MESSAGES and OUTBOX_MAX_BYTES: over either, `add` throws
 * CLIENT_ERR_OUTBOX_FULL instead of growing.
 */
export class Outbox {
  readonly #journal: Journal<Snapshot, Entry>;
  readonly #streams = new Map<string, StreamState>();
  /** peer → messages in sequence order. */
  readonly #byPeer = new Map<string, OutboxMessage[]>();
  #count = 0;
  #bytes = 0;

  constructor(stateDir: string) {
    this.#journal = new Journal(stateDir, 'outbox');
    const { snapshot, entries } = this.#journal.load();
    if (snapshot !== null) {
      if (
        !isObject(snapshot) ||
        snapshot.version !== 1 ||
        !isObject(snapshot.streams) ||
        !Array.isArray(snapshot.messages)
      )
        throw corrupt('snapshot has the wrong shape');
      for (const [peer, st] of Object.entries(snapshot.streams)) {
        if (!isObject(st) || typeof st.stream !== 'string' || !isSeq(st.next))
          throw corrupt('a stream has the wrong shape');
        this.#streams.set(peer, { stream: st.stream, next: st.next });
      }
      for (const m of snapshot.messages) this.#insert(checkStored(m));
    }
    for (const e of entries) this.#apply(checkEntry(e));
  }

  get size(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Messages waiting for `peer`, oldest first. */
  pending(peer: string): readonly OutboxMessage[] {
    return this.#byPeer.get(peer) ?? [];
  }

  peers(): string[] {
    return [...this.#byPeer.keys()];
  }

  /**
   * Where the next message to `peer` will go: its stream and sequence number (the stream is
   * made, durably, if there is none yet). A long message, which travels outside the stream,
   * is ordered by this position (sdk/long-messages.ts).
   */
  position(peer: string): { stream: string; seq: number } {
    let st = this.#streams.get(peer);
    if (!st) {
      st = { stream: newStreamId(), next: 0 };
      this.#persist({ op: 'stream', peer, stream: st.stream });
      this.#streams.set(peer, st);
      this.#maybeCompact();
    }
    return { stream: st.stream, seq: st.next };
  }

  add(peer: string, enc: BodyEncoding, body: Uint8Array, now = Date.now()): OutboxMessage {
    if (this.#count >= OUTBOX_MAX_MESSAGES)
      throw new ClientError('CLIENT_ERR_OUTBOX_FULL', `${this.#count} messages`, { limit: OUTBOX_MAX_MESSAGES });
    if (this.#bytes + body.length > OUTBOX_MAX_BYTES)
      throw new ClientError('CLIENT_ERR_OUTBOX_FULL', `${this.#bytes} bytes`, { limit: OUTBOX_MAX_BYTES });
    let st = this.#streams.get(peer);
    if (!st) {
      st = { stream: newStreamId(), next: 0 };
      this.#streams.set(peer, st);
    }
    const m: StoredMessage = {
      peer,
      id: randomBytes(16).toString('hex'),
      stream: st.stream,
      seq: st.next,
      enc,
      body: Buffer.from(body).toString('base64'),
      createdAt: now,
    };
    this.#persist({ op: 'add', m });
    const msg = this.#insert(m);
    this.#maybeCompact();
    return msg;
  }

  /** Remove what a cumulative ack covers; returns the removed messages. */
  ack(peer: string, stream: string, upTo: number): OutboxMessage[] {
    const list = this.#byPeer.get(peer);
    if (!list || list.length === 0 || list[0]!.stream !== stream || list[0]!.seq > upTo) return [];
    this.#persist({ op: 'ack', peer, stream, upTo });
    const removed = this.#ack(peer, stream, upTo);
    this.#maybeCompact();
    return removed;
  }

  /** Forget everything for `peer` (revoked); a later message starts a new stream. */
  drop(peer: string): OutboxMessage[] {
    const list = this.#byPeer.get(peer) ?? [];
    if (list.length === 0 && !this.#streams.has(peer)) return [];
    this.#persist({ op: 'drop', peer });
    const removed = this.#drop(peer);
    this.#maybeCompact();
    return removed;
  }

  #persist(e: Entry): void {
    this.#journal.append(e);
  }

  // Called after the entry is applied, so the snapshot holds it.
  #maybeCompact(): void {
    if (this.#journal.wantsCompaction) this.#journal.compact(this.#snapshot());
  }

  #insert(m: StoredMessage): OutboxMessage {
    const msg: OutboxMessage = Object.freeze({
      peer: m.peer,
      id: m.id,
      stream: m.stream,
      seq: m.seq,
      enc: m.enc,
      body: new Uint8Array(Buffer.from(m.body, 'base64')),
      createdAt: m.createdAt,
    });
    const st = this.#streams.get(m.peer);
    if (!st || st.stream !== m.stream) this.#streams.set(m.peer, { stream: m.stream, next: m.seq + 1 });
    else st.next = Math.max(st.next, m.seq + 1);
    const list = this.#byPeer.get(m.peer) ?? [];
    if (list.some((x) => x.id === m.id)) return list.find((x) => x.id === m.id)!;
    list.push(msg);
    this.#byPeer.set(m.peer, list);
    this.#count++;
    this.#bytes += msg.body.length;
    return msg;
  }

  #ack(peer: string, stream: string, upTo: number): OutboxMessage[] {
    const list = this.#byPeer.get(peer) ?? [];
    const removed: OutboxMessage[] = [];
    while (list.length > 0 && list[0]!.stream === stream && list[0]!.seq <= upTo) removed.push(list.shift()!);
    this.#afterRemove(peer, list, removed);
    return removed;
  }

  #drop(peer: string): OutboxMessage[] {
    const removed = [...(this.#byPeer.get(peer) ?? [])];
    this.#afterRemove(peer, [], removed);
    this.#streams.delete(peer);
    return removed;
  }

  #afterRemove(peer: string, list: OutboxMessage[], removed: OutboxMessage[]): void {
    if (list.length === 0) this.#byPeer.delete(peer);
    for (const m of removed) {
      this.#count--;
      this.#bytes -= m.body.length;
    }
  }

  #apply(e: Entry): void {
    if (e.op === 'add') this.#insert(e.m);
    else if (e.op === 'ack') this.#ack(e.peer, e.stream, e.upTo);
    else if (e.op === 'drop') this.#drop(e.peer);
    else if (e.op === 'stream') {
      if (!this.#streams.has(e.peer)) this.#streams.set(e.peer, { stream: e.stream, next: 0 });
    } else throw new ClientError('CLIENT_ERR_STATE_CORRUPT', 'outbox journal has an unknown entry');
  }

  #snapshot(): Snapshot {
    const messages: StoredMessage[] = [];
    for (const list of this.#byPeer.values())
      for (const m of list) messages.push({ ...m, body: Buffer.from(m.body).toString('base64') });
    return { version: 1, streams: Object.fromEntries(this.#streams), messages };
  }
}
