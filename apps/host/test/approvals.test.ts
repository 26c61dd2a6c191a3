import { describe, expect, it } from 'vitest';
import { ApprovalQueue, type ApprovalRequest } from '../src/approvals/queue.js';

const req: ApprovalRequest = {
  kind: 'receive',
  prompt: 'Peer wants to send a message. Allow?',
  peer: { key: 'k', fingerprint: 'aa:bb' },
  reasons: [],
};

describe('ApprovalQueue', () => {
  it('resolves with the user decision, and decisions are final', async () => {
    const q = new ApprovalQueue({ timeoutMs: 10_000 });
    let changes = 0;
    q.on('change', () => changes++);
    const a = q.ask(req);
    const b = q.ask(req);
    expect(q.pending().map((p) => p.id)).toEqual([a.id, b.id]);
    q.decide(a.id, true);
    q.decide(b.id, false);
    expect(await a.decision).toBe('accepted');
    expect(await b.decision).toBe('denied');
    expect(() => q.decide(a.id, false)).toThrow(expect.objectContaining({ code: 'HOST_ERR_APPROVAL_DECIDED' }));
    expect(() => q.decide('nope', true)).toThrow(expect.objectContaining({ code: 'HOST_ERR_APPROVAL_NOT_FOUND' }));
    expect(q.pending()).toEqual([]);
    expect(q.decided().map((d) => d.state)).toEqual(['denied', 'accepted']);
    expect(changes).toBe(4);
  });

  it('expires unanswered approvals as a denial', async () => {
    const q = new ApprovalQueue({ timeoutMs: 20 });
    expect(await q.ask(req).decision).toBe('expired');
  });

  it('bounds pending approvals and history', async () => {
    const q = new ApprovalQueue({ timeoutMs: 10_000, maxPending: 2, maxHistory: 1 });
    const a = q.ask(req);
    q.ask(req);
    expect(() => q.ask(req)).toThrow(expect.objectContaining({ code: 'HOST_ERR_APPROVAL_QUEUE_FULL' }));
    q.decide(a.id, true);
    q.close();
    expect(q.pending()).toEqual([]);
    expect(q.decided()).toHaveLength(1);
  });
});
