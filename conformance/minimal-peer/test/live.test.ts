// Two minimal peers through the real rendezvous server (started as a black-box process, as
// docs/operations.md describes): consent, a message each way with its end-to-end ack, a
// duplicate-free reconnect, then revoke. The conformance runner checks the same against our
// real client; this test checks the peer against itself without it.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityFromSeed, parseKeyText } from '../identity.js';
import { Peer, type PeerEvent } from '../peer.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
let server: ChildProcess;
let url: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForPort(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => resolve(true));
      socket.once('error', () => resolve(false));
      socket.connect(port, '127.0.0.1');
    }).catch(() => false);
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not open its port');
}

class TestPeer {
  readonly events: PeerEvent[] = [];
  readonly peer: Peer;
  constructor() {
    this.peer = new Peer(
      identityFromSeed(randomBytes(32)),
      (e) => this.events.push(e),
      () => {},
    );
  }
  get key(): string {
    return this.peer.me.keyText;
  }
  async next(predicate: (e: PeerEvent) => boolean, timeoutMs = 10_000): Promise<PeerEvent> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.events.find(predicate);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no matching event; got ${JSON.stringify(this.events)}`);
  }
}

beforeAll(async () => {
  const port = await freePort();
  server = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'apps/rendezvous/src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), STUN_PORT: '0', LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  url = `ws://127.0.0.1:${port}`;
  await waitForPort(port, Date.now() + 20_000);
}, 30_000);

afterAll(() => {
  server?.kill('SIGTERM');
});

describe('two minimal peers over the real server', () => {
  it('consent, messages both ways with acks, reconnect, revoke', async () => {
    const alice = new TestPeer();
    const bob = new TestPeer();
    await alice.peer.connect(url);
    await bob.peer.connect(url);

    alice.peer.request(bob.key, parseKeyText(bob.key), 'alice');
    expect(await bob.next((e) => e.event === 'consent.request')).toMatchObject({ peer: alice.key, note: 'alice' });
    bob.peer.respond(alice.key, parseKeyText(alice.key), true);
    await alice.next((e) => e.event === 'consent.accepted');

    const a1 = alice.peer.send(bob.key, parseKeyText(bob.key), 'hello bob');
    expect(await bob.next((e) => e.event === 'message')).toMatchObject({
      peer: alice.key,
      msgId: a1,
      text: 'hello bob',
    });
    await alice.next((e) => e.event === 'acked' && e.msgId === a1);
    const b1 = bob.peer.send(alice.key, parseKeyText(alice.key), 'hello alice');
    await alice.next((e) => e.event === 'message' && e.msgId === b1);
    await bob.next((e) => e.event === 'acked' && e.msgId === b1);

    // Bob goes away and comes back; Alice's message sent meanwhile arrives once.
    bob.peer.disconnect();
    const a2 = alice.peer.send(bob.key, parseKeyText(bob.key), 'while you were away');
    await new Promise((r) => setTimeout(r, 300));
    await bob.peer.connect(url);
    await bob.next((e) => e.event === 'message' && e.msgId === a2, 20_000);
    await alice.next((e) => e.event === 'acked' && e.msgId === a2, 20_000);

    bob.peer.revoke(alice.key, parseKeyText(alice.key));
    await alice.next((e) => e.event === 'revoked');
    expect(() => alice.peer.send(bob.key, parseKeyText(bob.key), 'after')).toThrow(
      expect.objectContaining({ code: 'CLIENT_ERR_REVOKED' }),
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(bob.events.filter((e) => e.event === 'message').length).toBe(2);
    alice.peer.disconnect();
    bob.peer.disconnect();
  }, 60_000);
});
