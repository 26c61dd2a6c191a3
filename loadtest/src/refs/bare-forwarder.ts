/**
 * Reference: the barest WebSocket forwarder Node can run — a Map from 32-byte id to socket,
 * no authentication, no checks, no limits beyond ws's maxPayload. It marks the transport
 * ceiling of this machine; every server is reported as a ratio to it.
 *
 * With `--cork`, sends made in one event-loop turn are coalesced per socket (cork, then
 * uncork on the next tick) — the one trick the rendezvous hub also uses — to show the ceiling
 * a forwarder reaches when it stops paying a write per message.
 *
 * Usage: node --import tsx loadtest/src/refs/bare-forwarder.ts <port> [--cork]
 */
import { type WebSocket, WebSocketServer } from 'ws';

const port = Number(process.argv[2] ?? 0);
const cork = process.argv.includes('--cork');
const peers = new Map<string, WebSocket>();
/** Sockets corked this turn (at most every open socket). */
const corked = new Set<WebSocket>();
function uncorkAll(): void {
  for (const ws of corked) (ws as unknown as { _socket: import('node:net').Socket })._socket.uncork();
  corked.clear();
}
const wss = new WebSocketServer({ host: '127.0.0.1', port, maxPayload: 64 * 1024 });

wss.on('connection', (ws, req) => {
  const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
  const key = Buffer.from(id, 'hex').toString('latin1');
  peers.set(key, ws);
  ws.on('message', (data: Buffer) => {
    const dst = peers.get(data.toString('latin1', 0, 32));
    if (!dst) return;
    if (cork && !corked.has(dst)) {
      // ws keeps the net.Socket as `_socket`; corking it batches this turn's frames.
      (dst as unknown as { _socket: import('node:net').Socket })._socket.cork();
      if (corked.size === 0) process.nextTick(uncorkAll);
      corked.add(dst);
    }
    dst.send(data);
  });
  ws.on('close', () => {
    corked.delete(ws);
    if (peers.get(key) === ws) peers.delete(key);
  });
  ws.on('error', () => ws.terminate());
});
wss.on('listening', () => {
  const addr = wss.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : String(addr)}\n`);
});
process.on('SIGTERM', () => process.exit(0));
