/**
 * One STUN Binding transaction over a caller's UDP socket (RFC 5389 §7.2.1): send, retransmit
 * with a doubling RTO, accept only a well-formed response from the target with our transaction
 * id, give up after a bounded time. Several transactions may share a socket (that is how
 * `doctor` compares the mappings towards two server ports from one local port).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:dgram';
import { isIP } from 'node:net';
import {
  bindingOutcome,
  decodeStunMessage,
  encodeBindingRequest,
  type TransportAddress,
} from '@p2p-comm/protocol/stun';
import { STUN_INITIAL_RTO_MS, STUN_MAX_TRANSMISSIONS, STUN_TRANSACTION_TIMEOUT_MS } from './constants.js';
import { StunError } from './errors.js';

export interface StunTarget {
  /** An IP address literal (resolve names before, so retransmits go to one server). */
  readonly host: string;
  readonly port: number;
}

export interface BindingOptions {
  readonly initialRtoMs?: number;
  readonly maxTransmissions?: number;
  readonly timeoutMs?: number;
}

export interface BindingResult {
  /** Our address as the server saw it: the server-reflexive address. */
  readonly mapped: TransportAddress;
  /** From the first send to the answer (ms). */
  readonly rttMs: number;
  /** Requests sent before the answer came, the first included. */
  readonly transmissions: number;
  /** Datagrams from the target that were not a valid answer to this transaction. */
  readonly ignored: number;
}

/**
 * Example:
 *   const socket = dgram.createSocket('udp4'); socket.bind(0);
 *   const { mapped } = await stunBinding(socket, { host: '203.0.113.10', port: 3478 });
 */
export function stunBinding(socket: Socket, target: StunTarget, options: BindingOptions = {}): Promise<BindingResult> {
  const initialRtoMs = options.initialRtoMs ?? STUN_INITIAL_RTO_MS;
  const maxTransmissions = options.maxTransmissions ?? STUN_MAX_TRANSMISSIONS;
  const timeoutMs = options.timeoutMs ?? STUN_TRANSACTION_TIMEOUT_MS;
  if (isIP(target.host) === 0) throw new StunError('CLIENT_ERR_STUN_INVALID_ARGUMENT', 'target.host must be an IP');
  if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65_535) {
    throw new StunError('CLIENT_ERR_STUN_INVALID_ARGUMENT', 'target.port must be 1..65535');
  }
  if (!(initialRtoMs > 0) || !(timeoutMs > 0) || !Number.isInteger(maxTransmissions) || maxTransmissions < 1) {
    throw new StunError('CLIENT_ERR_STUN_INVALID_ARGUMENT', 'initialRtoMs, timeoutMs > 0 and maxTransmissions >= 1');
  }

  const txId = new Uint8Array(randomBytes(12));
  const request = encodeBindingRequest(txId);
  const started = performance.now();
  let transmissions = 0;
  let ignored = 0;

  return new Promise<BindingResult>((resolve, reject) => {
    let rto = initialRtoMs;
    let retransmitTimer: NodeJS.Timeout | undefined;

    const finish = (err: Error | undefined, result?: BindingResult): void => {
      clearTimeout(retransmitTimer);
      clearTimeout(deadline);
      socket.off('message', onMessage);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(result!);
    };

    const send = (): void => {
      transmissions++;
      socket.send(request, target.port, target.host, (err) => {
        if (err) finish(new StunError('CLIENT_ERR_STUN_SOCKET', err.message));
      });
      if (transmissions < maxTransmissions) {
        retransmitTimer = setTimeout(send, rto);
        rto *= 2;
      }
    };

    const onMessage = (msg: Buffer, rinfo: { address: string; port: number }): void => {
      if (rinfo.port !== target.port || rinfo.address !== target.host) return;
      try {
        const decoded = decodeStunMessage(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength));
        if (!sameBytes(decoded.transactionId, txId)) {
          ignored++;
          return;
        }
        const outcome = bindingOutcome(decoded);
        if (!outcome.ok) {
          finish(new StunError('CLIENT_ERR_STUN_ERROR_RESPONSE', `${outcome.errorCode} ${outcome.reason}`));
          return;
        }
        finish(undefined, {
          mapped: outcome.mapped,
          rttMs: performance.now() - started,
          transmissions,
          ignored,
        });
      } catch {
        // A bad datagram is someone else's problem; keep waiting for a good one.
        ignored++;
      }
    };
    const onError = (err: Error): void => finish(new StunError('CLIENT_ERR_STUN_SOCKET', err.message));
    const onClose = (): void => finish(new StunError('CLIENT_ERR_STUN_SOCKET', 'socket closed'));
    const deadline = setTimeout(
      () => finish(new StunError('CLIENT_ERR_STUN_TIMEOUT', `${transmissions} requests, ${timeoutMs} ms`)),
      timeoutMs,
    );

    socket.on('message', onMessage);
    socket.on('error', onError);
    socket.on('close', onClose);
    send();
  });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
