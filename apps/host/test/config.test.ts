import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
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
});
