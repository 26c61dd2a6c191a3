/**
 * What travels inside an envelope's encrypted payload (the envelope type says which):
 *
 *   u16 header length ‖ header (UTF-8 JSON) ‖ body (DATA only; raw bytes)
 *
 *   CONSENT_REQUEST   { v: 1, name }
 *   CONSENT_RESPONSE  { v: 1, accept, name }
 *   DATA              { v: 1, id, s (stream id), q (sequence in stream), enc: 'text' | 'bytes' } + body
 *   ACK               { v: 1, s, upTo (highest in-order sequence delivered or refused) }
 *   REVOKE            { v: 1 }
 *
 * Everything here came from a peer: parse defensively, report CLIENT_ERR_BAD_PAYLOAD.
 */
import { EnvelopeType, fromUtf8 } from '@p2p-comm/protocol';
import { MAX_MESSAGE_BYTES, MAX_PAYLOAD_HEADER_BYTES } from '../constants.js';
import { ClientError } from '../errors.js';
import { sanitizePeerName } from '../store/display-name.js';

export type BodyEncoding = 'text' | 'bytes';

export type Payload =
  | { type: typeof EnvelopeType.CONSENT_REQUEST; name: string }
  | { type: typeof EnvelopeType.CONSENT_RESPONSE; accept: boolean; name: string }
  | { type: typeof EnvelopeType.DATA; id: string; stream: string; seq: number; enc: BodyEncoding; body: Uint8Array }
  | { type: typeof EnvelopeType.ACK; stream: string; upTo: number }
  | { type: typeof EnvelopeType.REVOKE };

export type PayloadType = Payload['type'];

const STREAM_RE = /^[A-Za-z0-9_-]{8,64}$/;
const ID_RE = /^[0-9a-f]{32}$/;

function headerOf(p: Payload): Record<string, unknown> {
  switch (p.type) {
    case EnvelopeType.CONSENT_REQUEST:
      return { v: 1, name: p.name };
    case EnvelopeType.CONSENT_RESPONSE:
      return { v: 1, accept: p.accept, name: p.name };
    case EnvelopeType.DATA:
      return { v: 1, id: p.id, s: p.stream, q: p.seq, enc: p.enc };
    case EnvelopeType.ACK:
      return { v: 1, s: p.stream, upTo: p.upTo };
    case EnvelopeType.REVOKE:
      return { v: 1 };
  }
}

export function encodePayload(p: Payload): Uint8Array {
  const header = Buffer.from(JSON.stringify(headerOf(p)), 'utf8');
  if (header.length > MAX_PAYLOAD_HEADER_BYTES)
    throw new ClientError('CLIENT_ERR_INVALID_ARGUMENT', 'header too large');
  const body = p.type === EnvelopeType.DATA ? p.body : new Uint8Array(0);
  if (body.length > MAX_MESSAGE_BYTES) throw new ClientError('CLIENT_ERR_MESSAGE_TOO_LARGE');
  const out = new Uint8Array(2 + header.length + body.length);
  new DataView(out.buffer).setUint16(0, header.length);
  out.set(header, 2);
  out.set(body, 2 + header.length);
  return out;
}

const bad = (why: string) => new ClientError('CLIENT_ERR_BAD_PAYLOAD', why);

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= -1;
}

export function decodePayload(type: number, bytes: Uint8Array): Payload {
  if (bytes.length < 2) throw bad('shorter than its header length');
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0);
  if (len > MAX_PAYLOAD_HEADER_BYTES || 2 + len > bytes.length) throw bad('header length out of range');
  let h: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes.subarray(2, 2 + len)).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    h = parsed as Record<string, unknown>;
  } catch {
    throw bad('header is not a JSON object');
  }
  if (h.v !== 1) throw bad('unsupported payload version');
  const body = bytes.subarray(2 + len);
  if (type !== EnvelopeType.DATA && body.length > 0) throw bad('unexpected body');
  switch (type) {
    case EnvelopeType.CONSENT_REQUEST:
      return { type, name: sanitizePeerName(h.name) };
    case EnvelopeType.CONSENT_RESPONSE:
      if (typeof h.accept !== 'boolean') throw bad('accept must be boolean');
      return { type, accept: h.accept, name: sanitizePeerName(h.name) };
    case EnvelopeType.DATA:
      if (typeof h.id !== 'string' || !ID_RE.test(h.id)) throw bad('bad message id');
      if (typeof h.s !== 'string' || !STREAM_RE.test(h.s)) throw bad('bad stream id');
      if (!isSeq(h.q) || h.q < 0) throw bad('bad sequence');
      if (h.enc !== 'text' && h.enc !== 'bytes') throw bad('bad encoding');
      if (body.length > MAX_MESSAGE_BYTES) throw bad('body too large');
      if (h.enc === 'text' && fromUtf8(body) === null) throw bad('text body is not UTF-8');
      return { type, id: h.id, stream: h.s, seq: h.q, enc: h.enc, body: Uint8Array.from(body) };
    case EnvelopeType.ACK:
      if (typeof h.s !== 'string' || !STREAM_RE.test(h.s)) throw bad('bad stream id');
      if (!isSeq(h.upTo)) throw bad('bad upTo');
      return { type, stream: h.s, upTo: h.upTo };
    case EnvelopeType.REVOKE:
      return { type };
    default:
      throw bad(`envelope type ${type} carries no client payload`);
  }
}
