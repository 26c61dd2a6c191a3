/** What an incoming transfer is, as shown to the host and as kept across restarts. */
import type { TransferReasonName } from './wire.js';

/** What the host is asked to approve (and what `list()` shows of a transfer). */
export interface IncomingOffer {
  id: string;
  peer: string;
  /** The sanitised name the file will land under (before a " (n)" suffix). */
  name: string;
  /** The name exactly as offered, for display only. */
  offeredName: string;
  size: number;
  mediaType: string;
  note: string;
  sha256: string;
}

/** What survives a restart of the recipient. */
export interface IncomingRecord {
  offer: IncomingOffer;
  chunkSize: number;
  state: 'receiving' | 'done' | 'failed';
  /** Chunks durably written (fdatasync'ed) in order. */
  next: number;
  path?: string;
  reason?: TransferReasonName;
  /** Ended by a DECLINE (never accepted): a re-sent offer is declined again, not re-asked. */
  declined?: boolean;
}

export function isIncomingRecord(v: unknown): v is IncomingRecord {
  const r = v as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) return false;
  const o = r.offer as Record<string, unknown>;
  return (
    typeof o === 'object' &&
    o !== null &&
    ['id', 'peer', 'name', 'offeredName', 'mediaType', 'note', 'sha256'].every((k) => typeof o[k] === 'string') &&
    typeof o.size === 'number' &&
    typeof r.chunkSize === 'number' &&
    typeof r.next === 'number' &&
    (r.state === 'receiving' || r.state === 'done' || r.state === 'failed')
  );
}
