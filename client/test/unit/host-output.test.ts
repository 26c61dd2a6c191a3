/**
 * HostOutput: a callback waits until every line written before it has been handed on (its
 * write callback came), and never runs once a write failed (the host is gone).
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HostOutput } from '../../src/extension/host-output.js';

/** A stdout whose writes complete only when `complete()` is called (a host not reading). */
function heldOutput(fail = false) {
  const held: Array<(err?: Error | null) => void> = [];
  const out = new Writable({
    highWaterMark: 1,
    write(_chunk, _enc, cb) {
      held.push(cb);
    },
  });
  out.on('error', () => {});
  return { out, complete: () => held.shift()?.(fail ? new Error('EPIPE') : null), held };
}

describe('HostOutput', () => {
  it('runs a callback at once when nothing waits, else once all earlier lines are flushed; newer replaces older per key', () => {
    const { out, complete } = heldOutput();
    const host = new HostOutput(out);
    const ran: string[] = [];
    host.whenFlushed('a', () => ran.push('a0'));
    expect(ran).toEqual(['a0']);
    host.write('one');
    host.write('two');
    host.whenFlushed('a', () => ran.push('a1'));
    host.whenFlushed('a', () => ran.push('a2')); // replaces a1
    host.whenFlushed('b', () => ran.push('b'));
    complete();
    expect(ran).toEqual(['a0']); // 'two' still waits
    complete();
    expect(ran).toEqual(['a0', 'a2', 'b']);
  });

  it('a failed write (the host closed stdout) releases nothing, now or later', () => {
    const { out, complete } = heldOutput(true);
    const host = new HostOutput(out);
    const ran: string[] = [];
    host.write('one');
    host.whenFlushed('a', () => ran.push('a'));
    complete();
    host.whenFlushed('b', () => ran.push('b'));
    expect(ran).toEqual([]);
  });
});
