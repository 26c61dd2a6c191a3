/**
 * File transfers carried by the real session layer: two Session instances (consent, then the
 * v2 hybrid handshake), every transfer message sealed as a FILE inner payload in a TRANSPORT
 * packet. The "path" between them delivers asynchronously and loses some packets, so the
 * transfer's own re-sends are exercised under session keys too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeKey, generateIdentity } from '@p2p-comm/protocol';
import { nodeSuite } from '@p2p-comm/protocol/node';
import { afterEach, describe, expect, it } from 'vitest';
import { FileTransfers } from '../../src/files/engine.js';
import { InboxState } from '../../src/session/inbox-state.js';
import { Outbox } from '../../src/session/outbox.js';
import { openPersistentReplayGuard } from '../../src/session/replay-store.js';
import { Session } from '../../src/session/session.js';
import { storePaths } from '../../src/store/paths.js';
import { TrustStore } from '../../src/store/trust-store.js';
import { tempHome } from '../helpers/server.js';
import { outcome } from './helpers/memory-net.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function node(name: string, deliver: (to: Uint8Array, from: Uint8Array, packet: Uint8Array) => void) {
  const h = tempHome('p2p-files-sess-');
  cleanups.push(h.cleanup);
  const paths = storePaths(h.home);
  const identity = generateIdentity(nodeSuite);
  const session = new Session({
    suite: nodeSuite,
    identity,
    localName: () => name,
    trust: new TrustStore(paths),
    outbox: new Outbox(paths.stateDir),
    inbox: new InboxState(paths.stateDir),
    replayGuard: openPersistentReplayGuard(paths.stateDir),
    transmit: (peer, packet) => {
      deliver(peer, identity.publicKey, packet);
      return 'direct';
    },
    pathStatus: () => 'direct: connected',
    requireApproval: false,
  });
  const files = new FileTransfers({
    channel: { send: (peer, m) => session.sendFileMessage(peer, m) },
    stateDir: join(paths.stateDir, 'files'),
    inboxDir: join(h.home, 'inbox'),
    approve: () => true,
    resendMs: 50,
  });
  session.on('file.message', (e) => files.receive(e.from, e.bytes));
  cleanups.push(() => {
    files.stop();
    session.stop();
  });
  return { session, files, identity, key: encodeKey(identity.publicKey), home: h.home };
}

describe('file transfers carried by the session layer', () => {
  it('a 3 MiB file crosses as FILE payloads under session keys, byte-identical, despite lost packets', async () => {
    const nodes = new Map<string, ReturnType<typeof node>>();
    let n = 0;
    const packets: Buffer[] = [];
    const deliver = (to: Uint8Array, from: Uint8Array, packet: Uint8Array) => {
      packets.push(Buffer.from(packet));
      // Lose one packet in 50 once the transfer runs (never the consent/handshake ones, for speed).
      if (++n > 40 && n % 50 === 0) return;
      setImmediate(() => nodes.get(encodeKey(to))?.session.receive(from, packet, 'direct'));
    };
    const a = node('Alice', deliver);
    const b = node('Bob', deliver);
    nodes.set(a.key, a).set(b.key, b);
    b.session.on('consent.request', (r) => b.session.respondConsent(r.requestId, true));
    a.session.start();
    b.session.start();
    a.session.connect({ key: b.identity.publicKey, name: 'Bob' });
    for (let i = 0; i < 200 && a.session.peerInfo(b.key).state !== 'trusted'; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(a.session.peerInfo(b.key).state).toBe('trusted');

    const content = randomBytes(3 * 1024 * 1024);
    const src = join(a.home, 'shared.bin');
    writeFileSync(src, content);
    const { id } = await a.files.send(b.key, src, { note: 'over the session' });
    const [sent, got] = await Promise.all([outcome(a.files, id), outcome(b.files, id)]);
    expect(sent.kind).toBe('done');
    expect(got.path).toBe(join(b.home, 'inbox', a.key, 'shared.bin'));
    expect(createHash('sha256').update(readFileSync(got.path!)).digest('hex')).toBe(
      createHash('sha256').update(content).digest('hex'),
    );
    // Every byte went through the sessions' transmit, and never in the clear.
    const carried = packets.reduce((sum, p) => sum + p.length, 0);
    expect(carried).toBeGreaterThan(content.length);
    const probe = content.subarray(1_000_000, 1_000_032);
    expect(packets.some((p) => p.includes(probe))).toBe(false);
  }, 60_000);

  it('a stranger cannot use it: no session, no file message sent', () => {
    const a = node('Alice', () => {});
    const stranger = encodeKey(generateIdentity(nodeSuite).publicKey);
    expect(a.session.sendFileMessage(stranger, Uint8Array.of(1, 2, 3))).toBe(false);
  });
});
