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
  return { out, complete: () => held.shift()?.(fail ? new Error('EPIPE') : null) };
}

describe('HostOutput', () => {
  it('runs a wait at once when nothing is unflushed, else once the lines written before it are; per key the newest due one', () => {
    const { out, complete } = heldOutput();
    const host = new HostOutput(out);
    const ran: string[] = [];
    host.whenFlushed('a', () => ran.push('a0'));
    expect(ran).toEqual(['a0']);
    host.write('one');
    host.whenFlushed('a', () => ran.push('a1')); // needs 'one'
    host.whenFlushed('a', () => ran.push('a1 again')); // nothing written since: replaces a1
    host.write('two');
    host.whenFlushed('a', () => ran.push('a2')); // needs 'two'
    host.whenFlushed('b', () => ran.push('b'));
    complete();
    expect(ran).toEqual(['a0', 'a1 again']); // 'one' is out; 'two' still waits
    complete();
    expect(ran).toEqual(['a0', 'a1 again', 'a2', 'b']);
  });

  it('waits of one key run in order, each once the lines written before it are out', () => {
    const { out, complete } = heldOutput();
    const host = new HostOutput(out);
    const ran: string[] = [];
    host.write('one');
    host.whenFlushed('a', () => ran.push('a1'));
    host.write('two');
    host.whenFlushed('a', () => ran.push('a2'));
    complete(); // 'one'
    expect(ran).toEqual(['a1']);
    host.write('three');
    host.whenFlushed('a', () => ran.push('a3'));
    complete(); // 'two'
    complete(); // 'three'
    expect(ran).toEqual(['a1', 'a2', 'a3']);
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
