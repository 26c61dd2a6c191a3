import { afterEach, describe, expect, it } from 'vitest';
import type { HostApp } from '../src/app.js';
import { API_PREFIX } from '../src/routes/plugin-api.js';
import { AGENT_TOKEN, makeHost, READER_TOKEN, waitFor } from './support/harness.js';
import { fakeKey, type StubExtension } from './support/stub-extension.js';

const ME = fakeKey(1);
const PEER = fakeKey(2);
const STRANGER = fakeKey(3);
let host: (HostApp & { ext: StubExtension; lines: string[] }) | undefined;

afterEach(async () => {
  await host?.app.close();
  host = undefined;
});

function send(token: string | undefined, payload: unknown) {
  return host!.app.inject({
    method: 'POST',
    url: `${API_PREFIX}/send`,
    headers: { host: '127.0.0.1', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    payload: payload as Record<string, unknown>,
  });
}

const denials = () => host!.audit.entries().filter((e) => e.outcome === 'deny');

describe('outgoing gates, in order', () => {
  it('auth: missing and unknown tokens are refused with their own codes and audit lines', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const r1 = await send(undefined, { to: PEER, body: 'hi' });
    expect(r1.statusCode).toBe(401);
    expect(r1.json().error.code).toBe('HOST_ERR_AUTH_MISSING');
    const r2 = await send('x'.repeat(30), { to: PEER, body: 'hi' });
    expect(r2.json().error.code).toBe('HOST_ERR_AUTH_INVALID');
    expect(denials().map((d) => [d.gate, d.code])).toEqual([
      ['auth', 'HOST_ERR_AUTH_MISSING'],
      ['auth', 'HOST_ERR_AUTH_INVALID'],
    ]);
    expect(host.ext.sent).toEqual([]);
  });

  it('permission: a plugin without ext:p2p-comm:send is refused', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const r = await send(READER_TOKEN, { to: PEER, body: 'hi' });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('HOST_ERR_PERMISSION_DENIED');
    expect(denials().map((d) => [d.gate, d.plugin, d.code])).toEqual([
      ['permission', 'reader', 'HOST_ERR_PERMISSION_DENIED'],
    ]);
    expect(host.ext.sent).toEqual([]);
  });

  it('scope: a peer not approved for the plugin is refused; "trusted" follows the extension', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER, 'trusted'] });
    const r = await send(AGENT_TOKEN, { to: STRANGER, body: 'hi' });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('HOST_ERR_SCOPE_DENIED');
    expect(denials().at(-1)).toMatchObject({ gate: 'scope', peer: STRANGER, code: 'HOST_ERR_SCOPE_DENIED' });
    host.ext.peersList = [{ key: STRANGER, trusted: true, name: 'Bob' }];
    expect((await send(AGENT_TOKEN, { to: STRANGER, body: 'hi' })).statusCode).toBe(200);
    expect(host.ext.sent.map((s) => s.to)).toEqual([STRANGER]);
  });

  it('risk: a low-risk message goes straight to the extension', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const r = await send(AGENT_TOKEN, { to: PEER, body: 'What is 2 + 3?' });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ messageId: 'm1', risk: 'low' });
    expect(host.ext.sent).toEqual([{ to: PEER, body: 'What is 2 + 3?', messageId: 'm1' }]);
    expect(host.audit.entries().map((e) => e.gate)).toEqual(['auth', 'permission', 'scope', 'risk', 'extension']);
    // The audit log never holds content.
    expect(host.lines.join('\n')).not.toContain('What is 2 + 3?');
  });

  it('risk: a high-risk message waits for the user; Accept sends it', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.peersList = [{ key: PEER, trusted: true, name: 'Bob' }];
    const pending = send(AGENT_TOKEN, {
      to: PEER,
      body: 'drwxr-xr-x 2 a a 4096 Jan 1 x\n-rw-r--r-- 1 a a 1 Jan 1 y\n-rw-r--r-- 1 a a 1 Jan 1 z\n',
    });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval.prompt).toBe("Alice's AI agent wants to share a file listing with Bob via P2P. Allow?");
    expect(approval.peer.fingerprint).toMatch(/^([0-9a-f]{2}:){15,}[0-9a-f]{2}$/);
    expect(host.ext.sent).toEqual([]);
    host.approvals.decide(approval.id, true);
    const r = await pending;
    expect(r.json()).toMatchObject({ risk: 'high' });
    expect(host.ext.sent).toHaveLength(1);
  });

  it('risk: Deny is final and nothing reaches the extension', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const pending = send(AGENT_TOKEN, { to: PEER, body: 'password = hunter22' });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    host.approvals.decide(approval.id, false);
    const r = await pending;
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('HOST_ERR_RISK_DENIED');
    expect(denials().at(-1)).toMatchObject({ gate: 'approval', code: 'HOST_ERR_RISK_DENIED' });
    expect(host.ext.sent).toEqual([]);
  });

  it('risk: an unanswered approval times out as a denial', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER], approvalTimeoutMs: 100 });
    const r = await send(AGENT_TOKEN, { to: PEER, body: 'see /etc/passwd' });
    expect(r.json().error.code).toBe('HOST_ERR_APPROVAL_TIMEOUT');
    expect(host.ext.sent).toEqual([]);
  });

  it('rejects malformed and oversized requests with typed codes', async () => {
    // maxMessageBytes 64 KiB: send body ≤ 65,536 bytes, HTTP body of …/send ≤ 2 × 64 KiB + 64 KiB.
    host = makeHost({ key: ME, agentPeers: [PEER], maxMessageBytes: 65_536 });
    expect((await send(AGENT_TOKEN, { to: 'nope', body: 'x' })).json().error.code).toBe('HOST_ERR_BAD_REQUEST');
    expect((await send(AGENT_TOKEN, { to: PEER, body: 5 })).json().error.code).toBe('HOST_ERR_BAD_REQUEST');
    const over = (await send(AGENT_TOKEN, { to: PEER, body: 'x'.repeat(70_000) })).json().error;
    expect(over.code).toBe('HOST_ERR_BODY_TOO_LARGE');
    expect(over.message).toContain('70000 bytes > maxMessageBytes 65536');
    const huge = await send(AGENT_TOKEN, { to: PEER, body: 'x'.repeat(200_000) });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error.code).toBe('HOST_ERR_BODY_TOO_LARGE');
    expect(huge.json().error.message).toContain('request body over 196608 bytes');
    // Within the byte limit, but control characters escape to 6 bytes each: over what the extension reads.
    const escaped = (await send(AGENT_TOKEN, { to: PEER, body: '\u0001'.repeat(30_000) })).json().error;
    expect(escaped.code).toBe('HOST_ERR_BODY_TOO_LARGE');
    expect(escaped.message).toContain('JSON-escaped > 131072');
    // Other routes keep the small MAX_HTTP_BODY_BYTES.
    const connect = await host.app.inject({
      method: 'POST',
      url: `${API_PREFIX}/peers/connect`,
      headers: { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ share: 'x'.repeat(140_000) }),
    });
    expect(connect.json().error).toMatchObject({ code: 'HOST_ERR_BODY_TOO_LARGE' });
    expect(connect.json().error.message).toContain('request body over 131072 bytes');
    const bad = await host.app.inject({
      method: 'POST',
      url: `${API_PREFIX}/send`,
      headers: { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}`, 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(bad.json().error.code).toBe('HOST_ERR_BAD_REQUEST');
    const nf = await host.app.inject({ url: '/nope', headers: { host: 'localhost:7600' } });
    expect(nf.json().error.code).toBe('HOST_ERR_NOT_FOUND');
    expect(host.ext.sent).toEqual([]);
  });

  it('refuses requests whose Host header is not a loopback name (DNS rebinding)', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const r = await host.app.inject({
      method: 'POST',
      url: `${API_PREFIX}/send`,
      headers: { host: 'evil.example:7600', authorization: `Bearer ${AGENT_TOKEN}` },
      payload: { to: PEER, body: 'hi' },
    });
    expect(r.statusCode).toBe(403);
    expect(r.json().error.code).toBe('HOST_ERR_UI_FORBIDDEN');
  });
});

describe('incoming gates', () => {
  const read = (token: string, wait = 0) =>
    host!.app.inject({
      url: `${API_PREFIX}/messages?wait=${wait}`,
      headers: { host: '127.0.0.1', authorization: `Bearer ${token}` },
    });

  it('asks the user; Accept delivers to the plugin in scope only', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const poll = read(AGENT_TOKEN, 5_000);
    host.ext.emit('message', { encoding: 'text', from: PEER, messageId: 'x1', body: 'hello there', fromName: 'Bob' });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval).toMatchObject({
      kind: 'receive',
      prompt: 'Bob wants to send a message to your AI agent. Allow?',
      preview: 'hello there',
    });
    host.approvals.decide(approval.id, true);
    const r = await poll;
    expect(r.json().items).toEqual([
      expect.objectContaining({ type: 'message', messageId: 'x1', from: PEER, body: 'hello there', fromName: 'Bob' }),
    ]);
    // "reader" holds receive but PEER is not in its scope.
    expect((await read(READER_TOKEN)).json().items).toEqual([]);
    expect(denials()).toContainEqual(
      expect.objectContaining({ gate: 'scope', plugin: 'reader', code: 'HOST_ERR_SCOPE_DENIED' }),
    );
  });

  it('Deny: nothing reaches any plugin', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.emit('message', { encoding: 'text', from: PEER, messageId: 'x2', body: 'secret plans' });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    host.approvals.decide(approval.id, false);
    await waitFor(() => denials().find((d) => d.gate === 'approval'));
    expect((await read(AGENT_TOKEN)).json().items).toEqual([]);
    expect(denials().at(-1)).toMatchObject({ gate: 'approval', code: 'HOST_ERR_RECEIVE_DENIED', messageId: 'x2' });
  });

  it('a message nobody may receive is dropped without asking the user', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.emit('message', { encoding: 'text', from: STRANGER, messageId: 'x3', body: 'hi' });
    await waitFor(() => denials().find((d) => d.code === 'HOST_ERR_NO_RECIPIENT'));
    expect(host.approvals.pending()).toEqual([]);
  });

  it('"high-risk" policy delivers low-risk messages without a prompt', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER], incomingApproval: 'high-risk' });
    host.ext.emit('message', { encoding: 'text', from: PEER, messageId: 'x4', body: 'The answer is 5.' });
    await waitFor(() => host!.audit.entries().find((e) => e.gate === 'deliver'));
    expect(host.approvals.pending()).toEqual([]);
    expect((await read(AGENT_TOKEN)).json().items).toHaveLength(1);
  });

  it('receive permission is required to read', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER], readerPermissions: ['ext:p2p-comm:peers'] });
    expect((await read(READER_TOKEN)).json().error.code).toBe('HOST_ERR_PERMISSION_DENIED');
  });

  it('routes delivery receipts to the sending plugin', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    await send(AGENT_TOKEN, { to: PEER, body: 'hi' });
    host.ext.emit('delivered', { messageId: 'm1', to: PEER });
    expect((await read(AGENT_TOKEN)).json().items).toEqual([{ type: 'delivered', messageId: 'm1', to: PEER }]);
  });
});

describe("incoming gates in the extension's approve mode (approval.request before content)", () => {
  it('Accept: the extension is told to release, and the released message is delivered without a second prompt', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.emit('approval', {
      binary: false,
      approvalId: 'a1',
      from: PEER,
      fromName: 'Bob',
      messageId: 'p1',
      bytes: 11,
      preview: 'hello there',
      content: 'hello there',
    });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval).toMatchObject({ kind: 'receive', preview: 'hello there' });
    host.approvals.decide(approval.id, true);
    await waitFor(() => host!.ext.approvalAnswers.length > 0);
    expect(host.ext.approvalAnswers).toEqual([{ approvalId: 'a1', allow: true }]);
    host.ext.emit('message', { encoding: 'text', from: PEER, messageId: 'p1', body: 'hello there' });
    await waitFor(() => host!.audit.entries().find((e) => e.gate === 'deliver'));
    expect(host.approvals.pending()).toEqual([]);
    const items = (
      await host.app.inject({
        url: `${API_PREFIX}/messages`,
        headers: { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}` },
      })
    ).json().items;
    expect(items.map((i: { body: string }) => i.body)).toEqual(['hello there']);
  });

  it('Deny, or no plugin in scope: the extension is told to drop it', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.emit('approval', {
      binary: false,
      approvalId: 'a2',
      from: PEER,
      messageId: 'p2',
      bytes: 3,
      preview: 'hey',
    });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    host.approvals.decide(approval.id, false);
    host.ext.emit('approval', {
      binary: false,
      approvalId: 'a3',
      from: STRANGER,
      messageId: 'p3',
      bytes: 3,
      preview: 'hey',
    });
    await waitFor(() => host!.ext.approvalAnswers.length === 2);
    expect(host.ext.approvalAnswers).toEqual(
      expect.arrayContaining([
        { approvalId: 'a2', allow: false },
        { approvalId: 'a3', allow: false },
      ]),
    );
    expect(denials().map((d) => d.code)).toEqual(
      expect.arrayContaining(['HOST_ERR_RECEIVE_DENIED', 'HOST_ERR_NO_RECIPIENT']),
    );
  });

  it("binary data is high risk (the review can't read it) and is delivered as base64", async () => {
    host = makeHost({ key: ME, agentPeers: [PEER], incomingApproval: 'high-risk' });
    host.ext.emit('approval', {
      binary: true,
      approvalId: 'a5',
      from: PEER,
      messageId: 'p5',
      bytes: 4,
      content: 'AAECAw==',
    });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval).toMatchObject({
      reasons: ['binary'],
      prompt: expect.stringContaining('wants to send binary data'),
    });
    expect(approval.preview).toBeUndefined();
    host.approvals.decide(approval.id, true);
    await waitFor(() => host!.ext.approvalAnswers.length > 0);
    host.ext.emit('message', { encoding: 'base64', from: PEER, messageId: 'p5', body: 'AAECAw==' });
    await waitFor(() => host!.audit.entries().find((e) => e.gate === 'deliver'));
    const items = (
      await host.app.inject({
        url: `${API_PREFIX}/messages`,
        headers: { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}` },
      })
    ).json().items;
    expect(items).toEqual([expect.objectContaining({ encoding: 'base64', body: 'AAECAw==' })]);
  });

  it('a large held message is high risk from its size', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER], incomingApproval: 'high-risk' });
    host.ext.emit('approval', {
      binary: false,
      approvalId: 'a4',
      from: PEER,
      messageId: 'p4',
      bytes: 50_000,
      preview: 'aa',
      content: 'a'.repeat(50_000),
    });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval.reasons).toEqual(['size']);
  });

  it('without the whole content (only a preview, or a size that disagrees) the message is unreviewed: a person must look', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER], incomingApproval: 'high-risk' });
    host.ext.emit('approval', {
      binary: false,
      approvalId: 'a6',
      from: PEER,
      messageId: 'p6',
      bytes: 500,
      preview: 'hi',
    });
    const first = await waitFor(() => host!.approvals.pending()[0]);
    expect(first.reasons).toEqual(['unreviewed']);
    host.approvals.decide(first.id, false);
    host.ext.emit('approval', {
      binary: false,
      approvalId: 'a7',
      from: PEER,
      messageId: 'p7',
      bytes: 5,
      preview: 'hi',
      content: 'hi',
    });
    const second = await waitFor(() => host!.approvals.pending()[0]);
    expect(second.reasons).toEqual(['unreviewed']);
  });

  it('a released message whose content differs from what was reviewed runs every gate again', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER], incomingApproval: 'high-risk' });
    host.ext.emit('approval', {
      binary: false,
      approvalId: 'a8',
      from: PEER,
      messageId: 'p8',
      bytes: 5,
      content: 'hello',
    });
    await waitFor(() => host!.ext.approvalAnswers.length > 0);
    expect(host.ext.approvalAnswers).toEqual([{ approvalId: 'a8', allow: true }]);
    // Same id, other content (and a credential): not the message the gates passed.
    host.ext.emit('message', { encoding: 'text', from: PEER, messageId: 'p8', body: 'password = hunter22' });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval.reasons).toEqual(['credentials']);
  });
});

describe('consent and peer calls', () => {
  it('a consent request goes to the user and the answer back to the extension', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.emit('consent', { requestId: 'c1', peer: { key: STRANGER, name: 'Carol' } });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval.prompt).toMatch(
      /^Carol wants to connect\. Fingerprint: ([0-9a-f]{2}:){15,}[0-9a-f]{2}\. Accept\?$/,
    );
    host.approvals.decide(approval.id, false);
    await waitFor(() => host!.ext.consents.length > 0);
    expect(host.ext.consents).toEqual([{ requestId: 'c1', accept: false }]);
  });

  it('a changed key is a hard stop shown to the user', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.emit('consent', { requestId: 'c2', peer: { key: STRANGER, name: 'Bob' }, previousFingerprint: 'aa:bb' });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval.prompt).toMatch(/^WARNING: Bob now has a DIFFERENT KEY\. Before: aa:bb\. Now: /);
    expect(approval.reasons).toEqual(['key-changed']);
  });

  it("a peer's proposed new name is an approval for the user; the answer goes back to the extension", async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.emit('nameChange', { requestId: 'n1', peer: { key: PEER, name: 'Bob' }, proposedName: 'Robert' });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval).toMatchObject({ kind: 'rename', peer: { key: PEER, name: 'Bob' } });
    expect(approval.prompt).toMatch(
      /^Bob \(fingerprint ([0-9a-f]{2}:){15,}[0-9a-f]{2}\) asks to be shown as "Robert"\. Allow\?$/,
    );
    host.approvals.decide(approval.id, true);
    await waitFor(() => host!.ext.nameAnswers.length > 0);
    expect(host.ext.nameAnswers).toEqual([{ requestId: 'n1', accept: true }]);
  });

  it("a plugin's connect to a key the user has not trusted waits for the user; Deny asks nobody", async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const h = { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}` };
    const pending = host.app.inject({
      method: 'POST',
      url: `${API_PREFIX}/peers/connect`,
      headers: h,
      payload: { share: `p2p-comm://${STRANGER}@127.0.0.1:1?name=Carol%E2%80%AE` },
    });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval).toMatchObject({ kind: 'connect', peer: { key: STRANGER, name: 'Carol' } });
    expect(approval.prompt).toMatch(
      /^Alice's AI agent wants to connect to "Carol"\. Fingerprint: ([0-9a-f]{2}:){15,}[0-9a-f]{2}\. Allow\?$/,
    );
    expect(host.ext.connects).toEqual([]);
    host.approvals.decide(approval.id, false);
    expect((await pending).json().error.code).toBe('HOST_ERR_CONNECT_DENIED');
    expect(host.ext.connects).toEqual([]);
  });

  it("a plugin's connect that meets a changed key asks the user again; only Accept calls peers.acceptChangedKey", async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.keyChangedFor = () => ({ name: 'Bob', previousFingerprint: 'aa:bb', fingerprint: 'cc:dd' });
    const h = { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}` };
    const connect = () =>
      host!.app.inject({ method: 'POST', url: `${API_PREFIX}/peers/connect`, headers: h, payload: { key: STRANGER } });
    const answer = async (accept: boolean) => {
      const before = host!.approvals.decided().length;
      const a = await waitFor(() => host!.approvals.pending()[0]);
      host!.approvals.decide(a.id, accept);
      await waitFor(() => host!.approvals.decided().length > before);
      return a;
    };
    const denied = connect();
    expect((await answer(true)).reasons).toEqual([]);
    const warning = await answer(false);
    expect(warning.prompt).toBe(
      'WARNING: Alice\'s AI agent asks to connect to "Bob" with a DIFFERENT KEY. Before: aa:bb. Now: cc:dd. Trust the new key?',
    );
    expect(warning.reasons).toEqual(['key-changed']);
    expect((await denied).json().error.code).toBe('HOST_ERR_KEY_CHANGE_DENIED');
    expect(host.ext.acceptedKeyChanges).toEqual([]);
    const accepted = connect();
    await answer(true);
    await answer(true);
    expect((await accepted).json()).toEqual({ result: { accepted: true } });
    expect(host.ext.acceptedKeyChanges).toEqual([{ key: STRANGER, fingerprint: 'cc:dd' }]);
  });

  it('lists peers with scope flags, connects, and reports status under their permissions', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    host.ext.peersList = [
      { key: PEER, trusted: true, name: 'Bob' },
      { key: STRANGER, trusted: true },
    ];
    const h = { host: '127.0.0.1', authorization: `Bearer ${AGENT_TOKEN}` };
    const peers = (await host.app.inject({ url: `${API_PREFIX}/peers`, headers: h })).json().peers;
    expect(peers.map((p: { key: string; inScope: boolean }) => [p.key, p.inScope])).toEqual([
      [PEER, true],
      [STRANGER, false],
    ]);
    const c = await host.app.inject({
      method: 'POST',
      url: `${API_PREFIX}/peers/connect`,
      headers: h,
      payload: { key: STRANGER, acceptChangedKey: true, address: 'x' },
    });
    expect(c.json()).toEqual({ result: { requested: true } });
    // Only the allow-listed target is forwarded, never a plugin's acceptChangedKey.
    expect(host.ext.connects).toEqual([{ key: STRANGER }]);
    const bad = await host.app.inject({
      method: 'POST',
      url: `${API_PREFIX}/peers/connect`,
      headers: h,
      payload: { address: 'x' },
    });
    expect(bad.json().error.code).toBe('HOST_ERR_BAD_REQUEST');
    const s = await host.app.inject({ url: `${API_PREFIX}/status`, headers: h });
    expect(s.json().identity.publicKey).toBe(ME);
    const denied = await host.app.inject({
      url: `${API_PREFIX}/peers`,
      headers: { host: '127.0.0.1', authorization: `Bearer ${READER_TOKEN}` },
    });
    expect(denied.json().error.code).toBe('HOST_ERR_PERMISSION_DENIED');
  });
});
