/**
 * Reference: the barest WebSocket forwarder Node can run — a Map from 32-byte id to socket,
 * no authentication, no checks, no limits beyond ws's maxPayload. It marks the transport
 * ceiling of this machine; every server is reported as a ratio to it.
 *
 * Usage: node --import tsx loadtest/src/refs/bare-forwarder.ts <port>
 */
import { type WebSocket, WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 0);
const peers = new Map<string, WebSocket>();
const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 64 * 1024 });

wss.on('connection', (ws, req) => {
  const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
  const key = Buffer.from(id, 'hex').toString('latin1');
  peers.set(key, ws);
  ws.on('message', (data: Buffer) => {
    peers.get(data.toString('latin1', 0, 32))?.send(data);
  });
  ws.on('close', () => {
    if (peers.get(key) === ws) peers.delete(key);
  });
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => {
  const addr = wss.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : String(addr)}\n`);
});
process.on('SIGTERM', () => process.exit(0));
