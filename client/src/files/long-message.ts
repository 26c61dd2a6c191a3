/**
 * Long messages: a message too large for one packet (over MAX_MESSAGE_BYTES) travels as a file
 * transfer whose OFFER names one of LONG_MESSAGE_MEDIA_TYPES (docs/protocol.md "Long messages").
 * The stream is the same — chunks under the session keys, receiver-driven credit, resume from
 * the last durable chunk — but the recipient neither asks the host about a file nor lands one:
 * the offer is accepted for a trusted peer (message consent already exists) up to the
 * recipient's maximum, and the verified whole goes through the host's *message* gates and is
 * delivered once as an ordinary message with the transfer id as its message id.
 */
import type { IncomingOffer } from './incoming-record.js';

/**
 * Default largest long message, bytes (configurable per client: `maxLongMessageBytes`, up to
 * LONG_MESSAGE_CEILING_BYTES). A delivered message is handed to the host whole, in memory, so
 * this bounds what one message costs the recipient.
 */
export const MAX_LONG_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Highest value `maxLongMessageBytes` may be configured to, bytes (64 MiB). */
export const LONG_MESSAGE_CEILING_BYTES = 64 * 1024 * 1024;
/**
 * Long messages received at once, per recipient, messages. Each one is read into memory whole
 * when it completes, so memory is at most this × the maximum; an offer beyond it is not
 * answered (the sender re-offers on its timer), so it waits instead of failing.
 */
export const LONG_MESSAGE_MAX_INCOMING = 4;

/** OFFER media types that mark a long message, and the body encoding each stands for. */
export const LONG_MESSAGE_MEDIA_TYPES = Object.freeze({
  text: 'application/x.p2p-comm.message-text',
  bytes: 'application/x.p2p-comm.message-bytes',
} as const);
/** The OFFER name of a long message (a name is required on the wire; it is never used as one). */
export const LONG_MESSAGE_OFFER_NAME = 'message';

export type LongMessageEncoding = keyof typeof LONG_MESSAGE_MEDIA_TYPES;

/** The encoding a media type marks, or null for an ordinary file. */
export function longMessageEncoding(mediaType: string): LongMessageEncoding | null {
  if (mediaType === LONG_MESSAGE_MEDIA_TYPES.text) return 'text';
  if (mediaType === LONG_MESSAGE_MEDIA_TYPES.bytes) return 'bytes';
  return null;
}

/**
 * The recipient's first answer to a long-message offer: a DECLINE reason, 'wait' (over
 * LONG_MESSAGE_MAX_INCOMING: no answer, the sender re-offers), or null (on to the file checks:
 * count, name, space). `inProgress` counts long messages offered or being received now.
 */
export function screenLongOffer(
  sink: LongMessageSink | undefined,
  peer: string,
  offer: { id: string; size: number },
  inProgress: number,
): 'declined' | 'too-large' | 'wait' | null {
  if (sink === undefined || !sink.accepts(peer, offer.id)) return 'declined';
  if (offer.size > sink.maxBytes) return 'too-large';
  return inProgress >= LONG_MESSAGE_MAX_INCOMING ? 'wait' : null;
}

/**
 * Where the receiver hands long messages instead of landing a file. `deliver` runs the
 * message gates; it calls `commit()` (the receiver records the transfer as done, durably)
 * just before the message is delivered or refused for good — false means the transfer ended
 * meanwhile (cancelled): deliver nothing — so a restart never delivers it twice, and resolves
 * when the host decided.
 */
export interface LongMessageSink {
  /** Largest long message accepted, bytes. */
  readonly maxBytes: number;
  /** May this peer send us long message `id` now (a trusted peer)? No host prompt. */
  accepts(peer: string, id: string): boolean;
  deliver(offer: IncomingOffer, enc: LongMessageEncoding, body: Buffer, commit: () => boolean): Promise<void>;
}
