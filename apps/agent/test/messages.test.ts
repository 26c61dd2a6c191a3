import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentError } from '../src/errors.js';
import { decodeAgentMessage, encodeAgentMessage } from '../src/messages.js';

describe('agent messages', () => {
  it('round-trips every kind', () => {
    const ask = decodeAgentMessage(encodeAgentMessage({ kind: 'ask', text: 'What is 2 + 3?', depth: 0, from: 'A' }));
    expect(ask).toMatchObject({ v: 'p2p-agent/1', kind: 'ask', text: 'What is 2 + 3?', depth: 0, from: 'A' });
    expect(ask.id).toMatch(/^[0-9a-f-]{36}$/);
    const answer = decodeAgentMessage(encodeAgentMessage({ kind: 'answer', re: ask.id, text: '5' }));
    expect(answer).toMatchObject({ kind: 'answer', re: ask.id });
    const err = decodeAgentMessage(
      encodeAgentMessage({ kind: 'error', re: ask.id, code: 'AGENT_ERR_BUSY', text: 'busy' }),
    );
    expect(err.code).toBe('AGENT_ERR_BUSY');
    expect(decodeAgentMessage(encodeAgentMessage({ kind: 'task', text: 'do', depth: 3 })).kind).toBe('task');
  });

  it('rejects malformed, oversized and foreign-version messages', () => {
    const ok = { v: 'p2p-agent/1', kind: 'ask', id: 'a1', text: 'hi' };
    const bad: unknown[] = [
      'not json',
      '[]',
      { ...ok, v: 'p2p-agent/2' },
      { ...ok, kind: 'exec' },
      { ...ok, id: 'has space' },
      { ...ok, id: 'x'.repeat(65) },
      { ...ok, text: 5 },
      { ...ok, text: 'x'.repeat(40_000) },
      { ...ok, depth: 4 },
      { ...ok, depth: -1 },
      { ...ok, re: 'a0' },
      { ...ok, kind: 'answer' },
      { ...ok, kind: 'error', re: 'a0' },
      { ...ok, kind: 'error', re: 'a0', code: 'lower' },
      { ...ok, from: 'x'.repeat(65) },
    ];
    for (const b of bad) {
      const body = typeof b === 'string' ? b : JSON.stringify(b);
      expect(() => decodeAgentMessage(body), body.slice(0, 60)).toThrow(
        expect.objectContaining({ code: 'AGENT_ERR_BAD_MESSAGE' }),
      );
    }
    expect(() =>
      decodeAgentMessage(JSON.stringify({ ...ok, text: 'x'.repeat(30_000), pad: 'y'.repeat(30_000) })),
    ).toThrow(AgentError);
  });

  it('never throws anything but AgentError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        try {
          decodeAgentMessage(s);
        } catch (e) {
          expect(e).toBeInstanceOf(AgentError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
