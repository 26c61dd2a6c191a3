/**
 * A minimal STUN Binding responder on 127.0.0.1 for unit tests of the client's transaction
 * logic (drops, retransmits, garbage). It is a test peer, not a stand-in for the rendezvous
 * responder: the NAT lab runs doctor against the real server in network namespaces.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface TestResponder {
  readonly port: number;
  readonly requests: number;
  close(): Promise<void>;
}

export type ResponderBehaviour = (request: Buffer, rinfo: RemoteInfo, index: number) => Buffer[] | 'drop';

export function xorMappedSuccess(request: Buffer, rinfo: RemoteInfo): Buffer {
  const txId = request.subarray(8, 20);
  const out = Buffer.alloc(32);
  out.writeUInt16BE(0x0101, 0);
  out.writeUInt16BE(12, 2);
  out.writeUInt32BE(0x2112a442, 4);
  txId.copy(out, 8);
  out.writeUInt16BE(0x0020, 20);
  out.writeUInt16BE(8, 22);
  out.writeUInt8(0, 24);
  out.writeUInt8(1, 25);
  out.writeUInt16BE(rinfo.port ^ 0x2112, 26);
  const ip = rinfo.address.split('.').map(Number);
  const cookie = [0x21, 0x12, 0xa4, 0x42];
  for (let i = 0; i < 4; i++) out.writeUInt8(ip[i]! ^ cookie[i]!, 28 + i);
  return out;
}

export async function startResponder(behaviour: ResponderBehaviour): Promise<TestResponder> {
  const socket: Socket = createSocket('udp4');
  let requests = 0;
  socket.on('message', (msg, rinfo) => {
    const index = requests++;
    const replies = behaviour(msg, rinfo, index);
    if (replies === 'drop') return;
    for (const r of replies) socket.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    port: socket.address().port,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
