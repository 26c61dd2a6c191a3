/**
 * The local control socket of a running `p2p-comm listen`: while it holds NEXUS_HOME, other
 * `p2p-comm send` / `trust revoke` commands for the same home hand their work to it here
 * instead of failing with CLIENT_ERR_HOME_LOCKED.
 *
 * Line-delimited JSON-RPC 2.0, the extension's framing (jsonrpc.ts, line-reader.ts). Only the
 * methods in CONTROL_METHODS are served. A connection that sent `messages.send` also gets the
 * `message.delivered` / `message.failed` notifications for those ids, so the CLI can wait for
 * the end-to-end ack as it does on its own.
 *
 * Access: the socket lives in NEXUS_HOME's state directory (0700) and is chmod 0600, so only
 * the user who owns the home can connect; every limit is in control-constants.ts.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { CLIENT_ERRORS } from '../errors.js';
import type { P2PClient } from '../sdk/client.js';
import {
  CONTROL_IDLE_TIMEOUT_MS,
  CONTROL_MAX_CONNECTIONS,
  CONTROL_MAX_IN_FLIGHT,
  CONTROL_MAX_LINE_BYTES,
  CONTROL_MAX_TRACKED_SENDS,
} from './control-constants.js';
import {
  errorResponse,
  notification,
  parseRequestLine,
  RPC,
  type RpcErrorObject,
  response,
  toRpcError,
} from './jsonrpc.js';
import { readLines } from './line-reader.js';
import { METHODS } from './methods.js';

/** What another CLI process may ask a running listener to do. */
export const CONTROL_METHODS: ReadonlySet<string> = new Set([
  'messages.send',
  'peers.revoke',
  'status',
  'files.send',
  'files.list',
  'files.respond',
  'files.cancel',
]);

/** File events a connection gets for the transfers it started with `files.send`. */
const FILE_EVENTS = ['file.accepted', 'file.progress', 'file.done', 'file.failed'] as const;

export interface ControlServer {
  readonly path: string;
  close(): Promise<void>;
}

interface Connection {
  socket: Socket;
  inFlight: number;
  /** Message ids this connection sent, insertion-ordered so the oldest is forgotten first. */
  sends: Set<string>;
  /** Transfer ids this connection started (files.send), bounded like `sends`. */
  files: Set<string>;
}

const busy = (what: string): RpcErrorObject => ({
  code: CLIENT_ERRORS.CLIENT_ERR_BUSY.rpc,
  message: `${CLIENT_ERRORS.CLIENT_ERR_BUSY.message}: ${what}`,
  data: { code: 'CLIENT_ERR_BUSY' },
});

/**
 * Listen on `path` for a started client. A socket file left by a listener that died is
 * removed first: the caller holds the home lock, so no live listener owns it.
 */
export async function serveControl(client: P2PClient, path: string): Promise<ControlServer> {
  const connections = new Set<Connection>();
  const write = (c: Connection, line: string) => {
    if (!c.socket.destroyed) c.socket.write(`${line}\n`);
  };
  const forward = (event: 'message.delivered' | 'message.failed') => (params: { id: string }) => {
    for (const c of connections) if (c.sends.delete(params.id)) write(c, notification(event, params));
  };
  const onDelivered = forward('message.delivered');
  const onFailed = forward('message.failed');
  client.on('message.delivered', onDelivered);
  client.on('message.failed', onFailed);
  const fileForwards = FILE_EVENTS.map((event) => {
    const fn = (params: { id: string }) => {
      const ended = event === 'file.done' || event === 'file.failed';
      for (const c of connections)
        if (c.files.has(params.id)) {
          if (ended) c.files.delete(params.id);
          write(c, notification(event, params));
        }
    };
    client.on(event, fn);
    return [event, fn] as const;
  });

  const handle = async (c: Connection, line: string) => {
    if (line.trim().length === 0) return;
    const parsed = parseRequestLine(line);
    if (!parsed.ok) return write(c, errorResponse(parsed.id, parsed.error));
    const { id, method, params } = parsed.request;
    const fn = CONTROL_METHODS.has(method) ? METHODS[method] : undefined;
    if (!fn) {
      if (id !== undefined)
        write(c, errorResponse(id, { code: RPC.METHOD_NOT_FOUND, message: `method not found: ${method}` }));
      return;
    }
    if (c.inFlight >= CONTROL_MAX_IN_FLIGHT) {
      if (id !== undefined) write(c, errorResponse(id, busy(`over ${CONTROL_MAX_IN_FLIGHT} requests in flight`)));
      return;
    }
    c.inFlight++;
    try {
      const result = await fn(client, params);
      if (method === 'messages.send') {
        const sent = (result as { id: string }).id;
        c.sends.add(sent);
        if (c.sends.size > CONTROL_MAX_TRACKED_SENDS) c.sends.delete(c.sends.values().next().value!);
      }
      if (method === 'files.send') {
        c.files.add((result as { id: string }).id);
        if (c.files.size > CONTROL_MAX_TRACKED_SENDS) c.files.delete(c.files.values().next().value!);
      }
      if (id !== undefined) write(c, response(id, result));
    } catch (err) {
      if (id !== undefined) write(c, errorResponse(id, toRpcError(err)));
    } finally {
      c.inFlight--;
    }
  };

  const server: Server = createServer((socket) => {
    socket.on('error', () => socket.destroy()); // a client that vanished mid-write is not our failure
    if (connections.size >= CONTROL_MAX_CONNECTIONS) {
      socket.end(`${errorResponse(null, busy(`over ${CONTROL_MAX_CONNECTIONS} control connections`))}\n`);
      return;
    }
    const c: Connection = { socket, inFlight: 0, sends: new Set(), files: new Set() };
    connections.add(c);
    socket.setTimeout(CONTROL_IDLE_TIMEOUT_MS, () => socket.destroy());
    socket.once('close', () => connections.delete(c));
    readLines(socket, CONTROL_MAX_LINE_BYTES, {
      onLine: (line) => void handle(c, line),
      onOversize: () => {
        socket.end(
          `${errorResponse(null, {
            code: RPC.INVALID_REQUEST,
            message: `invalid request: line exceeds ${CONTROL_MAX_LINE_BYTES} bytes`,
            data: { code: 'CLIENT_ERR_LINE_TOO_LONG' },
          })}\n`,
        );
      },
      onEnd: () => socket.end(),
    });
  });
  server.maxConnections = CONTROL_MAX_CONNECTIONS * 2; // hard stop behind the polite refusal above

  if (!path.startsWith('\\\\.\\pipe\\')) removeStale(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (!path.startsWith('\\\\.\\pipe\\')) chmodSync(path, 0o600);

  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        client.off('message.delivered', onDelivered);
        client.off('message.failed', onFailed);
        for (const [event, fn] of fileForwards) client.off(event, fn);
        for (const c of connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function removeStale(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there: nothing to remove
  }
}
