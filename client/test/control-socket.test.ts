/**
 * The local control socket of `p2p-comm listen` (extension/control-server.ts) with a real
 * client and real Unix sockets: 0600, only the allowed methods, typed errors that come back
 * as the ClientError the listener threw, and every bound (line size, connections) answered
 * with its code instead of a crash or a hang. Plus the CLI's next-step wording for the errors
 * a person meets first (cli/next-step.ts).
 */
import { statSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../src/cli/next-step.js';
import { ClientError } from '../src/errors.js';
import { ControlClient } from '../src/extension/control-client.js';
import { CONTROL_MAX_CONNECTIONS, CONTROL_MAX_LINE_BYTES } from '../src/extension/control-constants.js';
import { controlSocketPath } from '../src/extension/control-path.js';
import { type ControlServer, serveControl } from '../src/extension/control-server.js';
import { createClient, type P2PClient } from '../src/sdk/client.js';
import { storePaths } from '../src/store/paths.js';
import { tempHome, waitFor } from './helpers/server.js';

const h = tempHome();
let client: P2PClient;
let control: ControlServer;
const path = controlSocketPath(h.home);

beforeAll(async () => {
  client = createClient({ home: h.home }); // offline: no rendezvous needed for these calls
  await client.start();
  // A socket file left by a listener that died is replaced.
  writeFileSync(path, 'stale');
  control = await serveControl(client, path);
});

afterAll(async () => {
  await control?.close();
  await client?.stop();
  h.cleanup();
});

/** A raw connection: what it receives, line by line, and whether it was closed. */
function raw(): Promise<{ socket: Socket; lines: string[]; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const lines: string[] = [];
    let buf = '';
    let closed = false;
    socket.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.once('error', reject);
    socket.once('connect', () => resolve({ socket, lines, closed: () => closed }));
  });
}

describe('control socket', () => {
  it('is a 0600 socket in the home’s state directory', () => {
    expect(path).toBe(`${storePaths(h.home).stateDir}/control.sock`);
    const st = statSync(path);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
    expect(controlSocketPath('/home/a/.nexus', 'win32')).toMatch(/^\\\\\.\\pipe\\p2p-comm-[0-9a-f]{32}$/);
  });

  it('answers the allowed methods; the listener’s errors come back as the same ClientError', async () => {
    const c = await ControlClient.open(path);
    expect(c).not.toBeNull();
    const status = (await c!.call('status', {})) as { key: string };
    expect(status.key).toBe(client.id().key);
    const err = await c!.call('messages.send', { peer: 'Carol', text: 'hi' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe('CLIENT_ERR_UNKNOWN_PEER');
    expect((err as ClientError).message).toBe('no such peer: Carol');
    const bad = await c!.call('peers.revoke', {}).catch((e: unknown) => e);
    expect((bad as ClientError).code).toBe('CLIENT_ERR_INVALID_ARGUMENT');
    c!.close();
  });

  it('refuses methods a local terminal may not call, bad JSON and bad requests, with JSON-RPC codes', async () => {
    const r = await raw();
    r.socket.write('not json\n');
    r.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'consent.respond', params: {} })}\n`);
    r.socket.write(`${JSON.stringify({ jsonrpc: '1.0', id: 2, method: 'status' })}\n`);
    await waitFor(() => r.lines.length >= 3, 5_000, 'three answers');
    const [parse, notAllowed, invalid] = r.lines.map((l) => JSON.parse(l) as { id: unknown; error: { code: number } });
    expect(parse).toMatchObject({ id: null, error: { code: -32700 } });
    expect(notAllowed).toMatchObject({ id: 1, error: { code: -32601 } });
    expect(invalid).toMatchObject({ id: 2, error: { code: -32600 } });
    r.socket.destroy();
  });

  it('a line over CONTROL_MAX_LINE_BYTES is refused with CLIENT_ERR_LINE_TOO_LONG and the connection closed', async () => {
    const r = await raw();
    r.socket.write(Buffer.alloc(CONTROL_MAX_LINE_BYTES + 1, 0x61));
    await waitFor(() => r.closed(), 5_000, 'closed');
    expect(JSON.parse(r.lines[0]!)).toMatchObject({ id: null, error: { data: { code: 'CLIENT_ERR_LINE_TOO_LONG' } } });
    // The listener is unharmed.
    const c = await ControlClient.open(path);
    expect(((await c!.call('status', {})) as { key: string }).key).toBe(client.id().key);
    c!.close();
  });

  it(`serves ${CONTROL_MAX_CONNECTIONS} connections at once; the next one is told CLIENT_ERR_BUSY and closed`, async () => {
    const held = await Promise.all(Array.from({ length: CONTROL_MAX_CONNECTIONS }, () => raw()));
    // Each of them is being served.
    for (const [i, r] of held.entries())
      r.socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: i, method: 'status' })}\n`);
    await waitFor(() => held.every((r) => r.lines.length === 1), 5_000, 'answers');
    const extra = await raw();
    await waitFor(() => extra.closed(), 5_000, 'extra closed');
    expect(JSON.parse(extra.lines[0]!)).toMatchObject({ error: { data: { code: 'CLIENT_ERR_BUSY' } } });
    for (const r of held) r.socket.destroy();
    await waitFor(() => held.every((r) => r.closed()), 5_000, 'held closed');
    // Room again once they are gone.
    const again = await ControlClient.open(path);
    expect(((await again!.call('status', {})) as { key: string }).key).toBe(client.id().key);
    again!.close();
  });

  it('no listener at a path: open() gives null (the CLI then says how to do it by hand)', async () => {
    expect(await ControlClient.open(`${path}.missing`)).toBeNull();
  });
});

describe('what the CLI says next', () => {
  it('unknown peer, ambiguous name, oversized message, not trusted, revoked: each says what to do', () => {
    expect(describeError(new ClientError('CLIENT_ERR_UNKNOWN_PEER', 'Bob'))).toBe(
      'no peer named "Bob": `p2p-comm trust list` shows who you trust; `p2p-comm connect <share>` adds one',
    );
    const ambiguous = new ClientError(
      'CLIENT_ERR_AMBIGUOUS_NAME',
      '"Alice" looks like Alice (3f:a1), Alice (9c:02); use the key or one of these',
      {
        candidates: [
          { key: 'k1', label: 'Alice (3f:a1)' },
          { key: 'k2', label: 'Alice (9c:02)' },
        ],
      },
    );
    expect(describeError(ambiguous)).toContain('(e.g. p2p-comm send "Alice (3f:a1)" …)');
    expect(describeError(ambiguous)).toContain('`p2p-comm trust rename <key> <name>`');
    expect(
      describeError(new ClientError('CLIENT_ERR_MESSAGE_TOO_LARGE', '17000000 > 16777216 bytes', { limit: 16777216 })),
    ).toMatch(/at most 16,777,216 bytes \(16\.0 MiB\); send it as a file instead: `p2p-comm send <peer> --file PATH`/);
    expect(describeError(new ClientError('CLIENT_ERR_NOT_TRUSTED', 'Bob'))).toContain('`p2p-comm connect <share>`');
    expect(describeError(new ClientError('CLIENT_ERR_REVOKED', 'Bob (revoked)'))).toContain('connect again');
    // Codes without a known next step keep their message as it is.
    expect(describeError(new ClientError('CLIENT_ERR_CONFIG', 'x'))).toBe('configuration is invalid: x');
  });
});
