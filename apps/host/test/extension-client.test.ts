/**
 * ExtensionClient over a real child process's stdio. The child is a small scripted JSON-RPC
 * peer (the e2e test drives the real extension); it checks spawning, result and error mapping,
 * notification parsing, garbage handling and shutdown.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ConsentRequest, IncomingApproval, IncomingMessage } from '../src/extension/api.js';
import { ExtensionClient } from '../src/extension/client.js';
import { fakeKey } from './support/stub-extension.js';

const PEER = fakeKey(7);
const SCRIPT = `
const readline = require('node:readline');
const out = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  const r = (result) => out({ jsonrpc: '2.0', id: req.id, result });
  switch (req.method) {
    case 'peers.list': return r({ peers: [{ key: '${PEER}', name: 'Bob', fingerprint: 'aa:bb', state: 'trusted', path: 'relay: connected' }, { key: 'bad' }] });
    case 'messages.send':
      r({ id: 'm-' + req.params.peer.slice(0, 4) + '-' + req.params.text.length, seq: 0, to: req.params.peer });
      out({ jsonrpc: '2.0', method: 'message.delivered', params: { id: 'm-1', to: req.params.peer, seq: 0 } });
      return;
    case 'consent.respond': return out({ jsonrpc: '2.0', id: req.id, error: { code: -32005, message: 'no such request', data: { code: 'CLIENT_ERR_NO_PENDING_REQUEST' } } });
    case 'poke':
      process.stdout.write('this is not json\\n');
      out({ jsonrpc: '2.0', method: 'consent.request', params: { requestId: 'c1', key: '${PEER}', fingerprint: 'aa:bb', name: 'Bob', keyChanged: { previousKey: 'x', previousFingerprint: 'cc:dd' } } });
      out({ jsonrpc: '2.0', method: 'approval.request', params: { approvalId: 'a1', from: '${PEER}', name: 'Bob', fingerprint: 'aa:bb', id: 'm9', bytes: 5, enc: 'text', preview: 'hello' } });
      out({ jsonrpc: '2.0', method: 'message.received', params: { id: 'm9', from: '${PEER}', name: 'Bob', seq: 0, text: 'hello', via: 'relay', receivedAt: 1 } });
      out({ jsonrpc: '2.0', method: 'message.received', params: { id: 'm10', from: 'short' } });
      return r({});
    case 'slow': return;
    default: return out({ jsonrpc: '2.0', id: req.id, error: { code: -32601, message: 'method not found' } });
  }
});
rl.on('close', () => process.exit(0));
`;

let ext: ExtensionClient | undefined;
afterEach(async () => {
  await ext?.close(500);
  ext = undefined;
});

describe('ExtensionClient', () => {
  it('maps results, errors and notifications of a child process', async () => {
    ext = ExtensionClient.spawn({ command: [process.execPath, '-e', SCRIPT], stderr: 'inherit' });
    const consents: ConsentRequest[] = [];
    const approvals: IncomingApproval[] = [];
    const messages: IncomingMessage[] = [];
    const errors: string[] = [];
    ext.on('consent', (c) => consents.push(c));
    ext.on('approval', (a) => approvals.push(a));
    ext.on('message', (m) => messages.push(m));
    ext.on('protocolError', (e) => errors.push(e));

    expect(await ext.listPeers()).toEqual([
      { key: PEER, name: 'Bob', fingerprint: 'aa:bb', trusted: true, state: 'trusted', path: 'relay: connected' },
    ]);
    const delivered = new Promise((r) => ext!.once('delivered', r));
    expect(await ext.send(PEER, 'hi there')).toEqual({ messageId: `m-${PEER.slice(0, 4)}-8` });
    expect(await delivered).toEqual({ messageId: 'm-1', to: PEER });
    await expect(ext.respondConsent('zz', true)).rejects.toMatchObject({
      code: 'HOST_ERR_EXTENSION_ERROR',
      message: expect.stringContaining('CLIENT_ERR_NO_PENDING_REQUEST'),
    });

    await ext.call('poke');
    expect(consents).toEqual([
      { requestId: 'c1', peer: { key: PEER, name: 'Bob', fingerprint: 'aa:bb' }, previousFingerprint: 'cc:dd' },
    ]);
    expect(approvals).toEqual([
      {
        approvalId: 'a1',
        from: PEER,
        fromName: 'Bob',
        fingerprint: 'aa:bb',
        messageId: 'm9',
        bytes: 5,
        preview: 'hello',
        binary: false,
      },
    ]);
    expect(messages).toEqual([{ from: PEER, messageId: 'm9', body: 'hello', encoding: 'text', fromName: 'Bob' }]);
    expect(errors).toEqual(['line is not JSON', 'bad message.received']);
  });

  it('fails calls with HOST_ERR_EXTENSION_UNAVAILABLE once the process is gone', async () => {
    ext = ExtensionClient.spawn({ command: [process.execPath, '-e', SCRIPT], stderr: 'inherit', timeoutMs: 5_000 });
    const slow = expect(ext.call('slow')).rejects.toMatchObject({ code: 'HOST_ERR_EXTENSION_UNAVAILABLE' });
    await ext.close(500);
    await slow;
    await expect(ext.listPeers()).rejects.toMatchObject({ code: 'HOST_ERR_EXTENSION_UNAVAILABLE' });
  });

  it('reports a command that cannot start', async () => {
    ext = ExtensionClient.spawn({ command: ['/nonexistent/p2p-comm'], stderr: 'ignore' });
    await ext.exited;
    await expect(ext.status()).rejects.toMatchObject({ code: 'HOST_ERR_EXTENSION_UNAVAILABLE' });
  });
});
