// Peer packets (docs/protocol.md "Peer packets"): what a RELAY/DELIVER carries; byte 0 is the
// version. This is the structure check a relay makes; a receiver then opens the packet.
//
//   0x01 ‖ type        envelope v1            222 … 61,662   sender (18), recipient (50), id (2)   mailbox
//   0x02 0x01          handshake init         exactly 1,330                                         live only
//   0x02 0x02          handshake response     1,154 … 2,178                                         live only
//   0x02 0x03          transport              30 … 61,470                                           live only
//   0x02 0x04          PREKEY                 1,231 … 62,671 sender (3), recipient (35), id (1,199)  mailbox

import { decodeEnvelope } from './envelope.js';
import { PeerError } from './errors.js';

export type PacketKind = 'envelope' | 'handshake-init' | 'handshake-response' | 'transport' | 'prekey';

export interface ClassifiedPacket {
  version: number;
  kind: PacketKind;
  storable: boolean;
  sender?: Uint8Array;
  recipient?: Uint8Array;
  messageId?: Uint8Array;
}

const V2_SIZES: Record<number, { kind: PacketKind; min: number; max: number }> = {
  1: { kind: 'handshake-init', min: 1330, max: 1330 },
  2: { kind: 'handshake-response', min: 1154, max: 2178 },
  3: { kind: 'transport', min: 30, max: 61_470 },
  4: { kind: 'prekey', min: 1231, max: 62_671 },
};

export function classifyPeerPacket(packet: Uint8Array): ClassifiedPacket {
  if (packet.length === 0) throw new PeerError('PROTO_ERR_TRUNCATED', 'empty peer packet');
  const version = packet[0] as number;
  if (version === 0x01) {
    const envelope = decodeEnvelope(packet);
    return {
      version,
      kind: 'envelope',
      storable: true,
      sender: envelope.sender,
      recipient: envelope.recipient,
      messageId: envelope.messageId,
    };
  }
  if (version !== 0x02) {
    throw new PeerError(
      'PROTO_ERR_BAD_VERSION',
      `unknown peer-packet version ${version} (this implementation speaks 1, 2)`,
    );
  }
  if (packet.length < 2) throw new PeerError('PROTO_ERR_TRUNCATED', 'v2 packet without a type');
  const row = V2_SIZES[packet[1] as number];
  if (row === undefined) throw new PeerError('PROTO_ERR_BAD_TYPE', `unknown v2 packet type ${packet[1]}`);
  if (packet.length < row.min) throw new PeerError('PROTO_ERR_TRUNCATED', `${row.kind} shorter than ${row.min} bytes`);
  if (packet.length > row.max) throw new PeerError('PROTO_ERR_TOO_LARGE', `${row.kind} longer than ${row.max} bytes`);
  if (row.kind !== 'prekey') return { version, kind: row.kind, storable: false };
  if (packet[2] !== 0x01)
    throw new PeerError('PROTO_ERR_BAD_VERSION', `prekey message version ${packet[2]} (this implementation speaks 1)`);
  const sequence = new DataView(packet.buffer, packet.byteOffset + 1191, 8).getBigUint64(0);
  if (sequence > BigInt(Number.MAX_SAFE_INTEGER))
    throw new PeerError('PROTO_ERR_BAD_ENCODING', 'prekey sequence above 2^53 - 1');
  return {
    version,
    kind: 'prekey',
    storable: true,
    sender: packet.subarray(3, 35),
    recipient: packet.subarray(35, 67),
    messageId: packet.subarray(1199, 1215),
  };
}
