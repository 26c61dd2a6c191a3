// Application payload (docs/protocol.md "Application payload"): the plaintext of envelope
// types 1, 2, 5, 6, 7 and the rest of inner kinds 0x05–0x07:
//
//   u16 header length h (≤ 2,048) ‖ h bytes of UTF-8 JSON (an object) ‖ body (DATA only)
//
//   1 CONSENT_REQUEST   {"v":1,"name":<string>}
//   2 CONSENT_RESPONSE  {"v":1,"accept":<boolean>,"name":<string>}
//   5 DATA              {"v":1,"id":<32 lower-case hex>,"s":<stream id>,"q":<sequence>,"enc":"text"|"bytes"}
//   6 ACK               {"v":1,"s":<stream id>,"upTo":<integer ≥ −1>}
//   7 REVOKE            {"v":1}
//
// Readers ignore unknown members and member order; writers emit compact JSON in this order.
// Every other shape is CLIENT_ERR_BAD_PAYLOAD.

import { concat, fromUtf8, u16, utf8 } from './bytes.js';
import { PeerError } from './errors.js';

export const PAYLOAD_TYPE = { CONSENT_REQUEST: 1, CONSENT_RESPONSE: 2, DATA: 5, ACK: 6, REVOKE: 7 } as const;
/** MAX_PAYLOAD_HEADER_BYTES (docs/limits.md, client). */
export const MAX_PAYLOAD_HEADER_BYTES = 2048;
/** MAX_MESSAGE_BYTES: the largest DATA body. */
export const MAX_MESSAGE_BYTES = 57_344;
const STREAM_ID = /^[A-Za-z0-9_-]{8,64}$/;
const MESSAGE_ID = /^[0-9a-f]{32}$/;

export type Payload =
  | { type: 1; header: { v: 1; name: string } }
  | { type: 2; header: { v: 1; accept: boolean; name: string } }
  | { type: 5; header: { v: 1; id: string; s: string; q: number; enc: 'text' | 'bytes' }; body: Uint8Array }
  | { type: 6; header: { v: 1; s: string; upTo: number } }
  | { type: 7; header: { v: 1 } };

function bad(why: string): never {
  throw new PeerError('CLIENT_ERR_BAD_PAYLOAD', why);
}

export function encodePayload(payload: Payload): Uint8Array {
  const header = utf8(JSON.stringify(payload.header));
  if (header.length > MAX_PAYLOAD_HEADER_BYTES) bad('header over 2,048 bytes');
  const body = payload.type === PAYLOAD_TYPE.DATA ? payload.body : new Uint8Array(0);
  if (body.length > MAX_MESSAGE_BYTES) throw new PeerError('CLIENT_ERR_MESSAGE_TOO_LARGE', 'body over 57,344 bytes');
  return concat(u16(header.length), header, body);
}

function isSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Decode the payload of envelope type / inner kind `type` (1, 2, 5, 6 or 7). */
export function decodePayload(type: number, plaintext: Uint8Array): Payload {
  if (plaintext.length < 2) bad('no header length');
  const h = ((plaintext[0] as number) << 8) | (plaintext[1] as number);
  if (h > MAX_PAYLOAD_HEADER_BYTES) bad('header over 2,048 bytes');
  if (2 + h > plaintext.length) bad('header runs past the end');
  let header: unknown;
  try {
    header = JSON.parse(fromUtf8(plaintext.subarray(2, 2 + h)));
  } catch {
    bad('header is not UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('header is not a JSON object');
  const json = header as Record<string, unknown>;
  if (json.v !== 1) bad('payload version is not 1');
  const body = plaintext.subarray(2 + h);
  if (type !== PAYLOAD_TYPE.DATA && body.length !== 0) bad('body on a payload that has none');
  // A missing or non-string `name` reads as "".
  const name = typeof json.name === 'string' ? json.name : '';
  switch (type) {
    case PAYLOAD_TYPE.CONSENT_REQUEST:
      return { type, header: { v: 1, name } };
    case PAYLOAD_TYPE.CONSENT_RESPONSE:
      if (typeof json.accept !== 'boolean') bad('accept is not a boolean');
      return { type, header: { v: 1, accept: json.accept, name } };
    case PAYLOAD_TYPE.DATA: {
      if (typeof json.id !== 'string' || !MESSAGE_ID.test(json.id)) bad('id is not 32 lower-case hex');
      if (typeof json.s !== 'string' || !STREAM_ID.test(json.s)) bad('bad stream id');
      if (!isSafeInteger(json.q) || json.q < 0) bad('bad sequence');
      if (json.enc !== 'text' && json.enc !== 'bytes') bad('enc is neither text nor bytes');
      if (body.length > MAX_MESSAGE_BYTES) bad('body over 57,344 bytes');
      if (json.enc === 'text') {
        try {
          fromUtf8(body);
        } catch {
          bad('text body is not UTF-8');
        }
      }
      return { type, header: { v: 1, id: json.id, s: json.s, q: json.q, enc: json.enc }, body };
    }
    case PAYLOAD_TYPE.ACK:
      if (typeof json.s !== 'string' || !(STREAM_ID.test(json.s) || json.s === 'no-stream')) bad('bad stream id');
      if (!isSafeInteger(json.upTo) || json.upTo < -1) bad('bad upTo');
      return { type, header: { v: 1, s: json.s, upTo: json.upTo } };
    case PAYLOAD_TYPE.REVOKE:
      return { type, header: { v: 1 } };
    default:
      bad(`no application payload for type ${type}`);
  }
}
