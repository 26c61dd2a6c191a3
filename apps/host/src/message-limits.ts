/**
 * Every message-sized limit of the host, derived from one setting, `maxMessageBytes` (config;
 * DEFAULT_MAX_MESSAGE_BYTES = the extension's 16 MiB). Derived, not listed separately, so that
 * nothing the extension may legitimately deliver is larger than what the host reads, holds or
 * reviews, and nothing a plugin may send is refused by the extension. Listed in docs/limits.md.
 */
import { DEFAULT_MAX_MESSAGE_BYTES, INBOX_EXTRA_BYTES, RPC_ENVELOPE_BYTES } from './constants.js';

export interface MessageLimits {
  /** Largest message in or out (bytes of UTF-8 text or of decoded data). */
  readonly maxMessageBytes: number;
  /** Largest `body` of one `…/send` (bytes of UTF-8): the message maximum itself. */
  readonly sendBodyBytes: number;
  /**
   * Largest `messages.send` line the host writes to the extension (bytes). The extension reads
   * lines of 2 × 16 MiB + 64 KiB: room for a text that doubles when JSON-escaped (quotes,
   * backslashes, newlines). A text that escapes to more (mostly other control characters, 6
   * bytes each as \u00XX) is refused here with HOST_ERR_BODY_TOO_LARGE rather than by the
   * extension after a timeout.
   */
  readonly sendLineBytes: number;
  /** Largest HTTP body of `…/send` (bytes): the same budget as the line, as JSON escaping is the same. */
  readonly sendHttpBodyBytes: number;
  /**
   * Longest JSON-RPC line read from the extension (bytes). A `message.received` or
   * `approval.request` carries a whole message: text JSON-escaped by the extension (worst case
   * 6 bytes per byte, a control character as \u00XX) or data as base64 (4/3). 6 × the maximum
   * plus the envelope, so no message the extension may deliver is a line the host drops.
   */
  readonly rpcLineBytes: number;
  /** Whole content an `approval.request` may carry for the risk review (characters): base64 of the maximum. */
  readonly approvalContentChars: number;
  /**
   * Bytes of message bodies a plugin's inbox holds (text, or base64 of data): one largest
   * message as base64 plus INBOX_EXTRA_BYTES, so a single message is never too large to hold.
   */
  readonly inboxBytes: number;
}

/** Characters of the base64 form of `bytes` bytes (padded). */
export function base64Chars(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The host's message-sized limits for a validated `maxMessageBytes`. */
export function messageLimits(maxMessageBytes: number): MessageLimits {
  return Object.freeze({
    maxMessageBytes,
    sendBodyBytes: maxMessageBytes,
    sendLineBytes: 2 * maxMessageBytes + RPC_ENVELOPE_BYTES,
    sendHttpBodyBytes: 2 * maxMessageBytes + RPC_ENVELOPE_BYTES,
    rpcLineBytes: 6 * maxMessageBytes + RPC_ENVELOPE_BYTES,
    approvalContentChars: base64Chars(maxMessageBytes),
    inboxBytes: base64Chars(maxMessageBytes) + INBOX_EXTRA_BYTES,
  });
}

/** The limits with the default maximum (16 MiB): what a host without `maxMessageBytes` uses. */
export const DEFAULT_MESSAGE_LIMITS = messageLimits(DEFAULT_MAX_MESSAGE_BYTES);
