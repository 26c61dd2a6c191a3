// Inner payload (docs/protocol.md "v2 in the client" → "Inner payload"): the plaintext of a
// TRANSPORT packet is `kind u8 ‖ rest`:
//   0x05 DATA, 0x06 ACK, 0x07 REVOKE   rest = the application payload of that type
//   0x10 CONFIRM                       rest empty
//   0x11 BUNDLE                        rest = the sender's 1,333-byte prekey bundle (we may discard it)
//   0x12 FILE                          rest = one file-transfer message (optional; we ignore files)
// Any other kind, a CONFIRM with bytes or a BUNDLE of another length is CLIENT_ERR_BAD_PAYLOAD.

import { concat, u8 } from './bytes.js';
import { PeerError } from './errors.js';
import { decodePayload, encodePayload, type Payload } from './payload.js';

export const INNER_KIND = { DATA: 0x05, ACK: 0x06, REVOKE: 0x07, CONFIRM: 0x10, BUNDLE: 0x11, FILE: 0x12 } as const;
const PREKEY_BUNDLE_BYTES = 1333;

export type Inner =
  | { kind: 'payload'; payload: Payload }
  | { kind: 'confirm' }
  | { kind: 'bundle'; bundle: Uint8Array }
  | { kind: 'file'; message: Uint8Array };

/** A DATA, ACK or REVOKE payload as a TRANSPORT plaintext (the kind byte is the payload type). */
export function encodeInnerPayload(payload: Payload): Uint8Array {
  return concat(u8(payload.type), encodePayload(payload));
}

export function encodeConfirm(): Uint8Array {
  return u8(INNER_KIND.CONFIRM);
}

export function decodeInner(plaintext: Uint8Array): Inner {
  if (plaintext.length === 0) throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'empty inner payload');
  const kind = plaintext[0] as number;
  const rest = plaintext.subarray(1);
  switch (kind) {
    case INNER_KIND.DATA:
    case INNER_KIND.ACK:
    case INNER_KIND.REVOKE:
      return { kind: 'payload', payload: decodePayload(kind, rest) };
    case INNER_KIND.CONFIRM:
      if (rest.length !== 0) throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'CONFIRM with bytes');
      return { kind: 'confirm' };
    case INNER_KIND.BUNDLE:
      if (rest.length !== PREKEY_BUNDLE_BYTES) throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'BUNDLE is 1,333 bytes');
      return { kind: 'bundle', bundle: rest };
    case INNER_KIND.FILE:
      if (rest.length === 0) throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', 'FILE without a message');
      return { kind: 'file', message: rest };
    default:
      throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', `unknown inner kind 0x${kind.toString(16)}`);
  }
}
