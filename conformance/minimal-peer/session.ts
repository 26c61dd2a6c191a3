// v2 session transport (docs/protocol.md "v2 sessions — transport"):
//
//   packet = 0x02 ‖ 0x03 ‖ epoch u32 BE ‖ counter u64 BE ‖ ChaCha20-Poly1305(plaintext) ‖ tag 16
//   nonce  = 4 zero bytes ‖ counter u64 LE;  associated data = the 14-byte header
//   key[n+1] = HKDF-SHA256(ikm = key[n], salt = empty, info = "p2p-comm/v2/session-rekey" ‖ u32 BE (n+1), 32)
//
// One key per direction and epoch; each direction rekeys on its own. Receiving checks, in
// order: version, type, length → counter < 2^32 → epoch (current, previous within its grace,
// or up to 8 ahead) → replay window → tag → only then record.

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, Reader, u8, u32, u64, utf8 } from './bytes.js';
import { PeerError } from './errors.js';
import { PACKET_TYPE, SESSION_VERSION } from './handshake.js';
import { noiseNonce } from './noise.js';
import { ReplayWindow } from './replay-window.js';

/** docs/limits.md, "v2 session". */
export const SESSION_MAX_PLAINTEXT_BYTES = 61_440;
export const TRANSPORT_HEADER_BYTES = 14;
export const TRANSPORT_OVERHEAD_BYTES = TRANSPORT_HEADER_BYTES + 16;
export const SESSION_REKEY_AFTER_MESSAGES = 65_536;
export const SESSION_REKEY_AFTER_MS = 120_000;
export const SESSION_REJECT_AFTER_MESSAGES = 2 ** 32;
export const SESSION_PREVIOUS_EPOCH_GRACE_MS = 30_000;
export const SESSION_MAX_EPOCH_SKIP = 8;
export const SESSION_MAX_EPOCH = 2 ** 32 - 1;

const REKEY_INFO = utf8('p2p-comm/v2/session-rekey');

export function nextEpochKey(key: Uint8Array, nextEpoch: number): Uint8Array {
  return hkdf(sha256, key, new Uint8Array(0), concat(REKEY_INFO, u32(nextEpoch)), 32);
}

export function transportHeader(epoch: number, counter: number): Uint8Array {
  return concat(u8(SESSION_VERSION), u8(PACKET_TYPE.TRANSPORT), u32(epoch), u64(counter));
}

interface ReceivingEpoch {
  epoch: number;
  key: Uint8Array;
  window: ReplayWindow;
  /** For the previous epoch: when its key is erased (ms). */
  expiresAt: number;
}

export interface SessionOptions {
  /** Test hook: the golden vectors rekey after 2 packets. */
  rekeyAfterMessages?: number;
}

export class Session {
  private sendKey: Uint8Array;
  private sendEpoch = 0;
  private sendCounter = 0;
  private sendEpochStartedAt: number;
  private current: ReceivingEpoch;
  private previous: ReceivingEpoch | null = null;
  private closed = false;
  private readonly rekeyAfterMessages: number;

  constructor(
    sendKey: Uint8Array,
    receiveKey: Uint8Array,
    /** h after message 2: the session id. */
    readonly handshakeHash: Uint8Array,
    now: number,
    options: SessionOptions = {},
  ) {
    this.sendKey = sendKey.slice();
    this.sendEpochStartedAt = now;
    this.current = {
      epoch: 0,
      key: receiveKey.slice(),
      window: new ReplayWindow(),
      expiresAt: Number.POSITIVE_INFINITY,
    };
    this.rekeyAfterMessages = options.rekeyAfterMessages ?? SESSION_REKEY_AFTER_MESSAGES;
  }

  /** A session whose sending direction already stands at (epoch, counter) under `sendKey`. */
  static atPosition(sendKey: Uint8Array, epoch: number, counter: number): Session {
    const session = new Session(sendKey, new Uint8Array(32), new Uint8Array(32), 0, {
      rekeyAfterMessages: Number.POSITIVE_INFINITY,
    });
    session.sendEpoch = epoch;
    session.sendCounter = counter;
    return session;
  }

  seal(plaintext: Uint8Array, now: number): Uint8Array {
    if (this.closed) throw new PeerError('PROTO_ERR_SESSION_CLOSED', 'session closed');
    if (plaintext.length > SESSION_MAX_PLAINTEXT_BYTES)
      throw new PeerError('PROTO_ERR_TOO_LARGE', 'plaintext over 61,440 bytes');
    // Rekey policy (checked when sealing): after N packets or T ms under one key.
    if (this.sendCounter >= this.rekeyAfterMessages || now - this.sendEpochStartedAt >= SESSION_REKEY_AFTER_MS) {
      if (this.sendEpoch === SESSION_MAX_EPOCH) throw new PeerError('PROTO_ERR_SESSION_EXHAUSTED', 'last epoch used');
      const next = nextEpochKey(this.sendKey, this.sendEpoch + 1);
      this.sendKey.fill(0); // key[n] is zeroed at once
      this.sendKey = next;
      this.sendEpoch++;
      this.sendCounter = 0;
      this.sendEpochStartedAt = now;
    }
    const header = transportHeader(this.sendEpoch, this.sendCounter);
    const sealed = chacha20poly1305(this.sendKey, noiseNonce(this.sendCounter), header).encrypt(plaintext);
    this.sendCounter++;
    return concat(header, sealed);
  }

  open(packet: Uint8Array, now: number): Uint8Array {
    if (this.closed) throw new PeerError('PROTO_ERR_SESSION_CLOSED', 'session closed');
    const { epoch, counter, body } = decodeTransport(packet);
    this.expirePrevious(now);
    const header = packet.subarray(0, TRANSPORT_HEADER_BYTES);
    if (epoch === this.current.epoch || (this.previous !== null && epoch === this.previous.epoch)) {
      const target = epoch === this.current.epoch ? this.current : (this.previous as ReceivingEpoch);
      target.window.check(counter);
      const plaintext = decrypt(target.key, counter, header, body);
      target.window.accept(counter);
      return plaintext;
    }
    if (epoch > this.current.epoch && epoch - this.current.epoch <= SESSION_MAX_EPOCH_SKIP) {
      // Try the packet under the derived key; adopt the epoch only if its tag verifies, so a
      // forged packet cannot move us.
      let key = this.current.key;
      const derived: Uint8Array[] = [];
      for (let e = this.current.epoch + 1; e <= epoch; e++) {
        key = nextEpochKey(key, e);
        derived.push(key);
      }
      let plaintext: Uint8Array;
      try {
        plaintext = decrypt(key, counter, header, body);
      } catch (error) {
        for (const k of derived) k.fill(0);
        throw error;
      }
      for (const k of derived.slice(0, -1)) k.fill(0);
      this.previous?.key.fill(0);
      this.previous = { ...this.current, expiresAt: now + SESSION_PREVIOUS_EPOCH_GRACE_MS };
      this.current = { epoch, key, window: new ReplayWindow(), expiresAt: Number.POSITIVE_INFINITY };
      this.current.window.accept(counter);
      return plaintext;
    }
    throw new PeerError('PROTO_ERR_SESSION_UNKNOWN_EPOCH', `epoch ${epoch} (current ${this.current.epoch})`);
  }

  /** Closing zeroes every key; afterwards PROTO_ERR_SESSION_CLOSED. */
  close(): void {
    this.closed = true;
    this.sendKey.fill(0);
    this.current.key.fill(0);
    this.previous?.key.fill(0);
  }

  private expirePrevious(now: number): void {
    if (this.previous !== null && now >= this.previous.expiresAt) {
      this.previous.key.fill(0);
      this.previous = null;
    }
  }
}

export function decodeTransport(packet: Uint8Array): { epoch: number; counter: number; body: Uint8Array } {
  const reader = new Reader(packet);
  const version = reader.u8();
  if (version !== SESSION_VERSION) throw new PeerError('PROTO_ERR_BAD_VERSION', `unknown session version ${version}`);
  const type = reader.u8();
  if (type !== PACKET_TYPE.TRANSPORT)
    throw new PeerError('PROTO_ERR_BAD_TYPE', `not a transport packet (type ${type})`);
  if (packet.length > SESSION_MAX_PLAINTEXT_BYTES + TRANSPORT_OVERHEAD_BYTES) {
    throw new PeerError('PROTO_ERR_TOO_LARGE', 'transport packet over 61,470 bytes');
  }
  if (packet.length < TRANSPORT_OVERHEAD_BYTES)
    throw new PeerError('PROTO_ERR_TRUNCATED', 'transport packet under 30 bytes');
  const epoch = reader.u32();
  const counterBytes = reader.take(8);
  const counter = Number(new DataView(counterBytes.buffer, counterBytes.byteOffset, 8).getBigUint64(0));
  if (counter >= SESSION_REJECT_AFTER_MESSAGES) throw new PeerError('PROTO_ERR_SESSION_EXHAUSTED', 'counter past 2^32');
  return { epoch, counter, body: reader.rest() };
}

function decrypt(key: Uint8Array, counter: number, header: Uint8Array, body: Uint8Array): Uint8Array {
  try {
    return chacha20poly1305(key, noiseNonce(counter), header).decrypt(body);
  } catch {
    throw new PeerError('PROTO_ERR_DECRYPT_FAILED', 'transport tag does not verify');
  }
}
