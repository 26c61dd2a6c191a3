/**
 * Reference: the PeerJS signaling server (`peer` package) with its defaults, except the
 * concurrent-client limit (raised so the connect and idle scenarios can fill it).
 *
 * Usage: node --import tsx loadtest/src/refs/peerjs-server.ts <port>
 */
import { PeerServer } from 'peer';

const port = Number(process.argv[2] ?? 0);
const server = PeerServer({ host: '127.0.0.1', port, path: '/', concurrent_limit: 100_000 }, (http) => {
  const addr = http.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : port}\n`);
});
server.on('error', () => {});
process.on('SIGTERM', () => process.exit(0));
