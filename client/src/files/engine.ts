/**
 * File transfers for one client: a sender and a receiver behind one `receive(peer, bytes)`.
 * Message types say the direction (OFFER, CHUNK, CANCEL go to the recipient; the rest come
 * back to the sender), so a peer can never reach our outgoing transfers with recipient-bound
 * messages or the other way round.
 *
 * @example
 * const files = new FileTransfers({ channel, stateDir, inboxDir, approve: async (o) => askUser(o) });
 * await files.start();                     // resumes what a restart interrupted
 * session.on('transfer', (peer, bytes) => files.receive(peer, bytes));
 * const { id } = await files.send(peerKey, '/tmp/report.pdf', { mediaType: 'application/pdf' });
 * files.on('done', (e) => console.log(e.id, e.direction));
 */
import { EventEmitter } from 'node:events';
import { isClientError } from '../errors.js';
import type { TransferChannel, TransferFailure, TransferProgress, TransferRef } from './channel.js';
import type { LongMessageSink } from './long-message.js';
import { type ApproveOffer, FileReceiver, type IncomingOffer } from './receiver.js';
import { FileSender, type SendFileOptions } from './sender.js';
import { decodeTransferMessage, TransferMessageType } from './wire.js';

export interface FileTransfersOptions {
  channel: TransferChannel;
  stateDir: string;
  inboxDir: string;
  approve: ApproveOffer;
  chunkBytes?: number;
  /** Credit per incoming transfer, bytes, or per sender's key (see FileReceiverOptions). */
  windowBytes?: number | ((peer: string) => number);
  /** Credit across all incoming transfers, bytes, or per sender's key (see FileReceiverOptions). */
  budgetBytes?: number | ((peer: string) => number);
  maxFileBytes?: number;
  quotaBytes?: number;
  offerTimeoutMs?: number;
  approvalTimeoutMs?: number;
  resendMs?: number;
  resendMaxMs?: number;
  /** Where long messages go (long-message.ts); see FileReceiverOptions. */
  messages?: LongMessageSink;
}

export interface FileTransfersEvents {
  offer: [IncomingOffer];
  accepted: [TransferRef];
  progress: [TransferProgress];
  done: [TransferRef & { size: number; sha256: string; path?: string; name?: string }];
  failed: [TransferFailure];
  /** A message that did not parse (CLIENT_ERR_FILE_BAD_MESSAGE); dropped, never fatal. */
  rejected: [{ peer: string; code: string; message: string }];
}

const defined = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]-?: Exclude<T[K], undefined>;
  };

export class FileTransfers extends EventEmitter<FileTransfersEvents> {
  readonly sender: FileSender;
  readonly receiver: FileReceiver;
  readonly counters = { rejected: 0 };

  constructor(o: FileTransfersOptions) {
    super();
    const shared = defined({ resendMs: o.resendMs, resendMaxMs: o.resendMaxMs, maxFileBytes: o.maxFileBytes });
    this.sender = new FileSender({
      channel: o.channel,
      stateDir: o.stateDir,
      ...shared,
      ...defined({ chunkBytes: o.chunkBytes, offerTimeoutMs: o.offerTimeoutMs }),
    });
    this.receiver = new FileReceiver({
      channel: o.channel,
      stateDir: o.stateDir,
      inboxDir: o.inboxDir,
      approve: o.approve,
      ...shared,
      ...defined({
        windowBytes: o.windowBytes,
        budgetBytes: o.budgetBytes,
        quotaBytes: o.quotaBytes,
        approvalTimeoutMs: o.approvalTimeoutMs,
        messages: o.messages,
      }),
    });
    for (const side of [this.sender, this.receiver] as EventEmitter[]) {
      for (const ev of ['accepted', 'progress', 'done', 'failed'] as const)
        side.on(ev, (e: unknown) => void this.emit(ev, e as never));
    }
    this.receiver.on('offer', (o) => void this.emit('offer', o));
  }

  /** Resume transfers a restart interrupted (both directions). */
  async start(): Promise<void> {
    await this.receiver.restore();
    await this.sender.restore();
  }

  stop(): void {
    this.sender.stop();
    this.receiver.stop();
  }

  send(peer: string, path: string, opts?: SendFileOptions): Promise<{ id: string }> {
    return this.sender.send(peer, path, opts);
  }

  /** Cancel a transfer in either direction. */
  async cancel(peer: string, id: string, direction: 'in' | 'out'): Promise<void> {
    if (direction === 'out') this.sender.cancel(peer, id);
    else await this.receiver.cancel(peer, id);
  }

  /** Transfers in both directions: offers waiting for the host, in progress (for `files.list`). */
  list(): { incoming: ReturnType<FileReceiver['list']>; outgoing: ReturnType<FileSender['list']> } {
    return { incoming: this.receiver.list(), outgoing: this.sender.list() };
  }

  /** Chunks sent to `peer` await its credit (FileSender.inFlight). */
  awaitingProgress(peer: string): boolean {
    return this.sender.inFlight(peer);
  }

  /**
   * The best path to `peer` changed: both directions' silence clocks start again (resume soon);
   * `fellBack` (the better path closed or went silent): the sender asks where the recipient is at once.
   */
  pathChanged(peer: string, fellBack = false): void {
    this.sender.pathChanged(peer, fellBack);
    this.receiver.pathChanged(peer);
  }

  /** Trust in `peer` ended (revoked): end all its transfers, both directions, as cancelled. */
  async cancelPeer(peer: string): Promise<void> {
    for (const t of this.sender.list()) if (t.peer === peer) this.sender.cancel(peer, t.id);
    for (const t of this.receiver.list()) if (t.peer === peer) await this.receiver.cancel(peer, t.id);
  }

  /** One message from `peer` (authenticated by the session). Never throws. */
  receive(peer: string, bytes: Uint8Array): void {
    let m: ReturnType<typeof decodeTransferMessage>;
    try {
      m = decodeTransferMessage(bytes);
    } catch (err) {
      this.counters.rejected++;
      if (isClientError(err)) this.emit('rejected', { peer, code: err.code, message: err.message });
      return;
    }
    switch (m.type) {
      case TransferMessageType.OFFER:
      case TransferMessageType.CHUNK:
      case TransferMessageType.CANCEL:
        this.receiver.handle(peer, m);
        break;
      default:
        this.sender.handle(peer, m);
    }
  }
}
