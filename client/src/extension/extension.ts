import type { Readable, Writable } from 'node:stream';
import { RPC_MAX_IN_FLIGHT, RPC_MAX_LINE_BYTES } from '../constants.js';
import { CLIENT_ERRORS } from '../errors.js';
import type { ClientEvents, P2PClient } from '../sdk/client.js';
import { HostOutput } from './host-output.js';
import { errorResponse, notification, parseRequestLine, RPC, response, toRpcError } from './jsonrpc.js';
import { readLines } from './line-reader.js';
import { METHODS } from './methods.js';

/** Session events forwarded to the host as JSON-RPC notifications, under the same names. */
const NOTIFICATIONS = [
  'consent.request',
  'message.received',
  'message.delivered',
  'message.failed',
  'peer.status',
  'approval.request',
  'name.change',
  'server.status',
  'file.offer',
  'file.accepted',
  'file.progress',
  'file.done',
  'file.failed',
] as const satisfies ReadonlyArray<keyof ClientEvents>;

export interface ExtensionIo {
  input: Readable;
  output: Writable;
  log: (line: string) => void;
}

/**
 * Serve JSON-RPC 2.0 on `io` for a started client until input ends. Every line gets exactly
 * one answer (requests) or none (notifications); nothing a host writes can crash the process.
 */
export function serveExtension(client: P2PClient, io: ExtensionIo): Promise<void> {
  const output = new HostOutput(io.output);
  const write = (line: string) => output.write(line);
  // Acks (and a long message's DONE) wait until the host has the message.received lines.
  client.session.setDeliveryGate((key, then) => output.whenFlushed(key, then));
  for (const name of NOTIFICATIONS)
    (client.on as (e: string, h: (p: unknown) => void) => P2PClient)(name, (params) =>
      write(notification(name, params)),
    );
  client.on('rejected', (r) => io.log(`refused envelope from ${r.from || '?'}: ${r.code}`));

  let inFlight = 0;
  const handle = async (line: string) => {
    if (line.trim().length === 0) return;
    const parsed = parseRequestLine(line);
    if (!parsed.ok) {
      write(errorResponse(parsed.id, parsed.error));
      return;
    }
    const { id, method, params } = parsed.request;
    const fn = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
    if (!fn) {
      if (id !== undefined)
        write(errorResponse(id, { code: RPC.METHOD_NOT_FOUND, message: `method not found: ${method}` }));
      return;
    }
    if (inFlight >= RPC_MAX_IN_FLIGHT) {
      if (id !== undefined)
        write(
          errorResponse(id, {
            code: CLIENT_ERRORS.CLIENT_ERR_BUSY.rpc,
            message: CLIENT_ERRORS.CLIENT_ERR_BUSY.message,
            data: { code: 'CLIENT_ERR_BUSY' },
          }),
        );
      return;
    }
    inFlight++;
    try {
      const result = await fn(client, params);
      if (id !== undefined) write(response(id, result));
    } catch (err) {
      const error = toRpcError(err);
      if (error.code === RPC.INTERNAL_ERROR)
        io.log(`internal error in ${method}: ${(err as Error)?.stack ?? String(err)}`);
      if (id !== undefined) write(errorResponse(id, error));
    } finally {
      inFlight--;
    }
  };

  return new Promise((resolve) => {
    readLines(io.input, RPC_MAX_LINE_BYTES, {
      onLine: (line) => void handle(line),
      onOversize: () =>
        write(
          errorResponse(null, {
            code: RPC.INVALID_REQUEST,
            message: `invalid request: line exceeds ${RPC_MAX_LINE_BYTES} bytes`,
            data: { code: 'CLIENT_ERR_LINE_TOO_LONG' },
          }),
        ),
      onEnd: resolve,
    });
  });
}
