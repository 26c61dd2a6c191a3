import { Writable } from 'node:stream';
import { FrameType } from '@p2p-comm/protocol';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { startApp, TestClient } from './helpers.js';

describe('logs', () => {
  it('are JSON and never contain envelope bytes, even at trace level', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(
          ...String(chunk)
            .split('\n')
            .filter((l) => l !== ''),
        );
        cb();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    const s = await startApp({}, { logger });
    try {
      const a = await TestClient.connect(s.url);
      const b = await TestClient.connect(s.url);
      const env = a.envelope(b.key, 'secret');
      a.relay(1, b.key, env);
      await a.answer(1);
      a.send(Uint8Array.of(0x7f)); // an error path too
      await a.closed;
      await b.next((f) => f.type === FrameType.DELIVER);
      await b.close();
      await s.app.close();
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
      const all = lines.join('\n');
      const e = Buffer.from(env);
      for (const enc of ['base64', 'base64url', 'hex'] as const)
        expect(all).not.toContain(e.subarray(100, 140).toString(enc));
    } finally {
      await s.app.close();
    }
  });
});
