/**
 * RFC 5389 STUN Binding responder (UDP), so clients learn their server-reflexive address from
 * the organisation's own server. Answers Binding requests with XOR-MAPPED-ADDRESS (and
 * FINGERPRINT); everything else is ignored. Two ports can run side by side (STUN_PORT and
 * STUN_ALT_PORT) so a client can compare its mappings for NAT-behaviour discovery.
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { crc32 } from 'node:zlib';
import { STUN_MAX_MESSAGE_BYTES } from './constants.js';

export const STUN_MAGIC_COOKIE = 0x2112a442;
export const STUN_BINDING_REQUEST = 0x0001;
export const STUN_BINDING_SUCCESS = 0x0101;
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
export const ATTR_FINGERPRINT = 0x8028;
const FINGERPRINT_XOR = 0x5354554e;
const HEADER = 20;

/** Whether `msg` is a well-formed STUN Binding request (header checks only; attributes are not needed). */
export function isBindingRequest(msg: Buffer): boolean {
  if (msg.length < HEADER || msg.length > STUN_MAX_MESSAGE_BYTES) return false;
  if ((msg[0]! & 0xc0) !== 0) return false;
  if (msg.readUInt16BE(0) !== STUN_BINDING_REQUEST) return false;
  const len = msg.readUInt16BE(2);
  if (len % 4 !== 0 || HEADER + len !== msg.length) return false;
  return msg.readUInt32BE(4) === STUN_MAGIC_COOKIE;
}

/** Build the Binding success response for a request from `address:port`. */
export function bindingResponse(request: Buffer, address: string, port: number): Buffer {
  const v4 = isIPv4(address) || (address.startsWith('::ffff:') && isIPv4(address.slice(7)));
  const addrBytes = v4 ? ipv4Bytes(address.startsWith('::ffff:') ? address.slice(7) : address) : ipv6Bytes(address);
  const attrLen = 4 + addrBytes.length;
  const total = HEADER + 4 + attrLen + 8;
  const b = Buffer.alloc(total);
  b.writeUInt16BE(STUN_BINDING_SUCCESS, 0);
  b.writeUInt32BE(STUN_MAGIC_COOKIE, 4);
  request.copy(b, 8, 8, 20); // transaction id
  let o = HEADER;
  b.writeUInt16BE(ATTR_XOR_MAPPED_ADDRESS, o);
  b.writeUInt16BE(attrLen, o + 2);
  b[o + 5] = v4 ? 0x01 : 0x02;
  b.writeUInt16BE(port ^ (STUN_MAGIC_COOKIE >>> 16), o + 6);
  // XOR key: the magic cookie, then (IPv6) the transaction id.
  for (let i = 0; i < addrBytes.length; i++) b[o + 8 + i] = addrBytes[i]! ^ b[4 + i]!;
  o += 4 + attrLen;
  // FINGERPRINT covers the message with its length field already counting the fingerprint.
  b.writeUInt16BE(total - HEADER, 2);
  b.writeUInt16BE(ATTR_FINGERPRINT, o);
  b.writeUInt16BE(4, o + 2);
  b.writeUInt32BE((crc32(b.subarray(0, o)) ^ FINGERPRINT_XOR) >>> 0, o + 4);
  return b;
}

function ipv4Bytes(a: string): Buffer {
  return Buffer.from(a.split('.').map((x) => Number(x)));
}

function ipv6Bytes(a: string): Buffer {
  const [head = '', tail = ''] = a.split('::') as [string?, string?];
  const h = head === '' ? [] : head.split(':');
  const t = a.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => {
    b.writeUInt16BE(Number.parseInt(g, 16) || 0, i * 2);
  });
  return b;
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
      if (!isBindingRequest(msg)) {
        this.invalid++;
        return;
      }
      this.requests++;
      sock.send(bindingResponse(msg, rinfo.address, rinfo.port), rinfo.port, rinfo.address);
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
