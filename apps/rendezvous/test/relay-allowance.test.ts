/**
 * The relay allowance (issue 14): WELCOME advertises relayAllowanceBytes, and a recipient holding
 * one of the instance's grants has frames relayed to it accepted up to RELAY_ALLOWANCE_BYTES
 * queued — not cut for it (its hard cap grows by the grant) — while past the allowance, or
 * without a grant, senders still get RDV_ERR_RECIPIENT_BUSY. Grants are bounded by
 * RELAY_ALLOWANCE_TOTAL_BYTES and go back once a queue is under RECIPIENT_BUSY_BYTES again.
 *
 * Real server, real sockets on 127.0.0.1. A recipient that stops reading (its socket paused)
 * makes the server's queue for it grow; the kernel's socket buffers take a little on top, so
 * bounds on accepted bytes leave KERNEL_SLACK for them. Every loop bounded in count and time.
 */
import { randomBytes } from 'node:crypto';
import { EnvelopeType, type Frame, FrameType, generateIdentity, sealEnvelope } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import type { RendezvousApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { advertisedRelayAllowanceBytes, relayAllowanceGrantsMax, type SocketSender } from '../src/hub/sender.js';
import { startApp, TestClient } from './helpers.js';

const apps: RendezvousApp[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const MiB = 1024 * 1024;
const ALLOWANCE = 16 * MiB;
/** RECIPIENT_BUSY_BYTES at the defaults (SEND_QUEUE_MAX_BYTES 1 MiB / 2). */
const BUSY = 512 * 1024;
/** What the kernel's buffers of a paused loopback connection may hold beyond the server's queue, bytes (generous). */
const KERNEL_SLACK = 6 * MiB;
/** Frames of one burst: 32 MiB of 61,662-byte envelopes, twice the allowance. */
const BURST = 544;

/** Rate limits out of the way (bursts of 32 MiB), the stall cut far beyond the test. */
const ENV = {
  RELAY_ALLOWANCE_BYTES: String(ALLOWANCE),
  RATE_BYTES_PER_S: String(128 * MiB),
  RATE_BURST_BYTES: String(128 * MiB),
  RATE_BURST_MSGS: '10000',
  RATE_IP_BYTES_PER_S: String(256 * MiB),
  SLOW_READER_TIMEOUT_MS: '120000',
};

async function client(url: string): Promise<TestClient> {
  const c = await TestClient.connect(url, generateIdentity(nodeSuite));
  clients.push(c);
  return c;
}

const pause = (c: TestClient) => (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
const resume = (c: TestClient) => (c.ws as unknown as { _socket: { resume(): void } })._socket.resume();
const codeOf = (f: Frame) => (f.type === FrameType.ERROR ? f.code : f.type === FrameType.ACK ? 'ACK' : 'OTHER');
/** The hub's socket sender (a private field: read here to count grants). */
const senderOf = (app: RendezvousApp) => (app.hub as unknown as { sender: SocketSender }).sender;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `from` relays BURST big envelopes to `to` at once; the bytes the server accepted and how many it refused as busy. */
async function burst(from: TestClient, to: TestClient, firstId: number): Promise<{ accepted: number; busy: number }> {
  const env = sealEnvelope(nodeSuite, {
    type: EnvelopeType.DATA,
    sender: from.identity,
    recipient: to.key,
    plaintext: randomBytes(61_440),
  });
  for (let i = 0; i < BURST; i++) from.relay(firstId + i, to.key, env);
  let accepted = 0;
  let busy = 0;
  for (let i = 0; i < BURST; i++) {
    const code = codeOf(await from.answer(firstId + i, 20_000));
    if (code === 'ACK') accepted += env.length;
    else if (code === 'RDV_ERR_RECIPIENT_BUSY') busy++;
    else throw new Error(`unexpected answer ${code}`);
  }
  return { accepted, busy };
}

describe('relay allowance (RELAY_ALLOWANCE_BYTES, RELAY_ALLOWANCE_TOTAL_BYTES)', () => {
  it('config: defaults, at least RECIPIENT_BUSY_BYTES, and the number of grants the total allows', () => {
    const d = loadConfig({});
    expect([d.relayAllowanceBytes, d.relayAllowanceTotalBytes]).toEqual([4 * MiB, 128 * MiB]);
    expect(relayAllowanceGrantsMax(d)).toBe(35); // 128 MiB / (4 MiB − 512 KiB + 64 KiB)
    expect(advertisedRelayAllowanceBytes(d)).toBe(4 * MiB);
    // The default follows an operator's own RECIPIENT_BUSY_BYTES (a tiny budget stays tiny).
    expect(loadConfig({ SEND_QUEUE_MAX_BYTES: String(16 * MiB) }).relayAllowanceBytes).toBe(64 * MiB);
    expect(loadConfig({ RECIPIENT_BUSY_BYTES: '1' }).relayAllowanceBytes).toBe(8);
    expect(() => loadConfig({ RELAY_ALLOWANCE_BYTES: String(BUSY - 1) })).toThrow(
      /RELAY_ALLOWANCE_BYTES must be at least RECIPIENT_BUSY_BYTES/,
    );
    const off = loadConfig({ RELAY_ALLOWANCE_TOTAL_BYTES: '0' });
    expect([relayAllowanceGrantsMax(off), advertisedRelayAllowanceBytes(off)]).toEqual([0, BUSY]);
    const same = loadConfig({ RELAY_ALLOWANCE_BYTES: String(BUSY) });
    expect([relayAllowanceGrantsMax(same), advertisedRelayAllowanceBytes(same)]).toEqual([0, BUSY]);
  });

  it('WELCOME advertises relayAllowanceBytes: the allowance when grants exist, RECIPIENT_BUSY_BYTES when none', async () => {
    const on = await startApp();
    const off = await startApp({ RELAY_ALLOWANCE_TOTAL_BYTES: '0' });
    apps.push(on.app, off.app);
    expect((await client(on.url)).welcome?.relayAllowanceBytes).toBe(4 * MiB);
    expect((await client(off.url)).welcome?.relayAllowanceBytes).toBe(BUSY);
  });

  it('a recipient that does not read gets frames queued up to the allowance, not cut; past it (and without grants) senders get RECIPIENT_BUSY', async () => {
    const s = await startApp(ENV);
    const none = await startApp({ ...ENV, RELAY_ALLOWANCE_TOTAL_BYTES: '0' });
    apps.push(s.app, none.app);
    const [alice, bob, carol, dave] = await Promise.all([
      client(s.url),
      client(s.url),
      client(none.url),
      client(none.url),
    ]);
    expect(bob.welcome?.relayAllowanceBytes).toBe(ALLOWANCE);
    pause(bob);
    pause(dave);
    const granted = await burst(alice, bob, 1);
    const plain = await burst(carol, dave, 1);
    // Honoured: the queue grew to the allowance (a frame is refused only once it is over it),
    // far past RECIPIENT_BUSY_BYTES and the 1 MiB hard cap of a socket without a grant.
    expect(granted.accepted).toBeGreaterThanOrEqual(ALLOWANCE);
    expect(granted.accepted).toBeLessThan(ALLOWANCE + 64 * 1024 + KERNEL_SLACK);
    expect(granted.busy).toBeGreaterThan(0);
    expect(bob.closeCode).toBeNull();
    expect(s.app.stats.drops.slow_reader).toBe(0);
    expect(senderOf(s.app).allowanceGrants).toBe(1);
    // Without grants, RECIPIENT_BUSY_BYTES as before.
    expect(plain.accepted).toBeLessThan(BUSY + 64 * 1024 + KERNEL_SLACK);
    expect(plain.busy).toBeGreaterThan(BURST / 2);
    expect(dave.closeCode).toBeNull();
    expect(none.app.stats.drops.slow_reader).toBe(0);
  }, 120_000);

  it('grants are bounded by RELAY_ALLOWANCE_TOTAL_BYTES and go back once the queue is read down', async () => {
    // Room for exactly one grant: what one grant may add (the extra bytes and one frame).
    const s = await startApp({ ...ENV, RELAY_ALLOWANCE_TOTAL_BYTES: String(ALLOWANCE - BUSY + 64 * 1024) });
    apps.push(s.app);
    expect(senderOf(s.app).allowanceGrantsMax).toBe(1);
    const [alice, bob1, bob2] = await Promise.all([client(s.url), client(s.url), client(s.url)]);
    pause(bob1);
    pause(bob2);
    const first = await burst(alice, bob1, 1);
    expect(first.accepted).toBeGreaterThanOrEqual(ALLOWANCE);
    const second = await burst(alice, bob2, 1_000);
    expect(second.accepted).toBeLessThan(BUSY + 64 * 1024 + KERNEL_SLACK); // no grant left for bob2
    expect(senderOf(s.app).allowanceGrants).toBe(1);
    // bob1 reads everything: its grant goes back (the sweep runs at least once a second) …
    resume(bob1);
    for (let i = 0; i < 200 && senderOf(s.app).allowanceGrants > 0; i++) await sleep(50);
    expect(senderOf(s.app).allowanceGrants).toBe(0);
    // … and bob2, still not reading, can now get it.
    const third = await burst(alice, bob2, 2_000);
    expect(third.accepted).toBeGreaterThan(ALLOWANCE - second.accepted - KERNEL_SLACK);
    expect(senderOf(s.app).allowanceGrants).toBe(1);
    expect(bob1.closeCode).toBeNull();
    expect(bob2.closeCode).toBeNull();
    expect(s.app.stats.drops.slow_reader).toBe(0);
  }, 120_000);
});
