/**
 * What travels inside a v2 TRANSPORT packet's plaintext and inside a PREKEY message's plaintext
 * (docs/protocol.md "v2 in the client"):
 *
 *   kind u8 ‖ rest
 *
 *   0x05 DATA, 0x06 ACK, 0x07 REVOKE   rest = the v1 payload of that type (payload.ts:
 *                                      u16 header length ‖ JSON header ‖ body), unchanged
 *   0x10 CONFIRM                       rest empty: the initiator's first transport packet, which
 *                                      makes the responder treat the session as live
 *   0x11 BUNDLE                        rest = the sender's encoded prekey bundle (1,333 bytes)
 *   0x12 FILE                          rest = one file-transfer message (client/src/files/wire.ts);
 *                                      only in TRANSPORT packets, never in a prekey message
 *
 * Consent requests/responses are never inside (they stay v1 envelopes: no session exists yet).
 * Everything here came from a peer: parse defensively, report CLIENT_ERR_BAD_PAYLOAD.
 */
import { EnvelopeType, PREKEY_BUNDLE_BYTES } from '@p2p-comm/protocol';
import { ClientError } from '../errors.js';
import { decodePayload, encodePayload, type Payload } from './payload.js';

export const InnerKind = Object.freeze({
  DATA: EnvelopeType.DATA,
  ACK: EnvelopeType.ACK,
  REVOKE: EnvelopeType.REVOKE,
  CONFIRM: 0x10,
  BUNDLE: 0x11,
  FILE: 0x12,
});

/** Payloads that may ride in a session or prekey packet (never consent). */
export type SessionPayload = Extract<Payload, { type: 5 | 6 | 7 }>;

export type Inner =
  | { kind: 'payload'; payload: SessionPayload }
  | { kind: 'confirm' }
  | { kind: 'bundle'; bundle: Uint8Array }
  | { kind: 'file'; message: Uint8Array };

export function encodeInnerPayload(p: SessionPayload): Uint8Array {
  const body = encodePayload(p);
  const out = new Uint8Array(1 + body.length);
  out[0] = p.type;
  out.set(body, 1);
  return out;
}

export function encodeInnerConfirm(): Uint8Array {
  return Uint8Array.of(InnerKind.CONFIRM);
}

export function encodeInnerBundle(bundle: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + bundle.length);
  out[0] = InnerKind.BUNDLE;
  out.set(bundle, 1);
  return out;
}

/** The kind byte in front of a file-transfer message: the session seals [INNER_FILE_PREFIX, message] without gathering them. */
export const INNER_FILE_PREFIX: Uint8Array = Uint8Array.of(InnerKind.FILE);

/** The same plaintext gathered (conformance vectors, tests). */
export function encodeInnerFile(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + message.length);
  out[0] = InnerKind.FILE;
  out.set(message, 1);
  return out;
}

export function decodeInner(bytes: Uint8Array): Inner {
  if (bytes.length < 1) throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'empty session payload');
  const kind = bytes[0]!;
  const rest = bytes.subarray(1);
  switch (kind) {
    case InnerKind.DATA:
    case InnerKind.ACK:
    case InnerKind.REVOKE:
      return { kind: 'payload', payload: decodePayload(kind, rest) as SessionPayload };
    case InnerKind.CONFIRM:
      if (rest.length !== 0) throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'confirm carries nothing');
      return { kind: 'confirm' };
    case InnerKind.BUNDLE:
      if (rest.length !== PREKEY_BUNDLE_BYTES)
        throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', `bundle must be ${PREKEY_BUNDLE_BYTES} bytes`);
      return { kind: 'bundle', bundle: Uint8Array.from(rest) };
    case InnerKind.FILE:
      if (rest.length === 0) throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'empty file message');
      return { kind: 'file', message: rest };
    default:
      throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', `unknown session payload kind ${kind}`);
  }
}
