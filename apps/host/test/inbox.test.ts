import { describe, expect, it } from 'vitest';
import { Inbox, type InboxItem } from '../src/inbox.js';

const msg = (n: number, body = `m${n}`): InboxItem => ({
  type: 'message',
  messageId: `id${n}`,
  from: 'k',
  fingerprint: 'f',
  body,
  encoding: 'text',
  receivedAt: '',
});

describe('Inbox', () => {
  it('hands items out once, in order, in batches', async () => {
    const inbox = new Inbox(10, 1_000);
    for (let i = 0; i < 5; i++) inbox.push(msg(i));
    expect((await inbox.take(2, 0)).map((i) => i.messageId)).toEqual(['id0', 'id1']);
    expect((await inbox.take(10, 0)).map((i) => i.messageId)).toEqual(['id2', 'id3', 'id4']);
    expect(await inbox.take(10, 0)).toEqual([]);
  });

  it('drops the oldest items past its count and byte limits, and counts them', () => {
    const inbox = new Inbox(3, 10);
    for (let i = 0; i < 5; i++) expect(inbox.push(msg(i, 'x'))).toBe(i < 3 ? 0 : 1);
    expect(inbox.size).toBe(3);
    expect(inbox.push(msg(9, 'y'.repeat(9)))).toBe(2);
    expect(inbox.dropped).toBe(4);
    expect(inbox.size).toBe(2);
  });

  it('wakes a long-poll on arrival, times out empty, and bounds waiters', async () => {
    const inbox = new Inbox();
    const waiting = inbox.take(10, 5_000);
    inbox.push(msg(1));
    expect((await waiting).map((i) => i.messageId)).toEqual(['id1']);
    expect(await inbox.take(10, 20)).toEqual([]);
    const waiters = [1, 2, 3, 4].map(() => inbox.take(1, 5_000));
    await expect(inbox.take(1, 5_000)).rejects.toMatchObject({ code: 'HOST_ERR_TOO_MANY_WAITERS' });
    inbox.cancelWaiters();
    expect(await Promise.all(waiters)).toEqual([[], [], [], []]);
  });
});
