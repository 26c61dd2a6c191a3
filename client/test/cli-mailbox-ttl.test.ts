/**
 * P2P_COMM_MAILBOX_TTL: the CLI's way to set the SDK's mailboxTtlMs. Duration text parsed once
 * by the CLI's duration parser, refused with an error naming the variable before any client
 * starts, and handed to the SDK as milliseconds.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { mailboxTtlOf } from '../src/cli/commands.js';
import { runCli } from '../src/cli/run.js';
import { validateClientInit } from '../src/sdk/config.js';
import { tempHome } from './helpers/server.js';

const ttl = (value?: string) => mailboxTtlOf({ env: value === undefined ? {} : { P2P_COMM_MAILBOX_TTL: value } });

describe('P2P_COMM_MAILBOX_TTL', () => {
  it('reads duration text into the SDK option; unset leaves the server default', () => {
    expect(ttl('3d')).toEqual({ mailboxTtlMs: 3 * 86_400_000 });
    expect(ttl('12h')).toEqual({ mailboxTtlMs: 12 * 3_600_000 });
    expect(ttl('3600s')).toEqual({ mailboxTtlMs: 3_600_000 });
    expect(ttl(' 90m ')).toEqual({ mailboxTtlMs: 90 * 60_000 });
    expect(ttl()).toEqual({});
    expect(ttl('')).toEqual({});
    const h = tempHome('p2p-ttl-');
    try {
      expect(validateClientInit({ home: h.home, ...ttl('3d') }).mailboxTtlMs).toBe(3 * 86_400_000);
    } finally {
      h.cleanup();
    }
  });

  it('refuses anything else with CLIENT_ERR_CONFIG naming the variable', () => {
    for (const bad of ['3 days', 'soon', '-1h', '1.5d', '0s', '999ms', '366d', `${'9'.repeat(30)}d`]) {
      expect(() => ttl(bad), bad).toThrowError(
        expect.objectContaining({
          code: 'CLIENT_ERR_CONFIG',
          message: expect.stringContaining('P2P_COMM_MAILBOX_TTL'),
        }),
      );
    }
  });

  it('a bad value stops the command before the client starts, with a clear line', async () => {
    const h = tempHome('p2p-ttl-cli-');
    let err = '';
    try {
      const status = await runCli(['extension'], {
        env: { NEXUS_HOME: h.home, P2P_COMM_MAILBOX_TTL: '3 days' },
        stdin: Readable.from([]),
        out: () => {},
        err: (t) => {
          err += t;
        },
        interrupted: new Promise<void>(() => {}),
      });
      expect(status).toBe(1);
    } finally {
      h.cleanup();
    }
    expect(err).toContain('P2P_COMM_MAILBOX_TTL="3 days"');
    expect(err).toContain('CLIENT_ERR_CONFIG');
  });
});
