/**
 * The server's per-recipient relay allowance as the client sees it (issue 14): WELCOME's
 * relayAllowanceBytes from real rendezvous servers (grants on, grants off), and the credit a
 * recipient then gives relayed file senders (relayCredit): a share of the allowance, the old
 * FILE_WINDOW_BYTES / FILE_RECEIVE_BUDGET_BYTES from a server that advertises none. Also the
 * relay client's per-turn cork: what a turn sent is not lost when that turn stops the connection.
 */
import { EnvelopeType, generateIdentity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILE_CHUNK_BYTES, FILE_RECEIVE_BUDGET_BYTES, FILE_WINDOW_BYTES } from '../../src/files/constants.js';
import { relayCredit } from '../../src/sdk/files-wiring.js';
import { RendezvousConnection } from '../../src/transports/rendezvous-connection.js';
import { startRendezvous, waitFor } from '../helpers/server.js';

const MiB = 1024 * 1024;
let granting: Awaited<ReturnType<typeof startRendezvous>>;
let plain: Awaited<ReturnType<typeof startRendezvous>>;
const conns: RendezvousConnection[] = [];

beforeAll(async () => {
  granting = await startRendezvous();
  plain = await startRendezvous({ RELAY_ALLOWANCE_TOTAL_BYTES: '0' });
});
afterAll(async () => {
  for (const c of conns) c.stop();
  await granting?.close();
  await plain?.close();
});

async function welcomed(url: string, identity = generateIdentity(nodeSuite)): Promise<RendezvousConnection> {
  const conn = new RendezvousConnection({ url, identity, suite: nodeSuite });
  conns.push(conn);
  const w = new Promise<void>((r) => conn.once('welcome', () => r()));
  conn.start();
  await w;
  return conn;
}

describe('relay allowance (WELCOME relayAllowanceBytes) and relayed file credit', () => {
  it('reads the allowance a server advertises: 4 MiB with grants, RECIPIENT_BUSY_BYTES without', async () => {
    const w = (await welcomed(granting.url)).welcome;
    expect(w?.relayAllowanceBytes).toBe(4 * MiB);
    expect(w?.rateBytesPerS).toBe(4 * MiB); // RATE_BYTES_PER_S at its default
    expect((await welcomed(plain.url)).welcome?.relayAllowanceBytes).toBe(512 * 1024);
  });

  it('gives relayed senders 75 % of the allowance as credit; the old window from a server that says nothing', () => {
    expect(relayCredit(4 * MiB)).toEqual({ window: 3 * MiB, budget: 3 * MiB });
    // Grants off: the same 384 KiB window as before the allowance existed, the same budget.
    expect(relayCredit(512 * 1024)).toEqual({ window: FILE_WINDOW_BYTES, budget: FILE_RECEIVE_BUDGET_BYTES });
    expect(relayCredit(null)).toEqual({ window: FILE_WINDOW_BYTES, budget: FILE_RECEIVE_BUDGET_BYTES });
    // The server's per-key rate caps it: at 4 MiB/s, what passes in FILE_RELAY_RATE_WINDOW_MS.
    expect(relayCredit(4 * MiB, 4 * MiB)).toEqual({ window: 419_430, budget: FILE_RECEIVE_BUDGET_BYTES });
    expect(relayCredit(4 * MiB, 1_000_000_000)).toEqual({ window: 3 * MiB, budget: 3 * MiB });
    // A tiny allowance still lets one chunk through (the server refuses a frame only once over it).
    expect(relayCredit(4).window).toBe(FILE_CHUNK_BYTES);
  });

  it("a frame relayed in the turn that stops the connection still leaves (the turn's writes are corked)", async () => {
    const alice = generateIdentity(nodeSuite);
    const bob = generateIdentity(nodeSuite);
    const a = await welcomed(granting.url, alice);
    const b = await welcomed(granting.url, bob);
    const got: Uint8Array[] = [];
    b.on('deliver', (_from, envelope) => got.push(envelope));
    const envelope = sealEnvelope(nodeSuite, {
      type: EnvelopeType.DATA,
      sender: alice,
      recipient: bob.publicKey,
      plaintext: new TextEncoder().encode('last words'),
    });
    a.relay(bob.publicKey, envelope);
    a.stop();
    await waitFor(() => got.length === 1, 5_000, 'the frame sent just before stop()');
    expect(Buffer.from(got[0]!).equals(Buffer.from(envelope))).toBe(true);
  });
});
