/**
 * The send window over a real durable outbox: bounded by messages and by wire bytes, never
 * stalled by one large message, and not confused when sending opens a path whose arrival
 * kicks the same peer (the relay opens on demand, inside transmit).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_BYTES,
  RETRANSMIT_INITIAL_MS,
  SEND_WINDOW_BYTES,
  SEND_WINDOW_MESSAGES,
} from '../../src/constants.js';
import { Outbox, type OutboxMessage } from '../../src/session/outbox.js';
import { Retransmitter } from '../../src/session/retransmitter.js';
import { dataWireBytes, sendWindowBytes } from '../../src/session/send-window.js';
import { storePaths } from '../../src/store/paths.js';
import { tempHome } from '../helpers/server.js';

const PEER = 'p'.repeat(43);
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(
  opts: { windowBytes?: () => number; onTransmit?: (m: OutboxMessage) => void; mailboxResendAfterMs?: number } = {},
) {
  const h = tempHome('p2p-retx-');
  const outbox = new Outbox(storePaths(h.home).stateDir);
  const sent: OutboxMessage[] = [];
  const retx = new Retransmitter({
    outbox,
    canSend: () => true,
    transmit: (_peer, m) => {
      sent.push(m);
      opts.onTransmit?.(m);
    },
    onDelivered: () => {},
    onRetransmit: () => {},
    ...(opts.windowBytes ? { windowBytes: opts.windowBytes } : {}),
    ...(opts.mailboxResendAfterMs ? { mailboxResendAfterMs: opts.mailboxResendAfterMs } : {}),
  });
  cleanups.push(() => retx.stop(), h.cleanup);
  return { outbox, retx, sent };
}

const wire = (ms: readonly OutboxMessage[]) => ms.reduce((n, m) => n + dataWireBytes(m.body.length), 0);

describe('send window', () => {
  it('max-size messages: in flight stays within SEND_WINDOW_BYTES; each ack lets the next ones go in order', () => {
    const { outbox, retx, sent } = setup();
    for (let i = 0; i < 20; i++) outbox.add(PEER, 'bytes', new Uint8Array(MAX_MESSAGE_BYTES));
    retx.pump(PEER);
    const perWindow = Math.floor(SEND_WINDOW_BYTES / dataWireBytes(MAX_MESSAGE_BYTES));
    expect(perWindow).toBeGreaterThan(1);
    expect(perWindow).toBeLessThan(SEND_WINDOW_MESSAGES);
    expect(sent.map((m) => m.seq)).toEqual([...Array(perWindow).keys()]);
    expect(wire(sent)).toBeLessThanOrEqual(SEND_WINDOW_BYTES);

    retx.ack(PEER, sent[0]!.stream, 1); // two acked: two more go, nothing resent
    expect(sent.map((m) => m.seq)).toEqual([...Array(perWindow + 2).keys()]);
    expect(wire(outbox.pending(PEER).slice(0, perWindow))).toBeLessThanOrEqual(SEND_WINDOW_BYTES);
  });

  it('small messages: the message count bounds the window', () => {
    const { outbox, retx, sent } = setup();
    for (let i = 0; i < SEND_WINDOW_MESSAGES + 10; i++) outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER);
    expect(sent).toHaveLength(SEND_WINDOW_MESSAGES);
  });

  it('one message always goes, however small the window', () => {
    const { outbox, retx, sent } = setup({ windowBytes: () => 1 });
    for (let i = 0; i < 3; i++) outbox.add(PEER, 'bytes', new Uint8Array(MAX_MESSAGE_BYTES));
    retx.pump(PEER);
    expect(sent.map((m) => m.seq)).toEqual([0]);
    retx.ack(PEER, sent[0]!.stream, 0);
    expect(sent.map((m) => m.seq)).toEqual([0, 1]);
  });

  it('a path opened by our own transmit kicks the peer: no message resent or skipped', () => {
    let kicked = false;
    const ctx: { retx?: Retransmitter } = {};
    const s = setup({
      onTransmit: () => {
        if (kicked) return;
        kicked = true;
        ctx.retx!.kick(PEER); // what PathManager.onPathChange → session.kick does, synchronously
      },
    });
    ctx.retx = s.retx;
    for (let i = 0; i < 10; i++) s.outbox.add(PEER, 'text', new Uint8Array(100));
    s.retx.pump(PEER);
    expect(kicked).toBe(true);
    expect(s.sent.map((m) => m.seq)).toEqual([...Array(10).keys()]);
  });

  it("follows the server's advertised send queue when it is the smaller", () => {
    expect(sendWindowBytes(null)).toBe(SEND_WINDOW_BYTES);
    expect(sendWindowBytes(512 * 1024)).toBe(128 * 1024);
    expect(sendWindowBytes(64 * 1024 * 1024)).toBe(SEND_WINDOW_BYTES);
    expect(sendWindowBytes(1)).toBe(1);
  });
});

describe('recipient busy (RDV_ERR_RECIPIENT_BUSY)', () => {
  it('holds the peer, then resends from the first unacked after the doubled timeout when no ack comes; nothing fails', async () => {
    const { outbox, retx, sent } = setup();
    for (let i = 0; i < 5; i++) outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER);
    expect(sent.map((m) => m.seq)).toEqual([0, 1, 2, 3, 4]);
    const t0 = Date.now();
    retx.backoff(PEER);
    retx.backoff(PEER); // more refusals of the same window count once
    outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER); // held: the new message waits too
    expect(sent).toHaveLength(5);
    // The backoff is RETRANSMIT_INITIAL_MS doubled (plus up to 25 % jitter): bounded wait.
    for (let i = 0; i < 100 && sent.length < 6; i++) await new Promise((r) => setTimeout(r, 50));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * RETRANSMIT_INITIAL_MS);
    // With no ack at all, from the first unacked, half of the 5 that were in flight.
    expect(sent.slice(5).map((m) => m.seq)).toEqual([0, 1]);
    expect(outbox.pending(PEER)).toHaveLength(6); // still waiting for the peer's ack, none failed
  });
});

describe('recipient busy: ack-clocked recovery', () => {
  it('the next ack ends the hold at once and resends from the first unacked, half as many in flight; acks grow it back', () => {
    const { outbox, retx, sent } = setup();
    for (let i = 0; i < 12; i++) outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER);
    expect(sent).toHaveLength(12);
    // The relay took #0 and refused the rest (the peer's queue was not empty).
    retx.backoff(PEER);
    retx.pump(PEER);
    expect(sent).toHaveLength(12); // held
    retx.ack(PEER, sent[0]!.stream, 0); // the peer read #0: no waiting for the timeout
    // Half of the 12 in flight, plus one for the ack: #1..#7 again.
    expect(sent.slice(12).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    retx.backoff(PEER); // refused again: 7 → 3
    retx.ack(PEER, sent[0]!.stream, 1);
    expect(sent.slice(19).map((m) => m.seq)).toEqual([2, 3, 4, 5]);
    retx.ack(PEER, sent[0]!.stream, 5); // four acked, none refused: the cap grows by four
    expect(sent.slice(23).map((m) => m.seq)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(outbox.pending(PEER)).toHaveLength(6); // nothing failed or dropped
  });

  it('a new path restores the whole window', () => {
    const { outbox, retx, sent } = setup();
    for (let i = 0; i < 10; i++) outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER);
    retx.backoff(PEER); // cap 5
    retx.kick(PEER);
    expect(sent.slice(10).map((m) => m.seq)).toEqual([...Array(10).keys()]);
  });
});

/** Past one retransmit timeout with its jitter (≤ 1/4), ms. */
const PAST_RTO_MS = RETRANSMIT_INITIAL_MS * 1.25 + 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('parking: QUEUED means stored', () => {
  it('the retransmit timer skips parked messages and resends the others', async () => {
    const { outbox, retx, sent } = setup();
    for (let i = 0; i < 3; i++) outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER);
    expect(sent.map((m) => m.seq)).toEqual([0, 1, 2]);
    retx.park(PEER, sent[0]!.id);
    retx.park(PEER, sent[1]!.id);
    await sleep(PAST_RTO_MS);
    expect(sent.map((m) => m.seq)).toEqual([0, 1, 2, 2]);
  });

  it('all parked: nothing is resent on the timer; an id outside the window parks nothing', async () => {
    const { outbox, retx, sent } = setup();
    for (let i = 0; i < 2; i++) outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER);
    retx.park(PEER, 'f'.repeat(32));
    for (const m of [...sent]) retx.park(PEER, m.id);
    await sleep(PAST_RTO_MS * 2);
    expect(sent.map((m) => m.seq)).toEqual([0, 1]);
  });

  it('peer seen online: parked messages are resent after a timeout unless an ack covers them first', async () => {
    const a = setup();
    const b = setup();
    for (const { outbox, retx, sent } of [a, b]) {
      for (let i = 0; i < 2; i++) outbox.add(PEER, 'text', new Uint8Array(10));
      retx.pump(PEER);
      for (const m of [...sent]) retx.park(PEER, m.id);
      retx.peerOnline(PEER);
      expect(sent).toHaveLength(2); // not at once: the peer's ack is normally on its way
    }
    b.retx.ack(PEER, b.sent[0]!.stream, 1); // its mailbox reached it: acked, nothing to resend
    await sleep(PAST_RTO_MS);
    expect(a.sent.map((m) => m.seq)).toEqual([0, 1, 0, 1]); // no ack: the mailbox had lost them
    expect(b.sent.map((m) => m.seq)).toEqual([0, 1]);
    expect(b.outbox.pending(PEER)).toHaveLength(0);
  });

  it('an ack that covers none of them unparks them too (the peer is online without them)', async () => {
    const { outbox, retx, sent } = setup();
    for (let i = 0; i < 2; i++) outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER);
    for (const m of [...sent]) retx.park(PEER, m.id);
    retx.ack(PEER, 'another-stream', 5);
    await sleep(PAST_RTO_MS);
    expect(sent.map((m) => m.seq)).toEqual([0, 1, 0, 1]);
  });

  it('kick resends parked messages at once only when asked (server connection back, direct path)', () => {
    const { outbox, retx, sent } = setup();
    for (let i = 0; i < 2; i++) outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER);
    for (const m of [...sent]) retx.park(PEER, m.id);
    retx.kick(PEER);
    expect(sent.map((m) => m.seq)).toEqual([0, 1]);
    retx.kick(PEER, true);
    expect(sent.map((m) => m.seq)).toEqual([0, 1, 0, 1]);
  });

  it('parked messages are resent once the long timeout (mailboxResendAfterMs) has passed', async () => {
    const { outbox, retx, sent } = setup({ mailboxResendAfterMs: 2_000 });
    for (let i = 0; i < 2; i++) outbox.add(PEER, 'text', new Uint8Array(10));
    retx.pump(PEER);
    for (const m of [...sent]) retx.park(PEER, m.id);
    await sleep(1_600); // past the short timeout, before the long one
    expect(sent).toHaveLength(2);
    await sleep(1_000);
    expect(sent.map((m) => m.seq)).toEqual([0, 1, 0, 1]);
  });
});
