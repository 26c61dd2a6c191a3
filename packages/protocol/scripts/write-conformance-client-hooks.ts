/**
 * The client's decoders (client/src) as conformance-vector outputs: the ClientHooks through
 * which write-conformance-check.ts answers payload.decode, inner.decode, file.decode and the
 * `decode` option of the open kinds. Used by write-conformance-client.ts and by
 * client/test/conformance-vectors.test.ts.
 */
import { isIP } from 'node:net';
import { ClientError } from '../../../client/src/errors.js';
import {
  decodeTransferMessage,
  type TransferMessage,
  TransferMessageType,
  TransferReason,
} from '../../../client/src/files/wire.js';
import { decodeInner } from '../../../client/src/session/inner-payload.js';
import { decodePayload, type Payload } from '../../../client/src/session/payload.js';
import {
  UPGRADE_MAX_ADDRESSES_PER_PEER,
  UPGRADE_MAX_SIGNAL_PAYLOAD_BYTES,
} from '../../../client/src/transports/direct-constants.js';
import { PathError } from '../../../client/src/transports/direct-errors.js';
import { decodeHandshake, signTranscript, verifyTranscript } from '../../../client/src/transports/direct-handshake.js';
import { checkSignal } from '../../../client/src/transports/webrtc-signal.js';
import { nodeSuite } from '../src/crypto/node.js';
import { identityFromSecret, lengthPrefixed, toHex, utf8 } from '../src/index.js';
import { type ClientHooks, hexIn } from './write-conformance-check.js';

// ---------------------------------------------------------------------------------------------
// the client's decoders as vector outputs (ClientHooks)
// ---------------------------------------------------------------------------------------------

const TYPE_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(TransferMessageType).map(([k, v]) => [v, k]),
);

function payloadJson(p: Payload): Record<string, unknown> {
  switch (p.type) {
    case 1:
      return { header: { v: 1, name: p.name }, body: '' };
    case 2:
      return { header: { v: 1, accept: p.accept, name: p.name }, body: '' };
    case 5: {
      const out: Record<string, unknown> = {
        header: { v: 1, id: p.id, s: p.stream, q: p.seq, enc: p.enc },
        body: toHex(p.body),
      };
      if (p.enc === 'text') out.text = new TextDecoder().decode(p.body);
      return out;
    }
    case 6:
      return { header: { v: 1, s: p.stream, upTo: p.upTo }, body: '' };
    case 7:
      return { header: { v: 1 }, body: '' };
  }
}

const SIGNAL_KINDS = new Set(['rtc', 'rtc-req', 'rtc-off', 'addrs']);
const badSignal = (why: string) => new PathError('CLIENT_ERR_WEBRTC_BAD_SIGNAL', why);

/**
 * A SIGNAL envelope's plaintext: path negotiation JSON (client/src/transports/direct-paths.ts),
 * checked as the path upgrader reads it; a WebRTC signal inside is checked by checkSignal.
 * Our upgrader drops a malformed one silently; the vectors name that case
 * CLIENT_ERR_WEBRTC_BAD_SIGNAL.
 */
function signalJson(plaintext: Uint8Array): Record<string, unknown> {
  if (plaintext.length > UPGRADE_MAX_SIGNAL_PAYLOAD_BYTES) throw badSignal('too large');
  let msg: unknown;
  try {
    msg = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch {
    throw badSignal('not UTF-8 JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw badSignal('not an object');
  const m = msg as Record<string, unknown>;
  if (typeof m.t !== 'string' || !SIGNAL_KINDS.has(m.t)) throw badSignal('unknown t');
  if (m.t === 'rtc') {
    if (typeof m.id !== 'string' || m.id.length > 32) throw badSignal('bad id');
    return { signal: { t: 'rtc', id: m.id, s: checkSignal(m.s) } };
  }
  if (m.t === 'addrs') {
    if (!Array.isArray(m.a)) throw badSignal('a must be a list');
    // As the upgrader reads it: the first UPGRADE_MAX_ADDRESSES_PER_PEER entries, of which those
    // that are not IP literals with a port in 1–65,535 are skipped (direct-paths.ts, addAddress;
    // which addresses are dialable is a local policy, not part of the answer).
    const a = m.a
      .slice(0, UPGRADE_MAX_ADDRESSES_PER_PEER)
      .filter(
        (x): x is { h: string; p: number } =>
          typeof x === 'object' &&
          x !== null &&
          typeof x.h === 'string' &&
          isIP(x.h) !== 0 &&
          Number.isInteger(x.p) &&
          x.p >= 1 &&
          x.p <= 65_535,
      );
    return { signal: { t: 'addrs', a: a.map((x) => ({ h: x.h, p: x.p })) } };
  }
  if (m.t === 'rtc-off') return { signal: typeof m.id === 'string' ? { t: 'rtc-off', id: m.id } : { t: 'rtc-off' } };
  return { signal: { t: 'rtc-req' } };
}

export function fileJson(m: TransferMessage): Record<string, unknown> {
  const base = { type: TYPE_NAME[m.type], id: m.id };
  switch (m.type) {
    case TransferMessageType.OFFER:
      return {
        ...base,
        size: m.size,
        chunkSize: m.chunkSize,
        sha256: toHex(m.sha256),
        name: m.name,
        mediaType: m.mediaType,
        note: m.note,
      };
    case TransferMessageType.CHUNK:
      return { ...base, index: m.index, bytes: toHex(m.bytes) };
    case TransferMessageType.CREDIT:
      return { ...base, next: m.next, limit: m.limit };
    case TransferMessageType.DECLINE:
    case TransferMessageType.CANCEL:
    case TransferMessageType.FAILED:
      return { ...base, reason: m.reason, reasonCode: TransferReason[m.reason] };
    default:
      return base;
  }
}

const INNER_NAMES: Record<number, string> = { 5: 'data', 6: 'ack', 7: 'revoke' };

const DIRECT_TYPES = ['HELLO', 'HELLO_PROOF', 'PROOF', 'ACCEPT'];

/** lp(tag) ‖ lp(role) ‖ lp(challenge_d) ‖ lp(challenge_l) ‖ lp(key_d) ‖ lp(key_l): what a direct proof signs (the spec's rule, written out). */
function directTranscriptBytes(role: string, t: Record<string, Uint8Array>): Uint8Array {
  return lengthPrefixed(
    utf8('p2p-comm/v1/direct-auth'),
    utf8(role),
    t.dialerChallenge!,
    t.listenerChallenge!,
    t.dialerKey!,
    t.listenerKey!,
  );
}

export const clientHooks: ClientHooks = {
  payload(type, plaintext) {
    if (type === 3) return signalJson(plaintext);
    return payloadJson(decodePayload(type, plaintext));
  },
  inner(plaintext, prekeyMessageId) {
    const inner = decodeInner(plaintext);
    // The carrier rules of client/src/session/session.ts (#onInner) for a prekey message.
    if (prekeyMessageId !== undefined) {
      if (inner.kind === 'file') throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'file message outside a session');
      if (inner.kind === 'payload' && inner.payload.type === 5 && inner.payload.id !== toHex(prekeyMessageId))
        throw new ClientError('CLIENT_ERR_BAD_PAYLOAD', 'prekey message id and data id differ');
    }
    switch (inner.kind) {
      case 'payload':
        return { kind: INNER_NAMES[inner.payload.type], ...payloadJson(inner.payload) };
      case 'confirm':
        return { kind: 'confirm' };
      case 'bundle':
        return { kind: 'bundle', bundle: toHex(inner.bundle) };
      case 'file':
        return { kind: 'file', message: toHex(inner.message), file: fileJson(decodeTransferMessage(inner.message)) };
    }
  },
  file(message) {
    return { file: fileJson(decodeTransferMessage(message)) };
  },
  direct(kind, input) {
    if (kind === 'decode') {
      const want = DIRECT_TYPES.indexOf(String(input.expected)) + 1;
      if (want === 0) throw new Error('direct.decode: expected must name a handshake message');
      const m = decodeHandshake(hexIn(input, 'message'), want as 1 | 2 | 3 | 4) as Record<string, unknown>;
      const out: Record<string, unknown> = { type: DIRECT_TYPES[want - 1] };
      for (const k of ['key', 'challenge', 'signature']) if (m[k] instanceof Uint8Array) out[k] = toHex(m[k]);
      return { message: out };
    }
    const role = input.role;
    if (role !== 'dialer' && role !== 'listener') throw new Error('direct: role must be dialer or listener');
    const t = {
      dialerChallenge: hexIn(input, 'dialerChallenge'),
      listenerChallenge: hexIn(input, 'listenerChallenge'),
      dialerKey: hexIn(input, 'dialerKey'),
      listenerKey: hexIn(input, 'listenerKey'),
    };
    if (kind === 'prove') {
      const me = identityFromSecret(nodeSuite, hexIn(input, 'seed'));
      return {
        signedBytes: toHex(directTranscriptBytes(role, t)),
        signature: toHex(signTranscript(nodeSuite, me, role, t)),
      };
    }
    if (!verifyTranscript(nodeSuite, hexIn(input, 'signer'), role, t, hexIn(input, 'signature')))
      throw new PathError('CLIENT_ERR_DIRECT_BAD_PROOF', `${role} signature`);
    return { valid: true };
  },
};
