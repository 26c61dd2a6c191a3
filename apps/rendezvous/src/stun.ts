/**
 * RFC 5389 STUN Binding responder (UDP), so clients learn their server-reflexive address from
 * the organisation's own server. Answers Binding requests with XOR-MAPPED-ADDRESS (and
 * FINGERPRINT); everything else is counted and ignored. Two ports can run side by side
 * (STUN_PORT and STUN_ALT_PORT) so a client can compare its mappings for NAT-behaviour
 * discovery. The bytes are the shared codec's (@p2p-comm/protocol/stun), the client's too.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import {
  decodeStunMessage,
  encodeStunMessage,
  encodeXorMappedAddress,
  STUN_ATTR_XOR_MAPPED_ADDRESS,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  type StunMessage,
  type TransportAddress,
} from '@p2p-comm/protocol/stun';
import { STUN_MAX_MESSAGE_BYTES } from './constants.js';

/**
 * The Binding request in `datagram`, or null for anything else: over the responder's size
 * limit, malformed (the codec's typed error, swallowed here: a stray datagram is not our
 * failure), or another message type.
 */
export function readBindingRequest(datagram: Uint8Array): StunMessage | null {
  if (datagram.length > STUN_MAX_MESSAGE_BYTES) return null;
  try {
    const msg = decodeStunMessage(datagram);
    return msg.type === STUN_BINDING_REQUEST ? msg : null;
  } catch {
    return null;
  }
}

/** The Binding success response to `request`, which came from `address:port` (as node:dgram prints it). */
export function bindingResponse(request: StunMessage, address: string, port: number): Uint8Array {
  // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; they are IPv4 to the client.
  const v4 = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
  const mapped: TransportAddress = isIPv4(v4)
    ? { family: 'IPv4', address: v4, port }
    : { family: 'IPv6', address, port };
  return encodeStunMessage(
    {
      type: STUN_BINDING_SUCCESS,
      transactionId: request.transactionId,
      attributes: [
        { type: STUN_ATTR_XOR_MAPPED_ADDRESS, value: encodeXorMappedAddress(mapped, request.transactionId) },
      ],
    },
    { fingerprint: true },
  );
}

export class StunResponder {
  private socket: Socket | null = null;
  requests = 0;
  invalid = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** Bind; resolves with the bound port. */
  start(): Promise<number> {
    const type = this.host.includes(':') ? 'udp6' : 'udp4';
    const sock = createSocket({ type, reuseAddr: false });
    this.socket = sock;
    sock.on('message', (msg, rinfo) => {
      const request = readBindingRequest(msg);
      if (!request) {
        this.invalid++;
        return;
      }
      this.requests++;
      let response: Uint8Array;
      try {
        response = bindingResponse(request, rinfo.address, rinfo.port);
      } catch {
        this.invalid++; // an address node:dgram printed that we cannot encode (a zone id): no answer
        return;
      }
      sock.send(response, rinfo.port, rinfo.address);
    });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.port, this.host, () => {
        sock.off('error', reject);
        sock.on('error', () => {}); // a send to a vanished address must not crash us
        resolve(sock.address().port);
      });
    });
  }

  close(): Promise<void> {
    const s = this.socket;
    this.socket = null;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }
}
