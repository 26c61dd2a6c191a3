/**
 * File transfers (client/src/files) wired into the client: the session carries the engine's
 * messages (FILE inner payloads under TRANSPORT packets), an incoming offer waits for the
 * host's answer (`files.respond`), revoking a peer ends its transfers, and the engine's events
 * become the client's `file.*` events (progress throttled). The SDK, the extension, the CLI
 * and the MCP tools all use this one object.
 *
 * @example
 *   client.on('file.offer', (o) => client.files.respond(o.id, o.size < 10_000_000));
 *   const { id } = await client.files.send('Bob', '/tmp/report.pdf', { note: 'Q3' });
 *   client.on('file.done', (d) => console.log(d.id, d.path));
 */
import { extname } from 'node:path';
import { ClientError } from '../errors.js';
import type { TransferFailure, TransferProgress, TransferRef } from '../files/channel.js';
import {
  FILE_CHUNK_BYTES,
  FILE_RECEIVE_BUDGET_BYTES,
  FILE_RELAY_ALLOWANCE_SHARE_PERCENT,
  FILE_RELAY_RATE_WINDOW_MS,
  FILE_WINDOW_BYTES,
} from '../files/constants.js';
import { FileTransfers } from '../files/engine.js';
import { MAX_LONG_MESSAGE_BYTES } from '../files/long-message.js';
import type { IncomingOffer } from '../files/receiver.js';
import type { OutgoingBody, Session } from '../session/session.js';
import { WEBRTC_MAX_BUFFERED_BYTES } from '../transports/webrtc-constants.js';
import { LongMessages } from './long-messages.js';

/**
 * Credit per incoming transfer from a peer whose best path is a direct link, bytes. A direct
 * link has no relay queue to overflow, so a larger window keeps it busy (bench:files, engine
 * over TCP: 0.62× of a plain socket with 4 MiB against 0.40× with the relay-safe default; SDK
 * clients over a direct link, 256 MiB: 62–63 MB/s with 4 MiB, 68–69 MB/s with 8 MiB, peak RSS
 * +10 MiB). Relay peers get relayCredit(): a share of the server's advertised relay allowance.
 */
export const FILE_DIRECT_WINDOW_BYTES = 8_388_608;
/**
 * Credit across all incoming transfers while every active sender is on a direct link, bytes
 * (a pass uses the smallest budget of the active senders). The 1 MiB relay-safe budget held a
 * lone direct transfer to 46–49 MB/s in bench:files (256 MiB, loopback, 15 ms CPU per MB per
 * side); 8 MiB gave 62–63 MB/s at 9.5 ms/MB. Bounds the chunks a recipient holds for its disk.
 */
export const FILE_DIRECT_RECEIVE_BUDGET_BYTES = 8_388_608;
/**
 * Credit per transfer and across all transfers while a sender is on WebRTC, bytes: half the
 * data channel's send-buffer bound (WEBRTC_MAX_BUFFERED_BYTES), where the link closes itself.
 * With 8 MiB of credit a 1 GiB transfer closed its WebRTC link again and again (1,182 chunks
 * re-sent in bench:files); half leaves room for the session's other traffic on the channel.
 */
export const FILE_WEBRTC_CREDIT_BYTES = WEBRTC_MAX_BUFFERED_BYTES / 2;
/**
 * `file.progress` events per transfer at most this often, ms (plus the last one): a 1 GiB
 * transfer makes ~22,000 chunk writes, which would be as many JSON-RPC lines for the host.
 */
export const FILE_PROGRESS_EVENT_INTERVAL_MS = 250;

/** What `file.offer` carries: the offer as the host's gates see it, plus who sent it. */
export interface FileOfferEvent extends IncomingOffer {
  /** The sender's display name (as the local user approved it) and fingerprint. */
  from: string;
  fingerprint: string;
}

export type FileProgressEvent = TransferProgress & { name: string };
/**
 * Credit for a relayed sender: FILE_RELAY_ALLOWANCE_SHARE_PERCENT of the server's advertised
 * per-recipient allowance, at most what its per-key rate passes in FILE_RELAY_RATE_WINDOW_MS (at
 * least one chunk); across transfers at least FILE_RECEIVE_BUDGET_BYTES. FILE_WINDOW_BYTES /
 * FILE_RECEIVE_BUDGET_BYTES from a server that advertises no allowance.
 */
export function relayCredit(
  allowanceBytes: number | null,
  rateBytesPerS: number | null = null,
): { window: number; budget: number } {
  if (allowanceBytes === null) return { window: FILE_WINDOW_BYTES, budget: FILE_RECEIVE_BUDGET_BYTES };
  let share = Math.floor((allowanceBytes * FILE_RELAY_ALLOWANCE_SHARE_PERCENT) / 100);
  if (rateBytesPerS !== null) share = Math.min(share, Math.floor((rateBytesPerS * FILE_RELAY_RATE_WINDOW_MS) / 1000));
  const window = Math.max(FILE_CHUNK_BYTES, share);
  return { window, budget: Math.max(FILE_RECEIVE_BUDGET_BYTES, window) };
}

export type FileDoneEvent = TransferRef & { size: number; name: string; path?: string; sha256: string };

export interface ClientFileEvents {
  'file.offer': [FileOfferEvent];
  'file.accepted': [TransferRef];
  'file.progress': [FileProgressEvent];
  'file.done': [FileDoneEvent];
  'file.failed': [TransferFailure & { name: string }];
}

export interface ClientFilesDeps {
  session: Session;
  stateDir: string;
  inboxDir: string;
  /** The kind of the peer's best open path now ('direct', 'webrtc', 'relay'), if any. */
  bestPath: (peer: string) => string | undefined;
  /** The server's advertised per-recipient relay allowance now (WELCOME relayAllowanceBytes), or null. */
  relayAllowanceBytes?: () => number | null;
  /** The server's advertised per-key byte rate now (WELCOME rateBytesPerS), or null. */
  relayRateBytesPerS?: () => number | null;
  emit: <K extends keyof ClientFileEvents>(event: K, ...args: ClientFileEvents[K]) => void;
  now?: () => number;
  /** Largest long message sent or accepted, bytes (validated config; default MAX_LONG_MESSAGE_BYTES). */
  maxLongMessageBytes?: number;
  /** How a long message's outcome reaches the client's `message.delivered` / `message.failed`. */
  emitMessage?: {
    delivered: (d: { id: string; to: string; seq: number }) => void;
    failed: (f: { id: string; to: string; code: string }) => void;
  };
}

export interface SendFileParams {
  note?: string;
  name?: string;
  mediaType?: string;
}

/** Media types guessed from the extension when the caller gives none (else octet-stream). */
const MEDIA_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.html': 'text/html',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.tar': 'application/x-tar',
});

interface Waiting {
  offer: IncomingOffer;
  answer: (accept: boolean) => void;
}

interface Shown {
  name: string;
  /** Last progress event sent, ms. */
  at: number;
}

/** The client's file transfers: the engine plus the host's answers and the event names. */
export class ClientFiles {
  readonly engine: FileTransfers;
  /** Messages over one packet, carried by this engine (long-messages.ts). */
  readonly long: LongMessages;
  readonly #d: ClientFilesDeps;
  /** Offers waiting for `respond`, by transfer id (bounded by the engine's FILE_MAX_PENDING_OFFERS). */
  readonly #waiting = new Map<string, Waiting>();
  /**
   * Names of live transfers, by "<direction>/<peer>/<id>", for events that carry only ids.
   * Bounded by the engine's FILE_MAX_INCOMING + FILE_MAX_PENDING_OFFERS + FILE_MAX_OUTGOING:
   * an entry leaves on done/failed.
   */
  readonly #shown = new Map<string, Shown>();
  readonly #now: () => number;

  constructor(d: ClientFilesDeps) {
    this.#d = d;
    this.#now = d.now ?? Date.now;
    this.long = new LongMessages({
      session: d.session,
      stateDir: d.stateDir,
      maxBytes: d.maxLongMessageBytes ?? MAX_LONG_MESSAGE_BYTES,
      engine: () => this.engine,
      bestPath: d.bestPath,
      emitDelivered: (x) => d.emitMessage?.delivered(x),
      emitFailed: (x) => d.emitMessage?.failed(x),
    });
    // Direct and WebRTC paths have no relay queue to overflow: larger credit keeps them busy.
    const credit = (peer: string): { window: number; budget: number } => {
      const kind = d.bestPath(peer);
      if (kind === 'direct') return { window: FILE_DIRECT_WINDOW_BYTES, budget: FILE_DIRECT_RECEIVE_BUDGET_BYTES };
      if (kind === 'webrtc') return { window: FILE_WEBRTC_CREDIT_BYTES, budget: FILE_WEBRTC_CREDIT_BYTES };
      return relayCredit(d.relayAllowanceBytes?.() ?? null, d.relayRateBytesPerS?.() ?? null);
    };
    this.engine = new FileTransfers({
      messages: this.long.sink,
      channel: { send: (peer, message) => d.session.sendFileMessage(peer, message) },
      stateDir: d.stateDir,
      inboxDir: d.inboxDir,
      approve: (offer) => this.#ask(offer),
      windowBytes: (peer) => credit(peer).window,
      budgetBytes: (peer) => credit(peer).budget,
    });
    const e = this.engine;
    const long = this.long;
    e.on('accepted', (r) => long.owns(r) || d.emit('file.accepted', r));
    e.on('progress', (p) => {
      if (long.owns(p)) return;
      const s = this.#shown.get(refKey(p));
      const now = this.#now();
      if (s && now - s.at < FILE_PROGRESS_EVENT_INTERVAL_MS && p.bytes < p.total) return;
      if (s) s.at = now;
      d.emit('file.progress', { ...p, name: s?.name ?? '' });
    });
    e.on('done', (r) => {
      if (long.owns(r)) return long.done(r);
      const s = this.#shown.get(refKey(r));
      this.#shown.delete(refKey(r));
      d.emit('file.done', {
        id: r.id,
        peer: r.peer,
        direction: r.direction,
        size: r.size,
        name: r.name ?? s?.name ?? '',
        ...(r.path ? { path: r.path } : {}),
        sha256: r.sha256, // from the durable record: also after either side restarted
      });
    });
    e.on('failed', (f) => {
      if (long.owns(f)) return long.failed(f);
      const s = this.#shown.get(refKey(f));
      this.#shown.delete(refKey(f));
      // Timed out, cancelled by the sender or here: the host's late answer has nothing to answer.
      if (f.direction === 'in') {
        const w = this.#waiting.get(f.id);
        if (w && w.offer.peer === f.peer) {
          this.#waiting.delete(f.id);
          w.answer(false);
        }
      }
      d.emit('file.failed', { ...f, name: s?.name ?? '' });
    });
    // Trust ended: nothing of this peer's transfers goes on, either way.
    d.session.on('peer.status', (s) => {
      if (s.state === 'revoked' || s.state === 'revoked-by-peer') void e.cancelPeer(s.key).catch(() => {});
    });
    d.session.on('file.message', ({ from, bytes }) => e.receive(from, bytes));
  }

  /** Resume what a restart interrupted (both directions). */
  async start(): Promise<void> {
    await this.engine.start();
    this.long.start();
  }

  /** Send a message over one packet as a long message (long-messages.ts). */
  sendLong(peer: string, body: OutgoingBody): { id: string; seq: number; to: string } {
    return this.long.send(peer, body);
  }

  stop(): void {
    for (const w of this.#waiting.values()) w.answer(false);
    this.#waiting.clear();
    this.engine.stop();
  }

  /** Offer the file at `path` to a trusted peer (name or key). The outcome comes as events. */
  async send(peerRef: string, path: string, p: SendFileParams = {}): Promise<{ id: string; to: string; name: string }> {
    const peer = this.#d.session.resolvePeer(peerRef);
    const state = this.#d.session.peerInfo(peer).state;
    if (state === 'revoked' || state === 'revoked-by-peer') throw new ClientError('CLIENT_ERR_REVOKED', peerRef);
    if (state !== 'trusted') throw new ClientError('CLIENT_ERR_NOT_TRUSTED', peerRef);
    const mediaType = p.mediaType ?? MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
    const { id } = await this.engine.send(peer, path, {
      mediaType,
      ...(p.note !== undefined ? { note: p.note } : {}),
      ...(p.name !== undefined ? { name: p.name } : {}),
    });
    const name = this.engine.sender.list().find((t) => t.id === id)?.name ?? p.name ?? '';
    this.#shown.set(`out/${peer}/${id}`, { name, at: 0 });
    return { id, to: peer, name };
  }

  /** The host's answer to a `file.offer`. */
  respond(id: string, accept: boolean): { id: string; accepted: boolean } {
    const w = this.#waiting.get(id);
    if (!w) throw new ClientError('CLIENT_ERR_FILE_UNKNOWN_TRANSFER', id);
    this.#waiting.delete(id);
    w.answer(accept);
    return { id, accepted: accept };
  }

  /** Cancel a transfer in either direction (a waiting offer is declined). */
  async cancel(id: string): Promise<{ id: string; cancelled: true }> {
    const { incoming, outgoing } = this.engine.list();
    const out = outgoing.find((t) => t.id === id);
    if (out) await this.engine.cancel(out.peer, id, 'out');
    else {
      const inc = incoming.find((t) => t.id === id);
      if (!inc) throw new ClientError('CLIENT_ERR_FILE_UNKNOWN_TRANSFER', id);
      await this.engine.cancel(inc.peer, id, 'in');
    }
    return { id, cancelled: true };
  }

  /** Offers waiting for an answer and transfers in progress, both directions. */
  list() {
    const { incoming, outgoing } = this.engine.list();
    // Long messages ride the same engine but are messages, not files: not listed here.
    const file = (t: { id: string; peer: string }, direction: 'in' | 'out') =>
      !this.long.owns({ id: t.id, peer: t.peer, direction });
    return {
      incoming: incoming.filter((t) => file(t, 'in')).map((t) => ({ ...t, direction: 'in' as const })),
      outgoing: outgoing
        .filter((t) => file(t, 'out'))
        .map((t) => ({ ...t, state: t.accepted ? 'sending' : 'offered' })),
    };
  }

  /** The engine's approve callback: announce the offer, wait for `respond` (or the engine's timeout). */
  #ask(offer: IncomingOffer): Promise<boolean> {
    const info = this.#d.session.peerInfo(offer.peer);
    this.#shown.set(`in/${offer.peer}/${offer.id}`, { name: offer.name, at: 0 });
    return new Promise<boolean>((resolve) => {
      this.#waiting.set(offer.id, { offer, answer: resolve });
      this.#d.emit('file.offer', { ...offer, from: info.name, fingerprint: info.fingerprint });
    });
  }
}

const refKey = (r: TransferRef) => `${r.direction}/${r.peer}/${r.id}`;
