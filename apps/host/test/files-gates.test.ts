/**
 * Files through the host's gates (the extension is the in-memory stub; the real extension's
 * files.* are tested in client/test/files-extension.integration.test.ts). An incoming offer
 * passes receive permission → scope → risk → the user's approval (showing name, type, size,
 * hash, note) before files.respond; a landed file reaches only the plugins cleared for it, and
 * fetching it names only the path the extension reported, re-hashed.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { HostApp } from '../src/app.js';
import type { FileOffer } from '../src/extension/api.js';
import { API_PREFIX } from '../src/routes/plugin-api.js';
import { AGENT_TOKEN, makeHost, READER_TOKEN, waitFor } from './support/harness.js';
import { fakeKey, type StubExtension } from './support/stub-extension.js';

const ME = fakeKey(1);
const PEER = fakeKey(2);
const STRANGER = fakeKey(3);
let host: (HostApp & { ext: StubExtension; lines: string[] }) | undefined;
const dirs: string[] = [];

afterEach(async () => {
  await host?.app.close();
  host = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const inject = (method: 'GET' | 'POST', url: string, token: string, payload?: Record<string, unknown>) =>
  host!.app.inject({
    method,
    url: `${API_PREFIX}${url}`,
    headers: { host: '127.0.0.1', authorization: `Bearer ${token}` },
    ...(payload ? { payload } : {}),
  });

/** A file landed where the extension puts it: <inbox>/<sender key>/<name>. */
function landed(content: string, from = PEER): { path: string; sha256: string } {
  const inbox = mkdtempSync(join(tmpdir(), 'host-inbox-'));
  dirs.push(inbox);
  mkdirSync(join(inbox, from));
  const path = join(inbox, from, 'report.txt');
  writeFileSync(path, content);
  return { path, sha256: createHash('sha256').update(content).digest('hex') };
}

function offer(sha256: string, over: Partial<FileOffer> = {}): FileOffer {
  return {
    id: 'a1'.repeat(16),
    from: PEER,
    fromName: 'Bob',
    name: 'report.txt',
    size: 11,
    mediaType: 'text/plain',
    sha256,
    note: 'numbers',
    ...over,
  };
}

describe('incoming file offers go through the gates before a byte flows', () => {
  it('the user sees name, type, size, hash and note; Accept answers the extension; the landed file is fetched re-hashed', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const file = landed('hello world');
    const o = offer(file.sha256);
    host.ext.emit('fileOffer', o);
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval).toMatchObject({
      kind: 'receive',
      prompt: 'Bob wants to send the file "report.txt" (text/plain, 11 bytes) to your AI agent. Allow?',
      preview: `sha256 ${file.sha256}\nnote: numbers`,
      bytes: 11,
    });
    expect(host.ext.fileAnswers).toEqual([]); // nothing answered (so nothing flows) before the user
    host.approvals.decide(approval.id, true);
    await waitFor(() => host!.ext.fileAnswers.length > 0);
    expect(host.ext.fileAnswers).toEqual([{ id: o.id, accept: true }]);

    host.ext.emit('fileEnded', {
      id: o.id,
      peer: PEER,
      direction: 'in',
      ok: true,
      path: file.path,
      sha256: file.sha256,
    });
    const items = (await inject('GET', '/messages', AGENT_TOKEN)).json().items;
    expect(items).toEqual([
      expect.objectContaining({ type: 'file', transferId: o.id, from: PEER, name: 'report.txt', sha256: file.sha256 }),
    ]);
    expect((await inject('GET', '/messages', READER_TOKEN)).json().items).toEqual([]); // out of its scope
    const fetched = await inject('GET', `/files/${o.id}`, AGENT_TOKEN);
    expect(fetched.statusCode).toBe(200);
    expect(fetched.json()).toMatchObject({ transferId: o.id, path: file.path, sha256: file.sha256, size: 11 });
    // A plugin not cleared for it gets nothing, not even the path.
    expect((await inject('GET', `/files/${o.id}`, READER_TOKEN)).json().error.code).toBe('HOST_ERR_NOT_FOUND');
    // Changed on disk since it landed: the host refuses to vouch for it.
    writeFileSync(file.path, 'HELLO WORLD');
    const changed = await inject('GET', `/files/${o.id}`, AGENT_TOKEN);
    expect(changed.statusCode).toBe(404);
    expect(changed.json().error.message).toContain('SHA-256 differs');
    expect(host.lines.join('\n')).not.toContain('numbers'); // the audit log holds no content
  });

  it('Deny declines the offer and nothing reaches a plugin, even if the extension reports a landing', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const file = landed('hello world');
    const o = offer(file.sha256, { id: 'b2'.repeat(16) });
    host.ext.emit('fileOffer', o);
    host.approvals.decide((await waitFor(() => host!.approvals.pending()[0])).id, false);
    await waitFor(() => host!.ext.fileAnswers.length > 0);
    expect(host.ext.fileAnswers).toEqual([{ id: o.id, accept: false }]);
    host.ext.emit('fileEnded', {
      id: o.id,
      peer: PEER,
      direction: 'in',
      ok: true,
      path: file.path,
      sha256: file.sha256,
    });
    expect((await inject('GET', '/messages', AGENT_TOKEN)).json().items).toEqual([]);
    expect((await inject('GET', `/files/${o.id}`, AGENT_TOKEN)).statusCode).toBe(404);
  });

  it('an offer nobody may receive is declined without asking; "high-risk" asks about a large file only', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER], incomingApproval: 'high-risk' });
    host.ext.emit('fileOffer', offer('0'.repeat(64), { id: 'c3'.repeat(16), from: STRANGER }));
    await waitFor(() => host!.ext.fileAnswers.length > 0);
    expect(host.ext.fileAnswers).toEqual([{ id: 'c3'.repeat(16), accept: false }]);
    expect(host.approvals.pending()).toEqual([]);
    // Small and plainly named: low risk, accepted under "high-risk" without a prompt.
    host.ext.emit('fileOffer', offer('0'.repeat(64), { id: 'd4'.repeat(16) }));
    await waitFor(() => host!.ext.fileAnswers.length > 1);
    expect(host.ext.fileAnswers[1]).toEqual({ id: 'd4'.repeat(16), accept: true });
    // Over highRiskBytes (2,000 in the harness): the user decides.
    host.ext.emit('fileOffer', offer('0'.repeat(64), { id: 'e5'.repeat(16), size: 50_000_000 }));
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval.reasons).toContain('size');
  });
});

describe('outgoing files', () => {
  it('permission, scope and an absolute path are checked before the extension is asked', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const file = landed('x'.repeat(10));
    const noPerm = await inject('POST', '/files/send', READER_TOKEN, { to: PEER, path: file.path });
    expect(noPerm.json().error.code).toBe('HOST_ERR_PERMISSION_DENIED');
    const scope = await inject('POST', '/files/send', AGENT_TOKEN, { to: STRANGER, path: file.path });
    expect(scope.json().error.code).toBe('HOST_ERR_SCOPE_DENIED');
    const relative = await inject('POST', '/files/send', AGENT_TOKEN, { to: PEER, path: 'report.txt' });
    expect(relative.json().error.code).toBe('HOST_ERR_BAD_REQUEST');
    expect(host.ext.filesSent).toEqual([]);
    const ok = await inject('POST', '/files/send', AGENT_TOKEN, { to: PEER, path: file.path, note: 'small' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().transferId).toMatch(/^[0-9a-f]{32}$/);
    expect(host.ext.filesSent).toEqual([{ to: PEER, path: file.path, note: 'small' }]);
  });

  it('a large file is high risk: the user is asked, Deny stops it', async () => {
    host = makeHost({ key: ME, agentPeers: [PEER] });
    const file = landed('y'.repeat(5_000));
    const pending = inject('POST', '/files/send', AGENT_TOKEN, { to: PEER, path: file.path });
    const approval = await waitFor(() => host!.approvals.pending()[0]);
    expect(approval).toMatchObject({ kind: 'send', bytes: 5_000 });
    expect(approval.prompt).toContain('wants to send the file report.txt');
    host.approvals.decide(approval.id, false);
    expect((await pending).json().error.code).toBe('HOST_ERR_RISK_DENIED');
    expect(host.ext.filesSent).toEqual([]);
  });
});
