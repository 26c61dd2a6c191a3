/**
 * What the CLI says after an error: what happened, then what to do next. The registry
 * message stays (it is what the code means); a hint for the person at the terminal follows.
 */

import { CLIENT_ERRORS, type ClientError } from '../errors.js';
import { MAX_LONG_MESSAGE_BYTES } from '../files/long-message.js';

/** The part of the message after the registry text (e.g. the peer reference). */
function detailOf(err: ClientError): string {
  const prefix = `${CLIENT_ERRORS[err.code].message}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : '';
}

/** One line for `err`, with the next step when the CLI knows one. */
export function describeError(err: ClientError): string {
  const detail = detailOf(err);
  switch (err.code) {
    case 'CLIENT_ERR_UNKNOWN_PEER':
      return `no peer named ${JSON.stringify(detail)}: \`p2p-comm trust list\` shows who you trust; \`p2p-comm connect <share>\` adds one`;
    case 'CLIENT_ERR_AMBIGUOUS_NAME': {
      const candidates = (err.data?.candidates ?? []) as Array<{ label?: string }>;
      const first = candidates[0]?.label;
      return `${err.message}${first ? ` (e.g. p2p-comm send ${JSON.stringify(first)} …)` : ''}; \`p2p-comm trust rename <key> <name>\` gives one a name of your own`;
    }
    case 'CLIENT_ERR_MESSAGE_TOO_LARGE': {
      const limit = typeof err.data?.limit === 'number' ? err.data.limit : MAX_LONG_MESSAGE_BYTES;
      return `${err.message}: one message carries at most ${limit.toLocaleString('en-US')} bytes (${(limit / 1048576).toFixed(1)} MiB); send it as a file instead: \`p2p-comm send <peer> --file PATH\` (any size)`;
    }
    case 'CLIENT_ERR_NOT_TRUSTED':
      return `${err.message}: they have not accepted yet; \`p2p-comm connect <share>\` asks them (again), and their \`p2p-comm listen\` shows the request`;
    case 'CLIENT_ERR_REVOKED':
      return `${err.message}: \`p2p-comm connect <share>\` asks them to connect again`;
    default:
      return err.message;
  }
}
