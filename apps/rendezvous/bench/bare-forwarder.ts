/**
 * The baseline for relay throughput: a bare `ws` forwarder with no auth, checks or acks.
 * A client's first message is its 32-byte id; later messages are [to 32][payload] and are
 * forwarded as [from 32][payload]. Run: node --import tsx bare-forwarder.ts <port>
 */
import { type WebSocket, WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 9000);
const peers = new Map<string, WebSocket>();
const wss = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false, maxPayload: 65536 });
wss.on('connection', (ws) => {
  let id: Buffer | null = null;
  ws.on('message', (data: Buffer) => {
    if (id === null) {
      id = Buffer.from(data);
      peers.set(id.toString('latin1'), ws);
      return;
    }
    const to = peers.get(data.toString('latin1', 0, 32));
    if (to === undefined) return;
    id.copy(data, 0);
    to.send(data);
  });
  ws.on('close', () => {
    if (id) peers.delete(id.toString('latin1'));
  });
});
wss.on('listening', () => process.stdout.write('ready\n'));
