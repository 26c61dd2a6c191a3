import { describe, expect, it } from 'vitest';
import { MAX_LONG_MESSAGE_BYTES } from '../../../client/src/files/long-message.js';
import { parseConfig } from '../src/config.js';
import { messageLimits } from '../src/message-limits.js';
import { fakeKey } from './support/stub-extension.js';

const valid = {
  uiToken: 'u'.repeat(24),
  extensionCommand: ['p2p-comm', 'extension'],
  plugins: [
    {
      id: 'agent',
      name: 'AI agent',
      token: 't'.repeat(24),
      permissions: ['ext:p2p-comm:send'],
      peers: [fakeKey(1), 'trusted'],
    },
  ],
};

describe('parseConfig', () => {
  it('applies defaults and freezes', () => {
    const c = parseConfig(valid);
    expect(c).toMatchObject({ host: '127.0.0.1', port: 7600, incomingApproval: 'always' });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.plugins[0]!.peers)).toBe(true);
  });

  it('reports every problem at once', () => {
    try {
      parseConfig({
        host: '0.0.0.0',
        port: 70000,
        uiToken: 'short',
        incomingApproval: 'never',
        plugins: [
          { id: 'A B', name: '', token: 'x', permissions: ['root'], peers: ['not-a-key'] },
          { id: 'ok', name: 'ok', token: 'v'.repeat(24), permissions: [] },
          { id: 'ok2', name: 'ok', token: 'v'.repeat(24), permissions: [] },
        ],
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'HOST_ERR_CONFIG_INVALID' });
      const msg = (err as Error).message;
      for (const part of [
        'host:',
        'port:',
        'uiToken:',
        'incomingApproval:',
        'extensionCommand:',
        'plugins[0].id',
        'plugins[0].name',
        'plugins[0].token',
        'plugins[0].permissions',
        'plugins[0].peers',
        'plugins[2].token: must be unique',
      ]) {
        expect(msg).toContain(part);
      }
    }
  });

  it('maxMessageBytes: defaults to the extension default, bounded, and every message limit derives from it', () => {
    // The host's default is the extension's own, so a host without the setting agrees with it.
    expect(parseConfig(valid).maxMessageBytes).toBe(MAX_LONG_MESSAGE_BYTES);
    expect(parseConfig({ ...valid, maxMessageBytes: 57_344 }).maxMessageBytes).toBe(57_344);
    for (const bad of [57_343, 16 * 1024 * 1024 + 1, 1.5e6 + 0.5, '1000000', -1]) {
      expect(() => parseConfig({ ...valid, maxMessageBytes: bad })).toThrow(
        /maxMessageBytes: integer 57344\.\.16777216 \(bytes\)/,
      );
    }
    const l = messageLimits(16 * 1024 * 1024);
    expect(l).toEqual({
      maxMessageBytes: 16_777_216,
      sendBodyBytes: 16_777_216,
      sendLineBytes: 33_619_968,
      sendHttpBodyBytes: 33_619_968,
      rpcLineBytes: 100_728_832,
      approvalContentChars: 22_369_624,
      inboxBytes: 26_563_928,
    });
    // The inbox holds one largest message even as base64; a line holds it at the worst escaping.
    expect(l.inboxBytes).toBeGreaterThan(Buffer.from(new Uint8Array(l.maxMessageBytes)).toString('base64').length);
    expect(l.rpcLineBytes).toBeGreaterThan(JSON.stringify({ text: '\u0001'.repeat(l.maxMessageBytes) }).length);
  });
});
