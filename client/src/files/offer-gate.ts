/**
 * The recipient's checks on an offer before a byte flows: room for another transfer, the size
 * under the maximum, a name that sanitises, space under the quota and on the disk, and then
 * the host's own decision within the approval timeout. Each check answers with the reason
 * the offer is declined for (a TransferReasonName), never by throwing at the peer.
 */
import { ensureDir } from '../store/home-dir.js';
import { FILE_MAX_INCOMING, FILE_MAX_PENDING_OFFERS } from './constants.js';
import type { IncomingOffer, IncomingRecord } from './incoming-record.js';
import { freeBytes, inboxBytes } from './landing.js';
import { sanitizeFileName } from './safe-name.js';
import type { Offer, TransferReasonName } from './wire.js';

/** The host's gate: resolve true to accept. Called once per new offer. */
export type ApproveOffer = (offer: IncomingOffer) => boolean | Promise<boolean>;

type OfferMessage = Offer & { id: string };

/** The offer as the host sees it, or why it is declined before the host is asked. */
export function screenOffer(
  peer: string,
  m: OfferMessage,
  load: { pending: number; incoming: number },
  maxFileBytes: number,
): IncomingOffer | TransferReasonName {
  if (load.pending >= FILE_MAX_PENDING_OFFERS || load.incoming >= FILE_MAX_INCOMING) return 'too-many';
  if (m.size > maxFileBytes) return 'too-large';
  let name: string;
  try {
    name = sanitizeFileName(m.name);
  } catch {
    return 'bad-name';
  }
  return {
    id: m.id,
    peer,
    name,
    offeredName: m.name,
    size: m.size,
    mediaType: m.mediaType,
    note: m.note,
    sha256: Buffer.from(m.sha256).toString('hex'),
  };
}

/** The record kept for a declined offer (so a re-sent one is declined again, not re-asked). */
export function declinedRecord(peer: string, m: OfferMessage, reason: TransferReasonName): IncomingRecord {
  return {
    offer: {
      id: m.id,
      peer,
      name: '',
      offeredName: '',
      size: m.size,
      mediaType: m.mediaType,
      note: '',
      sha256: Buffer.from(m.sha256).toString('hex'),
    },
    chunkSize: m.chunkSize,
    state: 'failed',
    next: 0,
    reason,
    declined: true,
  };
}

/**
 * Null when `size` more bytes fit beside `reservedBytes` still to come for transfers in
 * progress; else why not (quota, disk).
 */
export async function spaceFor(
  inboxDir: string,
  quotaBytes: number | undefined,
  reservedBytes: number,
  size: number,
): Promise<TransferReasonName | null> {
  if (quotaBytes !== undefined) {
    const held = await inboxBytes(inboxDir);
    if (held + reservedBytes + size > quotaBytes) return 'quota';
  }
  ensureDir(inboxDir);
  const free = await freeBytes(inboxDir);
  if (free !== null && free < reservedBytes + size) return 'disk-full';
  return null;
}

/** The host's verdict, or 'timeout' when it has not decided within `timeoutMs`. */
export async function askHost(
  approve: ApproveOffer,
  offer: IncomingOffer,
  timeoutMs: number,
): Promise<boolean | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
    timer.unref?.();
  });
  return Promise.race([Promise.resolve(approve(offer)), timeout]).finally(() => clearTimeout(timer));
}
